//! How a node gets its identity: by creating a new cluster or by joining one.

use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use security::{new_join_token, new_key_and_csr, CertRole, NodeCredentials, RootCa};
use store::{Object, StoreError};
use types::{
    Cluster, ClusterSpec, JoinTokens, ManagerStatus, Node, NodeRole, NodeState, Reachability,
};

use crate::certs;
use crate::config::{self, ExecutorKind, Flags, Identity, MeshChoice};
use crate::manager_runtime::ManagerRuntime;

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
        gateway_subnet: flags
            .gateway_subnet
            .unwrap_or(network::config::DEFAULT_GATEWAY_SUBNET),
    })
}

/// A node that has just created or joined a cluster: who it is, its certificate, and (for the
/// founder) its running manager part.
pub struct Founded {
    pub identity: Identity,
    pub creds: Arc<NodeCredentials>,
    pub runtime: Option<ManagerRuntime>,
}

/// Creates a new cluster with this node as its only manager: a new root CA, this node's
/// manager certificate, and the cluster object holding both CA parts. On failure nothing is
/// left in the state directory, so the next attempt starts clean.
pub async fn create_cluster(flags: &Flags, metrics: &metrics::Metrics) -> Result<Founded> {
    let spec = cluster_spec(flags)?;
    let mut identity = base_identity(flags, types::new_id(), rand::random::<u64>() | 1)?;
    identity.cluster_id = types::new_id();
    identity.managers = vec![identity.advertise_addr.to_string()];
    let dir = &flags.state_dir;
    let founded = async {
        let ca = RootCa::create(&identity.cluster_id)?;
        let validity = Duration::from_secs(cert_validity_secs(flags));
        let (key, csr) = new_key_and_csr()?;
        let cert = ca.issue(&csr, &identity.node_id, CertRole::Manager, validity)?;
        certs::files(dir).save(ca.cert_pem(), &cert, &key)?;
        let creds = NodeCredentials::new(ca.cert_pem(), &cert, &key)?;
        let runtime = found_cluster(flags, spec, &identity, &ca, &creds, metrics).await?;
        anyhow::Ok((creds, runtime))
    }
    .await;
    match founded {
        Ok((creds, runtime)) => {
            identity.save(dir)?;
            tracing::info!(node = %identity.node_id, cluster = %identity.cluster_id, "created a new cluster");
            Ok(Founded {
                identity,
                creds,
                runtime: Some(runtime),
            })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(dir.join(crate::manager_runtime::RAFT_DIR));
            let _ = std::fs::remove_dir_all(dir.join(certs::CERT_DIR));
            Err(e)
        }
    }
}

/// The new cluster's settings from the flags, checked before anything is created.
fn cluster_spec(flags: &Flags) -> Result<ClusterSpec> {
    let mut spec = ClusterSpec::default();
    if let Some(p) = flags.heartbeat_period {
        spec.heartbeat_period_ms = p.as_millis() as u64;
    }
    if let Some(n) = flags.snapshot_interval {
        spec.snapshot_interval = n;
    }
    spec.node_cert_validity_secs = cert_validity_secs(flags);
    spec.orphan_after_ms = flags.orphan_after_ms();
    if let Some(s) = &flags.ingress_subnet {
        // The allocator decides what an ingress subnet may be.
        let pool = manager::allocator::ipam::IngressPool::new(s)
            .map_err(|e| anyhow!("--ingress-subnet: {e}"))?;
        spec.ingress_subnet = pool.subnet();
    }
    if !flags.default_addr_pool.is_empty() {
        spec.default_addr_pool = flags.default_addr_pool.clone();
    }
    if let Some(n) = flags.default_addr_pool_mask_len {
        spec.default_addr_pool_mask_len = n;
    }
    manager::allocator::subnets::check_pools(
        &spec.default_addr_pool,
        spec.default_addr_pool_mask_len,
    )
    .map_err(|e| anyhow!("--default-addr-pool / --default-addr-pool-mask-len: {e}"))?;
    Ok(spec)
}

fn cert_validity_secs(flags: &Flags) -> u64 {
    flags
        .cert_validity
        .map(|d| d.as_secs())
        .unwrap_or(types::cluster::DEFAULT_NODE_CERT_VALIDITY_SECS)
}

async fn found_cluster(
    flags: &Flags,
    spec: ClusterSpec,
    identity: &Identity,
    ca: &RootCa,
    creds: &Arc<NodeCredentials>,
    metrics: &metrics::Metrics,
) -> Result<ManagerRuntime> {
    let runtime = ManagerRuntime::start(
        identity,
        &flags.state_dir,
        flags.snapshot_interval.unwrap_or(1000),
        crate::certs::raft_dial(creds)?,
        metrics,
    )
    .await?;
    runtime.raft.initialize_single().await?;
    runtime.wait_for_leader(Duration::from_secs(10)).await?;
    let cluster = Cluster {
        id: identity.cluster_id.clone(),
        meta: Default::default(),
        spec,
        join_tokens: JoinTokens {
            worker: new_join_token(&ca.digest()),
            manager: new_join_token(&ca.digest()),
        },
        root_ca: ca.material(),
        data_key: security::seal::new_data_key()?,
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

/// Joins the cluster of the manager at `--join-addr` with `--join-token`. The manager is
/// trusted only if its CA has the token's digest (checked in the TLS handshake, before the
/// token travels); the node then gets its certificate. Nothing is written unless the manager
/// admitted the node and its certificate checks out.
pub async fn join(flags: &Flags) -> Result<Founded> {
    let (Some(addr), Some(token)) = (flags.join_addr, flags.join_token.clone()) else {
        bail!("--join-addr and --join-token go together");
    };
    let mut identity = base_identity(flags, String::new(), 0)?;
    let admitted = agent::join::join(agent::join::JoinRequest {
        manager: addr.to_string(),
        token,
        hostname: identity.hostname.clone(),
        advertise_addr: identity.advertise_addr.to_string(),
        listen_addr: identity.listen_addr.to_string(),
    })
    .await
    .map_err(|e| match e {
        agent::join::JoinError::Malformed(_) => anyhow!("cannot join the cluster at {addr}: {e}"),
        e => anyhow!(e),
    })?;
    identity.node_id = admitted.node_id;
    identity.cluster_id = admitted.cluster_id;
    identity.raft_id = admitted.raft_id;
    identity.managers = if admitted.managers.is_empty() {
        vec![addr.to_string()]
    } else {
        admitted.managers
    };
    certs::files(&flags.state_dir).save(
        &admitted.ca_certificate,
        &admitted.certificate,
        &admitted.key,
    )?;
    identity.save(&flags.state_dir)?;
    tracing::info!(node = %identity.node_id, role = %admitted.issued.role, "joined the cluster");
    Ok(Founded {
        identity,
        creds: admitted.credentials,
        runtime: None,
    })
}

/// Whether `dir` holds state that is not an identity (a half-created node).
pub fn has_orphan_state(dir: &Path) -> bool {
    dir.join(crate::manager_runtime::RAFT_DIR).exists()
}
