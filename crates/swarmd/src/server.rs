//! The node's servers: gRPC with mutual TLS on the listen address (agent API for everyone;
//! control, raft, dispatcher and membership on managers), the local control socket (managers
//! only, root-only by its 0600 mode, no certificate needed), and the Docker Engine API socket
//! (every node, see [`crate::engine_api`]).
//!
//! Who may call what over TCP, by the caller's certificate:
//! - raft, agent: managers
//! - control: managers and cluster-issued client certificates (`swarmctl -H --tls-dir`)
//! - dispatcher: any node, each for itself only
//! - membership: `Join` needs no certificate (the token is the credential); `RenewCertificate`
//!   checks the caller's certificate itself
//!
//! A node certificate counts only while the node is in the store (not removed); raft relies on
//! Raft membership for that, because a manager that is catching up may not know its leader's
//! node object yet.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use manager::controlapi::ControlApi;
use manager::dispatcher::service::DispatcherService;
use manager::membership::join::MembershipService;
use security::{Authorizer, CertRole, MemberCheck, NodeCredentials};
use tokio::net::{TcpSocket, UnixListener};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Server;

use crate::adapters::{AgentConnector, RaftLeaderHint};
use crate::manager_runtime::ManagerRuntime;
use crate::scrape::control::Counted;

pub const SOCKET_NAME: &str = "swarmd.sock";

const MANAGERS: &[CertRole] = &[CertRole::Manager];
const NODES: &[CertRole] = &[CertRole::Manager, CertRole::Worker];
const CONTROLLERS: &[CertRole] = &[CertRole::Manager, CertRole::Client];

/// How long open connections (log follows, event streams, pages) may delay a stop.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Spawns an HTTP server that stops on `stop` but whose open connections could hold it
/// forever: after [`STOP_GRACE`] it is aborted, so role changes and SIGTERM are not blocked.
pub fn spawn_bounded<F>(what: &'static str, server: F, stop: CancellationToken) -> JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut server = tokio::spawn(server);
        stop.cancelled().await;
        if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
            tracing::debug!("{what}: connections still open at stop; closed");
            server.abort();
        }
    })
}

/// Binds a TCP address reusably (so a role change can rebind at once); on failure the error
/// says what was to be served there and which flag moves it.
pub fn bind_reusable(
    addr: SocketAddr,
    backlog: u32,
    what: &str,
    flag: &str,
) -> Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .and_then(|()| socket.listen(backlog))
        .with_context(|| {
            format!("cannot serve {what} on {addr}; is the address in use or not this node's? pick another {flag}")
        })
}

/// The node's unix sockets, and the engine behind the Engine API.
pub struct LocalSockets {
    /// Where the control socket is created (managers).
    pub state_dir: PathBuf,
    /// The Engine API socket; `None` with `--engine-api none`.
    pub engine_api: Option<PathBuf>,
    /// The container engine that the Engine API's container routes go to.
    pub engine: Option<PathBuf>,
    /// Where the visualizer listens (`--web-addr`), on managers.
    pub web: Option<SocketAddr>,
}

/// Serves until `stop`. Returns the server tasks.
pub fn serve(
    listen: SocketAddr,
    local: &LocalSockets,
    node_id: &str,
    agent: Arc<agent::Agent>,
    manager: Option<&ManagerRuntime>,
    creds: &Arc<NodeCredentials>,
    stop: CancellationToken,
) -> Result<Vec<JoinHandle<()>>> {
    let listener = bind_reusable(listen, 1024, "the node's gRPC", "--listen-addr")?;
    let tls = creds.server_config()?;
    let agent_service = InterceptedService::new(
        api::dispatcher::agent_server::AgentServer::new(agent::service::AgentService::new(agent)),
        Authorizer::new("the agent API", MANAGERS),
    );
    let mut tasks = Vec::new();
    let mut engine_control = None;
    let mut tcp = Server::builder().tcp_nodelay(true);
    let router = match manager {
        Some(m) => {
            let control = ControlApi::new(
                m.store.clone(),
                Arc::new(AgentConnector::new(creds.client_config()?)),
                node_id,
            )
            .with_events(m.events.clone());
            let store = m.store.clone();
            let members: MemberCheck =
                Arc::new(move |id: &str| store.view(|t| t.nodes.contains_key(id)));
            let dispatcher = DispatcherService::new(
                m.dispatcher.clone(),
                Arc::new(RaftLeaderHint(m.raft.clone())),
            );
            engine_control = Some(control.clone());
            let socket_path = local.state_dir.join(SOCKET_NAME);
            let _ = std::fs::remove_file(&socket_path);
            let unix = UnixListener::bind(&socket_path).with_context(|| {
                format!("cannot create the control socket {}", socket_path.display())
            })?;
            std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))?;
            let local = Server::builder().add_service(Counted::new(
                api::control::control_server::ControlServer::new(control.clone()),
                m.metrics.clone(),
            ));
            let unix_stop = stop.clone();
            tasks.push(tokio::spawn(async move {
                let incoming = UnixListenerStream::new(unix);
                if let Err(e) = local
                    .serve_with_incoming_shutdown(incoming, unix_stop.cancelled())
                    .await
                {
                    tracing::error!(error = %e, "control socket server failed");
                }
            }));
            tcp.add_service(agent_service)
                .add_service(Counted::new(
                    InterceptedService::new(
                        api::control::control_server::ControlServer::new(control),
                        Authorizer::new("the control API", CONTROLLERS).members(members.clone()),
                    ),
                    m.metrics.clone(),
                ))
                .add_service(InterceptedService::new(
                    api::dispatcher::dispatcher_server::DispatcherServer::new(dispatcher),
                    Authorizer::new("the dispatcher", NODES).members(members),
                ))
                .add_service(api::dispatcher::membership_server::MembershipServer::new(
                    MembershipService::new(m.store.clone()),
                ))
                .add_service(InterceptedService::new(
                    m.raft.service(),
                    Authorizer::new("the raft API", MANAGERS),
                ))
        }
        None => tcp.add_service(agent_service),
    };
    if let Some(path) = &local.engine_api {
        let engine =
            engineapi::Engine::new(engine_control.clone(), node_id.into(), local.engine.clone());
        tasks.push(crate::engine_api::serve(path, engine, stop.clone())?);
    }
    match (local.web, manager, engine_control) {
        (Some(addr), Some(m), Some(control)) => tasks.push(crate::web::serve(
            addr,
            m.store.clone(),
            control,
            stop.clone(),
        )?),
        (Some(addr), _, _) => crate::web::note_worker(addr),
        (None, _, _) => {}
    }
    tasks.push(tokio::spawn(async move {
        let incoming = security::tls_incoming(listener, tls);
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, stop.cancelled())
            .await
        {
            tracing::error!(error = %e, "gRPC server failed");
        }
    }));
    Ok(tasks)
}
