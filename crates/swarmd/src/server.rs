//! The node's gRPC servers: TCP on the listen address (agent API for everyone; control, raft,
//! dispatcher and membership on managers) and the local control socket (managers only).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use manager::controlapi::ControlApi;
use manager::dispatcher::service::DispatcherService;
use manager::membership::join::MembershipService;
use tokio::net::{TcpSocket, UnixListener};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::adapters::{AgentConnector, RaftLeaderHint};
use crate::manager_runtime::ManagerRuntime;

pub const SOCKET_NAME: &str = "swarmd.sock";

/// Binds the listen address (reusable, so a role change can rebind at once).
fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr).with_context(|| {
        format!(
            "cannot listen on {addr}; is another swarmd running there? pick another --listen-addr"
        )
    })?;
    Ok(socket.listen(1024)?)
}

/// Serves until `stop`. Returns the server tasks.
pub fn serve(
    listen: SocketAddr,
    state_dir: &Path,
    node_id: &str,
    agent: Arc<agent::Agent>,
    manager: Option<&ManagerRuntime>,
    stop: CancellationToken,
) -> Result<Vec<JoinHandle<()>>> {
    let listener = bind(listen)?;
    let agent_service =
        api::dispatcher::agent_server::AgentServer::new(agent::service::AgentService::new(agent));
    let mut tasks = Vec::new();
    let mut tcp = Server::builder().tcp_nodelay(true);
    let router = match manager {
        Some(m) => {
            let control = ControlApi::new(
                m.store.clone(),
                Arc::new(AgentConnector::default()),
                node_id,
            );
            let dispatcher = DispatcherService::new(
                m.dispatcher.clone(),
                Arc::new(RaftLeaderHint(m.raft.clone())),
            );
            let socket_path = state_dir.join(SOCKET_NAME);
            let _ = std::fs::remove_file(&socket_path);
            let unix = UnixListener::bind(&socket_path).with_context(|| {
                format!("cannot create the control socket {}", socket_path.display())
            })?;
            std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))?;
            let local = Server::builder().add_service(
                api::control::control_server::ControlServer::new(control.clone()),
            );
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
                .add_service(api::control::control_server::ControlServer::new(control))
                .add_service(api::dispatcher::dispatcher_server::DispatcherServer::new(
                    dispatcher,
                ))
                .add_service(api::dispatcher::membership_server::MembershipServer::new(
                    MembershipService::new(m.store.clone()),
                ))
                .add_service(m.raft.service())
        }
        None => tcp.add_service(agent_service),
    };
    tasks.push(tokio::spawn(async move {
        let incoming = TcpListenerStream::new(listener);
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, stop.cancelled())
            .await
        {
            tracing::error!(error = %e, "gRPC server failed");
        }
    }));
    Ok(tasks)
}
