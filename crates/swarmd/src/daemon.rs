//! A running node: identity, executor, data plane, agent, servers, and — while the node is a
//! manager — the manager runtime. Role changes (promote, demote) restart the servers with or
//! without the manager services; running containers are never touched by that.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agent::{Agent, AgentConfig, Executor, NodeNetwork, PendingEngine};
use anyhow::{bail, Context, Result};
use security::{CertRole, Dial, NodeCredentials, MANAGER_NAME};
use tokio_util::sync::CancellationToken;
use types::{Node, NodeRole};

use crate::bootstrap;
use crate::certs;
use crate::config::{prepare_state_dir, ExecutorKind, Flags, Identity, MeshChoice};
use crate::engine_api;
use crate::manager_runtime::{ManagerRuntime, RAFT_DIR};
use crate::scrape;
use crate::server;

/// Time between a task leaving every node's mesh and its container being stopped.
const DRAIN_DELAY: Duration = Duration::from_millis(300);
const AGENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a promoted or demoted node waits for a certificate with its new role.
const ROLE_CERT_PATIENCE: Duration = Duration::from_secs(10);

pub async fn run(flags: Flags, shutdown: CancellationToken) -> Result<()> {
    let metrics_listener = scrape::bind(flags.metrics_addr).await?;
    let metrics = metrics::Metrics::default();
    let dir = flags.state_dir.clone();
    let fresh = !dir.exists()
        || std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
    prepare_state_dir(&dir)?;
    let loaded = Identity::load(&dir)?;
    let founded = match loaded {
        Some(identity) => {
            if flags.join_addr.is_some() {
                tracing::warn!("--join-addr ignored: {} already belongs to a cluster", dir.display());
            }
            bootstrap::Founded {
                creds: certs::load(&dir)?,
                identity,
                runtime: None,
            }
        }
        None if bootstrap::has_orphan_state(&dir) => bail!(
            "state directory {} holds raft data but no node identity (an interrupted start?); move it away or start with an empty --state-dir",
            dir.display()
        ),
        None => {
            let made = if flags.join_addr.is_some() {
                bootstrap::join(&flags).await
            } else {
                bootstrap::create_cluster(&flags, &metrics).await
            };
            match made {
                Ok(m) => m,
                Err(e) => {
                    if fresh {
                        let _ = std::fs::remove_dir_all(&dir);
                    }
                    return Err(e);
                }
            }
        }
    };
    let bootstrap::Founded {
        mut identity,
        creds,
        mut runtime,
    } = founded;

    // Real containers get their secrets and configs as files from a tmpfs there, mounted by
    // the agent the first time a task needs one.
    let files_root = match identity.executor {
        ExecutorKind::Docker => Some(dir.join("files")),
        ExecutorKind::Test => None,
    };
    let executor = connect_executor(&identity, files_root.clone(), &shutdown);
    let network = build_network(&identity, &metrics).await?;
    tracing::info!(backend = %network.backend(), warnings = ?network.warnings(), "data plane ready");

    let mut managers = identity.managers.clone();
    if identity.raft_id != 0 && !managers.contains(&identity.advertise_addr.to_string()) {
        managers.insert(0, identity.advertise_addr.to_string());
    }
    let agent = Agent::new(
        AgentConfig {
            node_id: identity.node_id.clone(),
            managers,
            hostname: identity.hostname.clone(),
            listen_addr: identity.advertise_addr.to_string(),
            drain_delay: DRAIN_DELAY,
            dial: Dial::mutual_tls(creds.client_config()?, MANAGER_NAME, AGENT_CONNECT_TIMEOUT),
            files_root: files_root.clone(),
            metrics: metrics.clone(),
        },
        executor,
        network,
    );
    let agent_stop = shutdown.child_token();
    let agent_task = tokio::spawn(agent.clone().run(agent_stop.clone()));
    let sources = scrape::Sources::new(agent.clone());
    let metrics_server = metrics_listener
        .map(|l| scrape::serve(l, sources.clone(), metrics.clone(), shutdown.child_token()));
    let mut managers_rx = agent.watch_managers();
    let mut node_rx = agent.watch_node();
    let local = server::LocalSockets {
        state_dir: dir.clone(),
        engine_api: engine_api::socket(&flags),
        engine: engine_api::engine_socket(&identity),
        web: flags.web_addr,
    };
    let renewal = tokio::spawn(certs::renewal_loop(
        creds.clone(),
        dir.clone(),
        agent.watch_managers(),
        shutdown.child_token(),
    ));

    loop {
        if identity.raft_id != 0 && runtime.is_none() {
            let interval = flags.snapshot_interval.unwrap_or(1000);
            let dial = certs::raft_dial(&creds)?;
            let started = ManagerRuntime::start(&identity, &dir, interval, dial, &metrics).await?;
            runtime = Some(started);
        }
        sources.set_manager(runtime.as_ref());
        let server_stop = shutdown.child_token();
        let servers = server::serve(
            identity.listen_addr,
            &local,
            &identity.node_id,
            agent.clone(),
            runtime.as_ref(),
            &creds,
            server_stop.clone(),
        )?;
        tracing::info!(
            listen = %identity.listen_addr,
            manager = runtime.is_some(),
            socket = %dir.join(server::SOCKET_NAME).display(),
            "serving"
        );
        let change = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break None,
                r = managers_rx.changed() => {
                    if r.is_ok() {
                        identity.managers = managers_rx.borrow_and_update().clone();
                        identity.save(&dir)?;
                    }
                }
                r = node_rx.changed() => {
                    if r.is_err() { continue; }
                    let node = node_rx.borrow_and_update().clone();
                    if let Some(change) = node.and_then(|n| role_change(&identity, &n)) {
                        break Some(change);
                    }
                }
            }
        };
        server_stop.cancel();
        for s in servers {
            let _ = s.await;
        }
        match change {
            None => break,
            Some(RoleChange::Promote(raft_id)) => {
                tracing::info!(raft_id, "promoted: starting the manager role");
                reissue(&creds, &dir, &identity.managers, CertRole::Manager).await;
                identity.raft_id = raft_id;
                identity.save(&dir)?;
            }
            Some(RoleChange::Demote) => {
                tracing::info!("demoted: stopping the manager role");
                if let Some(rt) = runtime.take() {
                    rt.stop().await;
                }
                let _ = std::fs::remove_file(dir.join(server::SOCKET_NAME));
                // A later promotion gets a new Raft ID and starts from a snapshot.
                std::fs::remove_dir_all(dir.join(RAFT_DIR)).ok();
                identity.raft_id = 0;
                identity.save(&dir)?;
                reissue(&creds, &dir, &identity.managers, CertRole::Worker).await;
            }
        }
    }

    agent_stop.cancel();
    let _ = agent_task.await;
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    let _ = renewal.await;
    if let Some(rt) = runtime.take() {
        rt.stop().await;
    }
    let _ = std::fs::remove_file(dir.join(server::SOCKET_NAME));
    if let Some(path) = &local.engine_api {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("stopped; containers keep running and are adopted on the next start");
    Ok(())
}

