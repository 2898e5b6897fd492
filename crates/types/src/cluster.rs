//! The cluster object: one per cluster, holding its settings, join tokens and root CA.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub name: String,
    /// How often agents heartbeat; a node is down after 3 missed periods.
    pub heartbeat_period_ms: u64,
    /// Ended tasks kept per slot (docker's `--task-history-limit`).
    pub task_history_limit: u64,
    /// Raft log entries between snapshots.
    pub snapshot_interval: u64,
    pub ingress_subnet: String,
    /// Lifetime of the node certificates the managers issue; nodes renew well before the end.
    #[serde(default = "default_node_cert_validity_secs")]
    pub node_cert_validity_secs: u64,
    /// How long a node may stay Down before its tasks are orphaned: marked `Orphaned`, they
    /// stop counting and the reaper may delete them (SwarmKit waits 24 h too).
    #[serde(default = "default_orphan_after_ms")]
    pub orphan_after_ms: u64,
    /// CIDRs user networks' subnets are cut from (`--default-addr-pool`).
    #[serde(default = "default_addr_pool")]
    pub default_addr_pool: Vec<String>,
    /// Prefix length of those subnets (`--default-addr-pool-mask-len`).
    #[serde(default = "default_addr_pool_mask_len")]
    pub default_addr_pool_mask_len: u32,
}

fn default_addr_pool() -> Vec<String> {
    vec![crate::network::DEFAULT_ADDR_POOL.to_string()]
}

fn default_addr_pool_mask_len() -> u32 {
    crate::network::DEFAULT_ADDR_POOL_MASK_LEN
}

/// Docker's default: 90 days.
pub const DEFAULT_NODE_CERT_VALIDITY_SECS: u64 = 90 * 24 * 3600;

fn default_node_cert_validity_secs() -> u64 {
    DEFAULT_NODE_CERT_VALIDITY_SECS
}

/// SwarmKit's grace before the tasks of a down node are orphaned: 24 hours.
pub const DEFAULT_ORPHAN_AFTER_MS: u64 = 24 * 3600 * 1000;

fn default_orphan_after_ms() -> u64 {
    DEFAULT_ORPHAN_AFTER_MS
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            name: "default".to_string(),
            heartbeat_period_ms: 500,
            task_history_limit: 5,
            snapshot_interval: 1000,
            ingress_subnet: crate::network::DEFAULT_INGRESS_SUBNET.to_string(),
            node_cert_validity_secs: DEFAULT_NODE_CERT_VALIDITY_SECS,
            orphan_after_ms: DEFAULT_ORPHAN_AFTER_MS,
            default_addr_pool: default_addr_pool(),
            default_addr_pool_mask_len: default_addr_pool_mask_len(),
        }
    }
}

/// `SWMTKN-1-…` tokens: the secret part decides the role a joining node gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinTokens {
    pub worker: String,
    pub manager: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: String,
    pub meta: Meta,
    pub spec: ClusterSpec,
    pub join_tokens: JoinTokens,
    /// The cluster's root CA. Replicated through Raft, so only managers hold it; it never
    /// crosses the gRPC edge (the protobuf `Cluster` has no such field).
    #[serde(default)]
    pub root_ca: RootCaMaterial,
    /// The key secrets are sealed with in the store (hex, 256 bits). Like the CA key it is
    /// never sent over the gRPC edge. Empty in clusters made before secrets: the first secret
    /// created gives it one.
    #[serde(default)]
    pub data_key: Redacted,
}

impl Cluster {
    /// A cluster with these settings, before join tokens and a root CA are given to it.
    pub fn new(id: impl Into<String>, spec: ClusterSpec) -> Cluster {
        Cluster {
            id: id.into(),
            meta: Meta::default(),
            spec,
            join_tokens: JoinTokens::default(),
            root_ca: RootCaMaterial::default(),
            data_key: Redacted::default(),
        }
    }
}

/// The root CA every node certificate chains to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCaMaterial {
    /// PEM of the self-signed CA certificate; its digest is the middle part of join tokens.
    pub cert_pem: String,
    /// PEM of the CA's private key: what lets a manager sign node certificates.
    pub key_pem: Redacted,
}

/// A value that must never show in logs or error messages: `Debug` prints `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(value: impl Into<String>) -> Redacted {
        Redacted(value.into())
    }

    /// The value itself, for the one place that uses it (signing, a 0600 file).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let ca = RootCaMaterial {
            cert_pem: "CERT".into(),
            key_pem: Redacted::new("-----BEGIN PRIVATE KEY----- sekrit"),
        };
        let shown = format!("{ca:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert_eq!(ca.key_pem.expose(), "-----BEGIN PRIVATE KEY----- sekrit");
    }
}
