//! The cluster object as Docker's `Swarm` / `ClusterInfo`.

use api::objects as pb;
use bollard::models::{
    ClusterInfo, JoinTokens, Swarm, SwarmSpec, SwarmSpecCaConfig, SwarmSpecDispatcher,
    SwarmSpecEncryptionConfig, SwarmSpecOrchestration, SwarmSpecRaft, SwarmSpecTaskDefaults,
};

use super::stamps;

/// VXLAN's UDP port, as Docker's default `DataPathPort`.
const DATA_PATH_PORT: u32 = 4789;
const MS_TO_NS: i64 = 1_000_000;

/// The cluster's spec in Docker's terms; what `swarm update` sends back.
pub fn swarm_spec(spec: &pb::ClusterSpec) -> SwarmSpec {
    SwarmSpec {
        name: Some(spec.name.clone()),
        labels: Some(Default::default()),
        orchestration: Some(SwarmSpecOrchestration {
            task_history_retention_limit: i64::try_from(spec.task_history_limit).ok(),
        }),
        raft: Some(SwarmSpecRaft {
            snapshot_interval: Some(spec.snapshot_interval),
            ..Default::default()
        }),
        dispatcher: Some(SwarmSpecDispatcher {
            heartbeat_period: i64::try_from(spec.heartbeat_period_ms)
                .ok()
                .map(|ms| ms * MS_TO_NS),
        }),
        ca_config: Some(SwarmSpecCaConfig {
            node_cert_expiry: i64::try_from(spec.node_cert_validity_secs)
                .ok()
                .map(|s| s * 1_000 * MS_TO_NS),
            ..Default::default()
        }),
        encryption_config: Some(SwarmSpecEncryptionConfig {
            auto_lock_managers: Some(false),
        }),
        task_defaults: Some(SwarmSpecTaskDefaults::default()),
    }
}

/// `ClusterInfo`: what `/info` and `/swarm` share.
pub fn cluster_info(cluster: &pb::Cluster) -> ClusterInfo {
    let spec = cluster.spec.clone().unwrap_or_default();
    let s = stamps(cluster.meta.as_ref());
    ClusterInfo {
        id: Some(cluster.id.clone()),
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
        spec: Some(swarm_spec(&spec)),
        root_rotation_in_progress: Some(false),
        data_path_port: Some(DATA_PATH_PORT),
        default_addr_pool: Some(if spec.default_addr_pool.is_empty() {
            vec!["10.0.0.0/8".to_string()]
        } else {
            spec.default_addr_pool.clone()
        }),
        subnet_size: Some(match spec.default_addr_pool_mask_len {
            0 => 24,
            n => n,
        }),
        ..Default::default()
    }
}

/// `Swarm`: the cluster info plus its join tokens.
pub fn swarm(cluster: &pb::Cluster) -> Swarm {
    let info = cluster_info(cluster);
    let tokens = cluster.join_tokens.clone().unwrap_or_default();
    Swarm {
        id: info.id,
        version: info.version,
        created_at: info.created_at,
        updated_at: info.updated_at,
        spec: info.spec,
        tls_info: info.tls_info,
        root_rotation_in_progress: info.root_rotation_in_progress,
        data_path_port: info.data_path_port,
        default_addr_pool: info.default_addr_pool,
        subnet_size: info.subnet_size,
        join_tokens: Some(JoinTokens {
            worker: Some(tokens.worker),
            manager: Some(tokens.manager),
        }),
    }
}
