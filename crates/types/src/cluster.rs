//! The cluster object: one per cluster, holding its settings and join tokens.

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
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            name: "default".to_string(),
            heartbeat_period_ms: 500,
            task_history_limit: 5,
            snapshot_interval: 1000,
            ingress_subnet: crate::network::DEFAULT_INGRESS_SUBNET.to_string(),
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
}
