//! What a node's data plane needs to know, derived from the store by the leader and streamed
//! to every agent: the ingress network, every peer node, every task endpoint, the services
//! whose ports are published with their current backends, and every user overlay network with
//! its tasks' addresses and its services' names, aliases, VIPs and backends (for the overlays
//! nodes build and the names their resolvers answer).

use serde::{Deserialize, Serialize};

use crate::network::Network;
use crate::service::PortConfig;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePeer {
    pub node_id: String,
    /// Advertise IP: where VXLAN packets for this node are sent.
    pub underlay_addr: String,
    /// The node's IP on the ingress overlay.
    pub ingress_addr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshBackend {
    pub task_id: String,
    pub node_id: String,
    /// Task IP on the ingress network; empty for a task not on it (a service that publishes
    /// only host-mode ports), which its own node reaches on its gateway bridge.
    pub addr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshService {
    pub service_id: String,
    pub service_name: String,
    /// Allocated ports, ingress and host mode.
    pub ports: Vec<PortConfig>,
    /// RUNNING (and, with a health check, healthy) tasks.
    pub backends: Vec<MeshBackend>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEndpoint {
    pub task_id: String,
    pub node_id: String,
    pub addr: String,
    pub mac: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkView {
    pub ingress: Option<Network>,
    pub peers: Vec<NodePeer>,
    pub services: Vec<MeshService>,
    pub endpoints: Vec<TaskEndpoint>,
    /// User networks, in network ID order.
    pub overlays: Vec<OverlayView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayView {
    pub network: Network,
    /// Live tasks' addresses on this network, in task ID order.
    pub endpoints: Vec<TaskEndpoint>,
    /// Services attached to it, in service ID order.
    pub services: Vec<NamedService>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedService {
    pub service_id: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// Its virtual IP on this network; empty in dnsrr mode.
    pub vip: String,
    /// RUNNING (and, with a health check, healthy) tasks, in task ID order.
    pub backends: Vec<OverlayBackend>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayBackend {
    pub task_id: String,
    pub node_id: String,
    /// Its address on this network.
    pub addr: String,
    /// 0 for global services: their tasks are named after their node, as Docker's.
    pub slot: u64,
}

impl OverlayBackend {
    /// Docker's task name, which other containers can resolve: `web.2.<task ID>`, or
    /// `web.<node ID>.<task ID>` for a global service.
    pub fn task_name(&self, service: &str) -> String {
        match self.slot {
            0 => format!("{service}.{}.{}", self.node_id, self.task_id),
            slot => format!("{service}.{slot}.{}", self.task_id),
        }
    }
}