/// A certificate with the node's new role. The role change goes on if this fails: the node
/// keeps its old certificate until the regular renewal gets the right one.
async fn reissue(creds: &Arc<NodeCredentials>, dir: &Path, managers: &[String], role: CertRole) {
    match certs::renew_for_role(creds, dir, managers, role, ROLE_CERT_PATIENCE).await {
        Ok(()) => tracing::info!(%role, "certificate reissued for the new role"),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "certificate not reissued"),
    }
}

enum RoleChange {
    Promote(u64),
    Demote,
}

/// What the store says about this node's role versus what the process runs.
fn role_change(identity: &Identity, node: &Node) -> Option<RoleChange> {
    let runs_manager = identity.raft_id != 0;
    match (&node.manager_status, node.spec.desired_role) {
        (Some(ms), NodeRole::Manager) if !runs_manager && ms.raft_id != 0 => {
            Some(RoleChange::Promote(ms.raft_id))
        }
        (None, NodeRole::Worker) if runs_manager && node.role == NodeRole::Worker => {
            Some(RoleChange::Demote)
        }
        _ => None,
    }
}

/// The container engine. A Docker engine is connected in the background (retried with
/// backoff): the node joins, heartbeats and, on a manager, serves Raft and the control API
/// whether or not its dockerd answers; it only gets tasks once it does.
fn connect_executor(
    identity: &Identity,
    files_root: Option<std::path::PathBuf>,
    shutdown: &CancellationToken,
) -> Arc<dyn Executor> {
    match identity.executor {
        ExecutorKind::Test => Arc::new(agent::TestExecutor::new(&identity.hostname)),
        ExecutorKind::Docker => {
            let host = identity.docker_host.clone();
            let node_id = identity.node_id.clone();
            Arc::new(PendingEngine::connect(
                move || {
                    let (host, node_id) = (host.clone(), node_id.clone());
                    let files_root = files_root.clone();
                    async move {
                        match docker::DockerExecutor::connect(&host, &node_id).await {
                            Ok(e) => {
                                let e = match files_root {
                                    Some(root) => e.with_files_root(root),
                                    None => e,
                                };
                                Ok(Arc::new(e) as Arc<dyn Executor>)
                            }
                            Err(e) => Err(format!("{e}; start dockerd or pass --docker-host")),
                        }
                    }
                },
                shutdown.child_token(),
            ))
        }
    }
}

async fn build_network(
    identity: &Identity,
    metrics: &metrics::Metrics,
) -> Result<Arc<dyn NodeNetwork>> {
    let kind = match identity.mesh_backend {
        MeshChoice::None => return Ok(Arc::new(agent::RecordingNetwork::default())),
        MeshChoice::Auto => network::MeshChoice::Auto,
        MeshChoice::Ipvs => network::MeshChoice::Ipvs,
        MeshChoice::Nftables => network::MeshChoice::Nftables,
    };
    let IpAddr::V4(underlay) = identity.advertise_addr.ip() else {
        bail!("the ingress overlay needs an IPv4 --advertise-addr");
    };
    let mut config = network::DataplaneConfig::new(identity.node_id.clone(), underlay);
    config.mesh_backend = kind;
    config.bridge_name = format!("{}-ingress", identity.link_prefix);
    config.vxlan_prefix = format!("{}-vx", identity.link_prefix);
    config.gateway_bridge = format!("{}-gw", identity.link_prefix);
    config.gateway_subnet = identity.gateway_subnet;
    let dataplane = network::NodeDataplane::start(config, metrics.clone())
        .await
        .context("setting up the node's data plane")?;
    Ok(Arc::new(dataplane))
}
