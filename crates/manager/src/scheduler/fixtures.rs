//! Builders for the scheduler's tests: nodes and tasks in the states the scheduler sees.

use types::{
    Node, NodeAvailability, NodeRole, NodeState, PortConfig, PortProtocol, PublishMode, Resources,
    Task, TaskState,
};

/// A ready, active worker with 4 CPUs and 8 GiB.
pub fn node(id: &str) -> Node {
    let mut n = Node {
        id: id.into(),
        role: NodeRole::Worker,
        ..Default::default()
    };
    n.description.hostname = format!("host-{id}");
    n.description.platform.os = "linux".into();
    n.description.platform.arch = "x86_64".into();
    n.description.resources = Resources {
        nano_cpus: 4_000_000_000,
        memory_bytes: 8 << 30,
    };
    n.status.state = NodeState::Ready;
    n.spec.availability = NodeAvailability::Active;
    n
}

pub fn manager(id: &str) -> Node {
    let mut n = node(id);
    n.role = NodeRole::Manager;
    n
}

pub fn labelled(mut n: Node, key: &str, value: &str) -> Node {
    n.spec.labels.insert(key.into(), value.into());
    n
}

pub fn with_state(mut n: Node, state: NodeState, availability: NodeAvailability) -> Node {
    n.status.state = state;
    n.spec.availability = availability;
    n
}

/// A replicated task waiting for a node, as the allocator leaves it.
pub fn pending(service: &str, slot: u64) -> Task {
    let mut t = Task {
        id: format!("{service}-t{slot}"),
        service_id: service.into(),
        service_name: service.into(),
        slot,
        desired_state: TaskState::Running,
        ..Default::default()
    };
    t.status.state = TaskState::Pending;
    t
}

/// A task already running on `node`.
pub fn running(service: &str, slot: u64, node: &str) -> Task {
    let mut t = pending(service, slot);
    t.node_id = node.into();
    t.status.state = TaskState::Running;
    t
}

/// A global service's task: pending, its node chosen by the orchestrator.
pub fn global(service: &str, node: &str) -> Task {
    let mut t = pending(service, 0);
    t.id = format!("{service}-{node}");
    t.node_id = node.into();
    t
}

/// The same task after it failed: it no longer holds anything on its node.
pub fn ended(mut t: Task) -> Task {
    t.status.state = TaskState::Failed;
    t
}

pub fn constrained(mut t: Task, constraints: &[&str]) -> Task {
    t.spec.placement.constraints = constraints.iter().map(|c| c.to_string()).collect();
    t
}

pub fn reserving(mut t: Task, nano_cpus: i64, memory_bytes: i64) -> Task {
    t.spec.resources.reservations = Resources {
        nano_cpus,
        memory_bytes,
    };
    t
}

pub fn host_port(mut t: Task, published: u32) -> Task {
    t.endpoint_ports.push(PortConfig {
        protocol: PortProtocol::Tcp,
        target_port: 80,
        published_port: published,
        publish_mode: PublishMode::Host,
    });
    t
}

pub fn max_per_node(mut t: Task, max: u64) -> Task {
    t.spec.placement.max_replicas = max;
    t
}

pub fn spread_by(mut t: Task, label: &str) -> Task {
    t.spec
        .placement
        .preferences
        .push(format!("spread=node.labels.{label}"));
    t
}
