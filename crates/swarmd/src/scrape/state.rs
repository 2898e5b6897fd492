//! The families read at scrape time, as pure functions over what already exists: the store's
//! tables, Raft's figures, the dispatcher's sessions and the mesh read back from the kernel.

use std::collections::BTreeMap;

use metrics::Snapshot;
use store::Tables;
use types::{DataKind, MeshTable, TaskState};

/// Raft's figures on one manager, from openraft's metrics watch and the state machine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RaftFigures {
    pub term: u64,
    pub is_leader: bool,
    pub last_log_index: u64,
    pub applied_index: u64,
    /// The log index the latest snapshot covers; 0 before the first.
    pub snapshot_index: u64,
    pub snapshots_built: u64,
}

pub fn raft(r: &RaftFigures, s: &mut Snapshot) {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    s.gauge("raft_term", "The Raft term this manager is in.")
        .sample(vec![], n(r.term));
    s.gauge(
        "raft_is_leader",
        "1 on the Raft leader, 0 on the other managers.",
    )
    .sample(vec![], i64::from(r.is_leader));
    s.gauge(
        "raft_last_log_index",
        "Index of the last entry in this manager's Raft log.",
    )
    .sample(vec![], n(r.last_log_index));
    s.gauge(
        "raft_applied_index",
        "Index of the last Raft entry applied to this manager's store.",
    )
    .sample(vec![], n(r.applied_index));
    s.gauge(
        "raft_snapshot_index",
        "Log index covered by this manager's latest Raft snapshot (0: none yet).",
    )
    .sample(vec![], n(r.snapshot_index));
    s.counter(
        "raft_snapshots_built",
        "Raft snapshots this manager built since it started.",
    )
    .sample(vec![], n(r.snapshots_built));
}

/// Object counts by kind, tasks by state (every state, zeros included) and tasks by node and
/// state (only the pairs that occur), from this manager's copy of the store.
pub fn store(t: &Tables, s: &mut Snapshot) {
    let len = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let secrets = t
        .data
        .values()
        .filter(|d| d.kind == DataKind::Secret)
        .count();
    let objects = s.gauge(
        "store_objects",
        "Objects in this manager's copy of the store, by kind.",
    );
    for (kind, n) in [
        ("node", t.nodes.len()),
        ("service", t.services.len()),
        ("task", t.tasks.len()),
        ("network", t.networks.len()),
        ("secret", secrets),
        ("config", t.data.len() - secrets),
        ("cluster", t.clusters.len()),
    ] {
        objects.sample(vec![("kind", kind.into())], len(n));
    }

    let mut by_state = [0usize; TaskState::ALL.len()];
    let mut by_node: BTreeMap<(&str, TaskState), usize> = BTreeMap::new();
    for task in t.tasks.values() {
        by_state[state_index(task.status.state)] += 1;
        if !task.node_id.is_empty() {
            *by_node
                .entry((&task.node_id, task.status.state))
                .or_default() += 1;
        }
    }
    let tasks = s.gauge(
        "tasks",
        "Tasks in the store by state, as `service ps` lists them.",
    );
    for state in TaskState::ALL {
        tasks.sample(
            vec![("state", label(state))],
            len(by_state[state_index(state)]),
        );
    }
    let nodes = s.gauge(
        "node_tasks",
        "Tasks in the store by the node they are assigned to (hostname) and state.",
    );
    for ((node_id, state), n) in by_node {
        let hostname = t
            .nodes
            .get(node_id)
            .map(|n| n.description.hostname.as_str())
            .filter(|h| !h.is_empty())
            .unwrap_or(node_id);
        nodes.sample(
            vec![("node", hostname.to_string()), ("state", label(state))],
            len(n),
        );
    }
}

fn state_index(state: TaskState) -> usize {
    TaskState::ALL
        .iter()
        .position(|s| *s == state)
        .expect("ALL holds every state")
}

/// `running`, as Prometheus labels usually are.
fn label(state: TaskState) -> String {
    state.as_str().to_ascii_lowercase()
}

pub fn dispatcher(sessions: usize, s: &mut Snapshot) {
    s.gauge(
        "dispatcher_sessions",
        "Nodes with a session open with this manager's dispatcher (the leader's).",
    )
    .sample(vec![], i64::try_from(sessions).unwrap_or(i64::MAX));
}

/// Backends per published port, as the kernel has them on this node; `None` when the mesh
/// could not be read back.
pub fn mesh(table: Option<&MeshTable>, s: &mut Snapshot) {
    s.gauge(
        "mesh_readable",
        "1 when this node's routing mesh could be read back from the kernel for this scrape.",
    )
    .sample(vec![], i64::from(table.is_some()));
    let backends = s.gauge(
        "mesh_backends",
        "Backends of each published port in this node's routing mesh, read from the kernel.",
    );
    for v in table.map(|t| t.services.as_slice()).unwrap_or_default() {
        backends.sample(
            vec![
                ("protocol", v.protocol.as_str().to_string()),
                ("port", v.port.to_string()),
                ("mode", v.mode.as_str().to_string()),
                ("service", v.service_name.clone()),
            ],
            i64::try_from(v.backends.len()).unwrap_or(i64::MAX),
        );
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
