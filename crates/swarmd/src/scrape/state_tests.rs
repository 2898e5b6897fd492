use std::net::SocketAddrV4;

use metrics::Snapshot;
use store::Tables;
use types::{
    MeshBackendKind, MeshTable, Node, PortProtocol, PublishMode, Task, TaskState, VirtualService,
};

use super::*;

fn task(id: &str, node: &str, state: TaskState) -> Task {
    let mut t = Task {
        id: id.into(),
        node_id: node.into(),
        ..Task::default()
    };
    t.status.state = state;
    t
}

#[test]
fn tasks_are_counted_by_state_and_by_node() {
    let mut tables = Tables::default();
    let mut node = Node {
        id: "n1".into(),
        ..Node::default()
    };
    node.description.hostname = "worker1".into();
    tables.nodes.insert("n1".into(), node);
    for t in [
        task("a", "n1", TaskState::Running),
        task("b", "n1", TaskState::Running),
        task("c", "n2", TaskState::Failed),
        task("d", "", TaskState::Pending),
    ] {
        tables.tasks.insert(t.id.clone(), t);
    }
    let mut s = Snapshot::default();
    store(&tables, &mut s);
    assert_eq!(s.value("tasks", &[("state", "running")]), Some(2));
    assert_eq!(s.value("tasks", &[("state", "pending")]), Some(1));
    assert_eq!(s.value("tasks", &[("state", "orphaned")]), Some(0));
    let on = |node, state| s.value("node_tasks", &[("node", node), ("state", state)]);
    assert_eq!(on("worker1", "running"), Some(2));
    // A node the store no longer knows is named by its ID.
    assert_eq!(on("n2", "failed"), Some(1));
    assert_eq!(on("worker1", "failed"), None);
    assert_eq!(s.value("store_objects", &[("kind", "task")]), Some(4));
    assert_eq!(s.value("store_objects", &[("kind", "node")]), Some(1));
}

#[test]
fn mesh_backends_per_published_port() {
    let table = MeshTable {
        backend: MeshBackendKind::Nftables,
        services: vec![VirtualService {
            protocol: PortProtocol::Tcp,
            port: 8080,
            mode: PublishMode::Ingress,
            service_name: "web".into(),
            scheduler: "numgen-inc".into(),
            fwmark: None,
            backends: vec![
                SocketAddrV4::new([10, 255, 0, 5].into(), 80),
                SocketAddrV4::new([10, 255, 0, 6].into(), 80),
            ],
        }],
        raw: String::new(),
    };
    let mut s = Snapshot::default();
    mesh(Some(&table), &mut s);
    let port = [
        ("protocol", "tcp"),
        ("port", "8080"),
        ("mode", "ingress"),
        ("service", "web"),
    ];
    assert_eq!(s.value("mesh_backends", &port), Some(2));
    assert_eq!(s.value("mesh_readable", &[]), Some(1));
    let mut s = Snapshot::default();
    mesh(None, &mut s);
    assert_eq!(s.value("mesh_readable", &[]), Some(0));
}

#[test]
fn raft_figures_become_gauges() {
    let mut s = Snapshot::default();
    raft(
        &RaftFigures {
            term: 3,
            is_leader: true,
            last_log_index: 40,
            applied_index: 39,
            snapshot_index: 20,
            snapshots_built: 2,
        },
        &mut s,
    );
    assert_eq!(s.value("raft_is_leader", &[]), Some(1));
    assert_eq!(s.value("raft_term", &[]), Some(3));
    assert_eq!(s.value("raft_applied_index", &[]), Some(39));
    assert_eq!(s.value("raft_snapshots_built", &[]), Some(2));
}
