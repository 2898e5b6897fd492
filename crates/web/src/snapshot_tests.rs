//! The visualizer's picture of a store, without a server.

use super::*;
use types::{
    ManagerStatus, Network, NetworkAttachment, Node, NodeAvailability, NodeDescription, NodeSpec,
    NodeState, NodeStatus, PortConfig, Service, ServiceSpec, TaskStatus,
};

fn node(id: &str, hostname: &str, leader: bool, state: NodeState) -> Node {
    Node {
        id: id.into(),
        spec: NodeSpec::default(),
        description: NodeDescription {
            hostname: hostname.into(),
            engine_version: "20.10.24".into(),
            ..Default::default()
        },
        status: NodeStatus {
            state,
            ..Default::default()
        },
        role: if leader {
            NodeRole::Manager
        } else {
            NodeRole::Worker
        },
        manager_status: leader.then(|| ManagerStatus {
            leader: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn task(id: &str, slot: u64, node: &str, state: TaskState, desired: TaskState) -> Task {
    let mut t = Task {
        id: id.into(),
        service_id: "svc1".into(),
        service_name: "web".into(),
        slot,
        node_id: node.into(),
        desired_state: desired,
        status: TaskStatus {
            state,
            ..Default::default()
        },
        ..Default::default()
    };
    t.spec.container.image = "swarmd/whoami".into();
    t
}

fn tables() -> Tables {
    let mut t = Tables::default();
    for n in [
        node("n2", "worker1", false, NodeState::Ready),
        node("n1", "manager", true, NodeState::Ready),
        node("n3", "worker2", false, NodeState::Down),
    ] {
        t.nodes.insert(n.id.clone(), n);
    }
    let mut spec = ServiceSpec {
        name: "web".into(),
        mode: ServiceMode::Replicated { replicas: 2 },
        ..Default::default()
    };
    spec.task.container.env = vec!["PASSWORD=hunter2".into()];
    let service = Service {
        id: "svc1".into(),
        spec,
        endpoint_ports: vec![PortConfig {
            published_port: 8080,
            target_port: 80,
            ..Default::default()
        }],
        ..Default::default()
    };
    t.services.insert(service.id.clone(), service);
    t.networks.insert(
        "ing".into(),
        Network {
            id: "ing".into(),
            meta: Default::default(),
            spec: types::NetworkSpec::ingress("10.255.0.0/16"),
        },
    );
    let mut running = task("t1", 1, "n1", TaskState::Running, TaskState::Running);
    running.networks = vec![NetworkAttachment {
        network_id: "ing".into(),
        addr: "10.255.0.5".into(),
        mac: String::new(),
    }];
    for task in [
        running,
        task("t2", 2, "n2", TaskState::Starting, TaskState::Running),
        // Finished history of slot 2: no card.
        task("t0", 2, "n3", TaskState::Failed, TaskState::Shutdown),
        // Told to stop, still running: a card until it is gone.
        task("t3", 3, "n2", TaskState::Running, TaskState::Shutdown),
        // Not placed yet.
        task("t4", 4, "", TaskState::Pending, TaskState::Running),
        // Never placed and no longer wanted.
        task("t5", 5, "", TaskState::Pending, TaskState::Shutdown),
    ] {
        t.tasks.insert(task.id.clone(), task);
    }
    t
}

#[test]
fn nodes_come_leader_first_then_by_name() {
    let snap = build(&tables(), 7, 1_000);
    let names: Vec<_> = snap.nodes.iter().map(|n| n.hostname.as_str()).collect();
    assert_eq!(names, ["manager", "worker1", "worker2"]);
    let m = &snap.nodes[0];
    assert!(m.leader && m.role == "manager" && m.status == "Ready");
    assert_eq!(m.engine_version, "20.10.24");
    assert_eq!(snap.nodes[2].status, "Down");
    assert_eq!(
        snap.nodes[1].availability,
        NodeAvailability::Active.as_str()
    );
    assert_eq!((snap.version, snap.now_ms), (7, 1_000));
}

#[test]
fn a_task_has_a_card_while_it_is_wanted_or_still_runs() {
    let snap = build(&tables(), 1, 0);
    let cards: Vec<_> = snap
        .tasks
        .iter()
        .map(|t| (t.name.as_str(), t.node_id.as_str(), t.state))
        .collect();
    assert_eq!(
        cards,
        [
            ("web.1", "n1", "Running"),
            ("web.2", "n2", "Starting"),
            ("web.3", "n2", "Running"),
            ("web.4", "", "Pending"),
        ]
    );
    let first = &snap.tasks[0];
    assert_eq!(first.image, "swarmd/whoami");
    assert_eq!(first.addrs, ["ingress 10.255.0.5"]);
    assert_eq!(snap.tasks[2].desired_state, "Shutdown");
}

#[test]
fn services_carry_a_stable_colour_and_their_ports_but_no_secrets() {
    let tables = tables();
    let snap = build(&tables, 1, 0);
    let web = &snap.services[0];
    assert_eq!(
        (web.name.as_str(), web.mode, web.replicas),
        ("web", "replicated", Some(2))
    );
    assert_eq!(web.ports, ["8080:80/tcp"]);
    assert_eq!(web.colour, colour_of("svc1"));
    assert!(web.colour < PALETTE);
    // The colour of a service does not move when another service comes or goes.
    let mut more = tables.clone();
    let mut other = more.services["svc1"].clone();
    other.id = "svc0".into();
    other.spec.name = "api".into();
    more.services.insert("svc0".into(), other);
    let again = build(&more, 1, 0);
    let web_again = again.services.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web_again.colour, web.colour);
    let json = serde_json::to_string(&snap).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
}

#[test]
fn colours_spread_over_the_palette() {
    let used: std::collections::BTreeSet<u32> =
        (0..60).map(|i| colour_of(&format!("service{i}"))).collect();
    assert!(used.len() >= PALETTE as usize - 2, "{used:?}");
}
