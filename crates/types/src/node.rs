//! Nodes: the machines of the cluster, managers and workers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::meta::Meta;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeRole {
    #[default]
    Worker,
    Manager,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Worker => "worker",
            NodeRole::Manager => "manager",
        }
    }
}

/// Whether the scheduler may place new tasks on a node (docker's `--availability`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeAvailability {
    #[default]
    Active,
    /// Keeps running tasks, receives no new ones.
    Pause,
    /// Its tasks are moved elsewhere.
    Drain,
}

impl NodeAvailability {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAvailability::Active => "Active",
            NodeAvailability::Pause => "Pause",
            NodeAvailability::Drain => "Drain",
        }
    }
}

/// Liveness as the dispatcher sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeState {
    #[default]
    Unknown,
    Down,
    Ready,
    Disconnected,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Unknown => "Unknown",
            NodeState::Down => "Down",
            NodeState::Ready => "Ready",
            NodeState::Disconnected => "Disconnected",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reachability {
    #[default]
    Unknown,
    Unreachable,
    Reachable,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// CPU in billionths of a core (docker's NanoCPUs).
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

/// What the user asks of a node (`node update`, `promote`, `demote`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub desired_role: NodeRole,
    pub availability: NodeAvailability,
    pub labels: BTreeMap<String, String>,
}

/// What the node reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDescription {
    pub hostname: String,
    pub platform: Platform,
    /// Capacity the scheduler may hand out as reservations.
    pub resources: Resources,
    pub engine_labels: BTreeMap<String, String>,
    pub engine_version: String,
    /// Problems the node found with itself, shown by `node inspect` (no VXLAN, no nftables...).
    pub warnings: Vec<String>,
    /// The routing-mesh backend in use on the node.
    pub mesh_backend: crate::mesh::MeshBackendKind,
    /// Why the node's container engine cannot run tasks now (`None`: it answers). A node
    /// without its engine stays Ready for the cluster (heartbeats, Raft, control API) but the
    /// scheduler gives it no new task.
    #[serde(default)]
    pub engine_error: Option<String>,
}

impl NodeDescription {
    pub fn engine_available(&self) -> bool {
        self.engine_error.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub state: NodeState,
    pub message: String,
    /// Underlay (advertise) IP: where VXLAN traffic for this node goes.
    pub addr: String,
    /// When the dispatcher last marked the node Down (unix ms). Read only while the node is
    /// Down: its tasks are orphaned once it has been down for the cluster's `orphan_after_ms`.
    #[serde(default)]
    pub down_since_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerStatus {
    /// The node's ID inside Raft.
    pub raft_id: u64,
    /// host:port where its Raft and control gRPC answer.
    pub addr: String,
    pub leader: bool,
    pub reachability: Reachability,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    pub meta: Meta,
    pub spec: NodeSpec,
    pub description: NodeDescription,
    pub status: NodeStatus,
    /// The role the node has now (the spec holds the one asked for).
    pub role: NodeRole,
    /// Present on managers only.
    pub manager_status: Option<ManagerStatus>,
    /// The node's IP on the ingress overlay, given by the allocator; empty until allocated.
    pub ingress_addr: String,
}

impl Node {
    /// Up, open for new work (not paused or drained) and with an engine that answers: what the
    /// scheduler asks of every node it places a task on.
    pub fn takes_new_tasks(&self) -> bool {
        self.status.state == NodeState::Ready
            && self.spec.availability == NodeAvailability::Active
            && self.description.engine_available()
    }
}
