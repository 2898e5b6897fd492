//! The seam between the agent and the node's data plane (the `network` crate in the daemon,
//! a recording fake in tests).

use futures::future::BoxFuture;
use std::sync::Mutex;
use types::{NetworkView, Node, Task};

pub trait NodeNetwork: Send + Sync + 'static {
    /// Reconciles the overlay and the routing mesh to `view`. `node` is this node as the store
    /// has it (its ingress IP). Called with the latest view only; must be idempotent.
    fn apply<'a>(
        &'a self,
        node: &'a Node,
        view: &'a NetworkView,
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Plumbs a running task's container (init PID `pid`) into the ingress network.
    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), String>>;

    /// Undoes `attach`; succeeds when there is nothing to undo.
    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), String>>;

    /// Whether a process on this node already holds `port` (a host-mode task publishing it
    /// must be rejected).
    fn host_port_in_use(&self, protocol: types::PortProtocol, port: u16) -> Result<bool, String>;

    /// The live load-balancing table, read back from the kernel.
    fn mesh(&self) -> BoxFuture<'_, Result<api::control::MeshTable, String>>;

    /// `ipvs` / `nftables` / `none`.
    fn backend(&self) -> String;

    /// Capabilities the node lacks, for `node inspect`.
    fn warnings(&self) -> Vec<String>;
}

/// A data plane that only records what it was asked, for in-process clusters and tests.
#[derive(Default)]
pub struct RecordingNetwork {
    pub applied: Mutex<Option<NetworkView>>,
    pub attached: Mutex<Vec<(String, u32)>>,
    /// Ports tests declare as held by some process on the node.
    pub ports_in_use: Mutex<Vec<(types::PortProtocol, u16)>>,
}

impl NodeNetwork for RecordingNetwork {
    fn apply<'a>(
        &'a self,
        _node: &'a Node,
        view: &'a NetworkView,
    ) -> BoxFuture<'a, Result<(), String>> {
        *self.applied.lock().expect("lock") = Some(view.clone());
        Box::pin(async { Ok(()) })
    }

    fn attach<'a>(&'a self, task: &'a Task, pid: u32) -> BoxFuture<'a, Result<(), String>> {
        self.attached
            .lock()
            .expect("lock")
            .push((task.id.clone(), pid));
        Box::pin(async { Ok(()) })
    }

    fn detach<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        self.attached
            .lock()
            .expect("lock")
            .retain(|(id, _)| id != task_id);
        Box::pin(async { Ok(()) })
    }

    fn host_port_in_use(&self, protocol: types::PortProtocol, port: u16) -> Result<bool, String> {
        Ok(self
            .ports_in_use
            .lock()
            .expect("lock")
            .contains(&(protocol, port)))
    }

    fn mesh(&self) -> BoxFuture<'_, Result<api::control::MeshTable, String>> {
        let services = self
            .applied
            .lock()
            .expect("lock")
            .as_ref()
            .map(|v| {
                v.services
                    .iter()
                    .flat_map(|s| {
                        s.ports
                            .iter()
                            .map(move |p| api::control::MeshVirtualService {
                                protocol: p.protocol.as_str().to_uppercase(),
                                key: format!("0.0.0.0:{}", p.published_port),
                                published_port: p.published_port,
                                scheduler: "recorded".into(),
                                service_name: s.service_name.clone(),
                                backends: s
                                    .backends
                                    .iter()
                                    .map(|b| api::control::MeshBackendEntry {
                                        addr: format!("{}:{}", b.addr, p.target_port),
                                        forward: "none".into(),
                                        weight: 1,
                                        ..Default::default()
                                    })
                                    .collect(),
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Box::pin(async move {
            Ok(api::control::MeshTable {
                backend: "none".into(),
                services,
                raw: "recording data plane: nothing is programmed in the kernel".into(),
                ..Default::default()
            })
        })
    }

    fn backend(&self) -> String {
        "none".into()
    }

    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}
