//! How a node gets its identity: by creating a new cluster or by joining one.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use api::dispatcher::membership_client::MembershipClient;
use store::{Object, StoreError};
use tonic::transport::Endpoint;
use types::{
    Cluster, ClusterSpec, JoinTokens, ManagerStatus, Node, NodeRole, NodeState, Reachability,
};

use crate::config::{self, ExecutorKind, Flags, Identity, MeshChoice};
use crate::manager_runtime::ManagerRuntime;

const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

fn base_identity(flags: &Flags, node_id: String, raft_id: u64) -> Result<Identity> {
    let (listen_addr, advertise_addr) = config::resolve_addrs(flags)?;
    Ok(Identity {
        node_id,
        cluster_id: String::new(),
        raft_id,
        hostname: flags
            .hostname
            .clone()
            .unwrap_or_else(config::system_hostname),
        listen_addr,
        advertise_addr,
        managers: Vec::new(),
        docker_host: flags
            .docker_host
            .clone()
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into()),
        executor: flags.executor.unwrap_or(ExecutorKind::Docker),
        mesh_backend: flags.mesh_backend.unwrap_or(MeshChoice::Auto),
        link_prefix: flags.link_prefix.clone(),
    })
}

/// Creates a new cluster with this node as its only manager. On failure nothing is left in
/// the state directory, so the next attempt starts clean.
pub async fn create_cluster(flags: &Flags) -> Result<(Identity, ManagerRuntime)> {
    let mut identity = base_identity(flags, types::new_id(), rand::random::<u64>() | 1)?;
    identity.cluster_id = types::new_id();
    identity.managers = vec![identity.advertise_addr.to_string()];
    let dir = &flags.state_dir;
    match found_cluster(flags, &identity).await {
        Ok(runtime) => {
            identity.save(dir)?;
            tracing::info!(node = %identity.node_id, cluster = %identity.cluster_id, "created a new cluster");
            Ok((identity, runtime))
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir.join(crate::manager_runtime::RAFT_DIR));
            Err(e)
        }
    }
}

async fn found_cluster(flags: &Flags, identity: &Identity) -> Result<ManagerRuntime> {
    let runtime = ManagerRuntime::start(
        identity,
        &flags.state_dir,
        flags.snapshot_interval.unwrap_or(1000),
    )
    .await?;
    runtime.raft.initialize_single().await?;
    runtime.wait_for_leader(Duration::from_secs(10)).await?;
    let mut spec = ClusterSpec::default();
    if let Some(p) = flags.heartbeat_period {
        spec.heartbeat_period_ms = p.as_millis() as u64;
    }
    if let Some(n) = flags.snapshot_interval {
        spec.snapshot_interval = n;
    }
    if let Some(s) = &flags.ingress_subnet {
        let net: ipnet_check::Net = s.parse().map_err(|_| {
            anyhow!("--ingress-subnet `{s}` is not an IPv4 CIDR such as 10.255.0.0/16")
        })?;
        spec.ingress_subnet = net.0;
    }
    let cluster = Cluster {
        id: identity.cluster_id.clone(),
        meta: Default::default(),
        spec,
        join_tokens: JoinTokens {
            worker: manager::controlapi::new_join_token(&identity.cluster_id),
            manager: manager::controlapi::new_join_token(&identity.cluster_id),
        },
    };
    let mut node = Node {
        id: identity.node_id.clone(),
        role: NodeRole::Manager,
        manager_status: Some(ManagerStatus {
            raft_id: identity.raft_id,
            addr: identity.advertise_addr.to_string(),
            leader: true,
            reachability: Reachability::Reachable,
        }),
        ..Default::default()
    };
    node.spec.desired_role = NodeRole::Manager;
    node.description.hostname = identity.hostname.clone();
    node.status.addr = identity.advertise_addr.to_string();
    node.status.state = NodeState::Unknown;
    runtime
        .store
        .update(|_, tx| {
            tx.create(Object::Cluster(cluster.clone()));
            tx.create(Object::Node(node.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .context("writing the new cluster")?;
    Ok(runtime)
}

/// A minimal IPv4 CIDR check for `--ingress-subnet`.
mod ipnet_check {
    pub struct Net(pub String);

    impl std::str::FromStr for Net {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let (ip, len) = s.split_once('/').ok_or(())?;
            ip.parse::<std::net::Ipv4Addr>().map_err(|_| ())?;
            let len: u8 = len.parse().map_err(|_| ())?;
            if !(8..=28).contains(&len) {
                return Err(());
            }
            Ok(Net(s.to_string()))
        }
    }
}

/// Joins the cluster of the manager at `--join-addr` with `--join-token`. Nothing is written
/// unless the manager admitted the node.
pub async fn join(flags: &Flags) -> Result<Identity> {
    let (Some(addr), Some(token)) = (flags.join_addr, flags.join_token.clone()) else {
        bail!("--join-addr and --join-token go together");
    };
    let mut identity = base_identity(flags, String::new(), 0)?;
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(JOIN_TIMEOUT)
        .connect()
        .await
        .map_err(|e| {
            anyhow!("cannot reach the manager at {addr} ({e}); check --join-addr and that the manager is running")
        })?;
    let mut client = MembershipClient::new(channel);
    let request = api::dispatcher::JoinRequest {
        token,
        hostname: identity.hostname.clone(),
        advertise_addr: identity.advertise_addr.to_string(),
        listen_addr: identity.listen_addr.to_string(),
        description: None,
        node_id: String::new(),
    };
    let reply = client
        .join(request)
        .await
        .map_err(|s| anyhow!("joining the cluster at {addr} was refused: {}", s.message()))?
        .into_inner();
    identity.node_id = reply.node_id;
    identity.cluster_id = reply.cluster_id;
    identity.raft_id = reply.raft_id;
    identity.managers = if reply.managers.is_empty() {
        vec![addr.to_string()]
    } else {
        reply.managers
    };
    identity.save(&flags.state_dir)?;
    let role = if identity.raft_id != 0 {
        "manager"
    } else {
        "worker"
    };
    tracing::info!(node = %identity.node_id, role, "joined the cluster");
    Ok(identity)
}

/// Whether `dir` holds state that is not an identity (a half-created node).
pub fn has_orphan_state(dir: &Path) -> bool {
    dir.join(crate::manager_runtime::RAFT_DIR).exists()
}
