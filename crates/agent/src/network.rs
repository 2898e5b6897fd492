//! The seam between the agent and the node's data plane: implemented by `network`'s
//! `NodeDataplane` in the daemon and by [`RecordingNetwork`] in tests.

use futures::future::BoxFuture;
use std::sync::Mutex;
use types::{
    MeshBackendKind, MeshConn, MeshTable, NetworkView, PortProtocol, Task, VirtualService,
};

/// Why the data plane could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// Not possible yet (the overlay is not built, the task has no address yet): retry later.
    #[error("{0}")]
    NotReady(String),
    /// The kernel or a tool refused, or the input is wrong.
    #[error("{0}")]
    Failed(String),
}

pub trait NodeNetwork: Send + Sync + 'static {
    /// The view the node's overlay and mesh should match. Returns at once: the data plane
    /// converges to the newest view in the background, retries what fails, and re-applies it
    /// now and then to repair what was changed behind its back.
    fn set_view(&self, view: NetworkView);

    /// Plumbs a running task's container (init PID `pid`) into the ingress network.
    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), NetworkError>>;

    /// Undoes `attach`; succeeds when there is nothing to undo.
    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), NetworkError>>;

    /// Whether a process on this node already holds `port` (a host-mode task publishing it
    /// must be rejected).
    fn host_port_in_use(&self, protocol: PortProtocol, port: u16) -> Result<bool, NetworkError>;

    /// The live load-balancing table, read back from the kernel.
    fn mesh(&self) -> BoxFuture<'_, Result<MeshTable, NetworkError>>;

    /// The connections the mesh forwarded to tasks, from the node's connection tracking.
    fn conns(&self) -> BoxFuture<'_, Result<Vec<MeshConn>, NetworkError>>;

    fn backend(&self) -> MeshBackendKind;

    /// Capabilities the node lacks, for `node inspect`.
    fn warnings(&self) -> Vec<String>;
}

/// A data plane that only records what it was asked, for in-process clusters and tests.
#[derive(Default)]
pub struct RecordingNetwork {
    pub applied: Mutex<Option<NetworkView>>,
    pub attached: Mutex<Vec<(String, u32)>>,
    /// Ports tests declare as held by some process on the node.
    pub ports_in_use: Mutex<Vec<(PortProtocol, u16)>>,
    /// What `conns` answers: tests declare the connections the "kernel" tracks.
    pub conns: Mutex<Vec<MeshConn>>,
}

impl NodeNetwork for RecordingNetwork {
    fn set_view(&self, view: NetworkView) {
        *self.applied.lock().expect("lock") = Some(view);
    }

    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), NetworkError>> {
        self.attached
            .lock()
            .expect("lock")
            .push((task.id.clone(), pid));
        Box::pin(async { Ok(()) })
    }

    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), NetworkError>> {
        self.attached
            .lock()
            .expect("lock")
            .retain(|(id, _)| id != task_id);
        Box::pin(async { Ok(()) })
    }

    fn host_port_in_use(&self, protocol: PortProtocol, port: u16) -> Result<bool, NetworkError> {
        Ok(self
            .ports_in_use
            .lock()
            .expect("lock")
            .contains(&(protocol, port)))
    }

    /// What was recorded, in the shape the kernel read-back has.
    fn mesh(&self) -> BoxFuture<'_, Result<MeshTable, NetworkError>> {
        let services = self
            .applied
            .lock()
            .expect("lock")
            .as_ref()
            .map(|v| {
                v.services
                    .iter()
                    .flat_map(|s| {
                        s.ports.iter().filter_map(move |p| {
                            Some(VirtualService {
                                protocol: p.protocol,
                                port: u16::try_from(p.published_port).ok()?,
                                mode: p.publish_mode,
                                service_name: s.service_name.clone(),
                                scheduler: "recorded".into(),
                                fwmark: None,
                                backends: s
                                    .backends
                                    .iter()
                                    .filter_map(|b| {
                                        let ip = b.addr.parse().ok()?;
                                        Some(std::net::SocketAddrV4::new(
                                            ip,
                                            u16::try_from(p.target_port).ok()?,
                                        ))
                                    })
                                    .collect(),
                            })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Box::pin(async move {
            Ok(MeshTable {
                backend: MeshBackendKind::None,
                services,
                raw: "recording data plane: nothing is programmed in the kernel".into(),
            })
        })
    }

    fn conns(&self) -> BoxFuture<'_, Result<Vec<MeshConn>, NetworkError>> {
        let conns = self.conns.lock().expect("lock").clone();
        Box::pin(async move { Ok(conns) })
    }

    fn backend(&self) -> MeshBackendKind {
        MeshBackendKind::None
    }

    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}
