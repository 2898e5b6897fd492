//! What the page draws, as one JSON document built from the store: a pure function over
//! [`Tables`], so what the visualizer shows is table-tested without a server.
//!
//! Only what a person needs to see where things run: names, images, states, addresses and
//! resources. Nothing of a spec that could carry a secret (environment, commands, mounts,
//! secret and config references, labels) is ever copied in.

use std::collections::BTreeMap;

use serde::Serialize;
use store::Tables;
use types::{NodeRole, ServiceMode, Task, TaskState};

use crate::mesh::MeshView;

/// How many service colours the page has (`--svc-0` … in app.css).
pub const PALETTE: u32 = 12;

/// The whole picture at one store version.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// The store's applied log index: the page ignores nothing, but a test can tell versions apart.
    pub version: u64,
    /// The manager's clock when the snapshot was taken, so ages do not depend on the browser's.
    pub now_ms: i64,
    pub nodes: Vec<NodeView>,
    pub services: Vec<ServiceView>,
    pub tasks: Vec<TaskView>,
    /// Each node's routing-mesh table as its kernel gave it, or why it could not be read.
    pub meshes: BTreeMap<String, MeshView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    pub id: String,
    pub hostname: String,
    pub role: &'static str,
    pub leader: bool,
    pub status: &'static str,
    pub availability: &'static str,
    pub engine_version: String,
    /// Why the node's engine cannot run tasks now, if it cannot.
    pub engine_error: Option<String>,
    pub addr: String,
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    /// Index into the page's palette, the same for a service whatever else exists.
    pub colour: u32,
    /// `replicated` or `global`.
    pub mode: &'static str,
    pub replicas: Option<u64>,
    /// `8080:80/tcp` (ingress) or `8080:80/tcp host`.
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskView {
    pub id: String,
    /// `web.2`, or `web.<node>` for a global service.
    pub name: String,
    pub service_id: String,
    pub image: String,
    pub state: &'static str,
    pub desired_state: &'static str,
    /// Empty until the scheduler places it.
    pub node_id: String,
    /// Its addresses, ingress first, as `network address`.
    pub addrs: Vec<String>,
    pub created_ms: i64,
    /// Why it is pending, failed or rejected.
    pub err: String,
}

/// A colour for a service that depends only on its ID (FNV-1a), so it never changes while
/// others come and go.
pub fn colour_of(service_id: &str) -> u32 {
    let hash = service_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % PALETTE
}

/// Whether a task gets a card: it should run, or something still runs (or is about to run)
/// for it on a node. Finished history (the 5 kept per slot) does not.
pub fn shown(task: &Task) -> bool {
    let wanted = task.desired_state <= TaskState::Running;
    let alive = !task.node_id.is_empty()
        && task.status.state >= TaskState::Assigned
        && task.status.state <= TaskState::Running;
    wanted || alive
}

/// The store's picture; meshes are filled in by the caller, who reads them from the nodes.
pub fn build(tables: &Tables, version: u64, now_ms: i64) -> Snapshot {
    let nodes = tables
        .nodes
        .values()
        .map(|n| NodeView {
            id: n.id.clone(),
            hostname: n.description.hostname.clone(),
            role: match n.role {
                NodeRole::Manager => "manager",
                NodeRole::Worker => "worker",
            },
            leader: n.manager_status.as_ref().is_some_and(|m| m.leader),
            status: n.status.state.as_str(),
            availability: n.spec.availability.as_str(),
            engine_version: n.description.engine_version.clone(),
            engine_error: n.description.engine_error.clone(),
            addr: n.status.addr.clone(),
            nano_cpus: n.description.resources.nano_cpus,
            memory_bytes: n.description.resources.memory_bytes,
        })
        .collect::<Vec<_>>();
    let mut nodes = nodes;
    // Managers first (the leader leftmost), then by name: columns keep their place.
    nodes.sort_by(|a, b| {
        (b.leader, b.role == "manager", &a.hostname).cmp(&(
            a.leader,
            a.role == "manager",
            &b.hostname,
        ))
    });
    let mut services: Vec<ServiceView> = tables
        .services
        .values()
        .map(|s| ServiceView {
            id: s.id.clone(),
            name: s.spec.name.clone(),
            colour: colour_of(&s.id),
            mode: match s.spec.mode {
                ServiceMode::Replicated { .. } => "replicated",
                ServiceMode::Global => "global",
            },
            replicas: match s.spec.mode {
                ServiceMode::Replicated { replicas } => Some(replicas),
                ServiceMode::Global => None,
            },
            ports: s
                .endpoint_ports
                .iter()
                .map(|p| {
                    let host = if p.publish_mode == types::PublishMode::Host {
                        " host"
                    } else {
                        ""
                    };
                    let proto = p.protocol.as_str();
                    format!("{}:{}/{proto}{host}", p.published_port, p.target_port)
                })
                .collect(),
        })
        .collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let network_name = |id: &str| {
        tables
            .networks
            .get(id)
            .map_or_else(|| id.chars().take(12).collect(), |n| n.spec.name.clone())
    };
    let mut tasks: Vec<TaskView> = tables
        .tasks
        .values()
        .filter(|t| shown(t))
        .map(|t| TaskView {
            id: t.id.clone(),
            name: t.display_name(),
            service_id: t.service_id.clone(),
            image: t.spec.container.image.clone(),
            state: t.status.state.as_str(),
            desired_state: t.desired_state.as_str(),
            node_id: t.node_id.clone(),
            addrs: t
                .networks
                .iter()
                .filter(|a| !a.addr.is_empty())
                .map(|a| format!("{} {}", network_name(&a.network_id), a.addr))
                .collect(),
            created_ms: t.meta.created_at_ms,
            err: t.status.err.clone(),
        })
        .collect();
    tasks.sort_by(|a, b| {
        let slot = |t: &TaskView| {
            t.name
                .rsplit_once('.')
                .and_then(|(_, s)| s.parse::<u64>().ok())
        };
        (&a.service_id, slot(a), &a.name, a.created_ms).cmp(&(
            &b.service_id,
            slot(b),
            &b.name,
            b.created_ms,
        ))
    });
    Snapshot {
        version,
        now_ms,
        nodes,
        services,
        tasks,
        meshes: BTreeMap::new(),
    }
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
