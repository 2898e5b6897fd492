//! What a node's data plane needs to know, derived from the store by the leader and streamed
//! to every agent: the ingress network, every peer node, every task endpoint, and the
//! services whose ports are published with their current backends.

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
    /// Task IP on the ingress network.
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
}
