//! [`NodeInfo`]: what the scheduler knows about one node while it decides — the node itself
//! plus what the tasks already on it (or placed on it earlier in the same batch) use up.

use std::collections::{HashMap, HashSet};

use types::{Node, PortProtocol, PublishMode, Resources, Task, TaskState};

/// Whether a task holds resources, ports and a spread slot on its node: it has reached the
/// node (`Assigned` or later), has not ended, and the orchestrator still wants it running.
/// Pending tasks with a preset node (global) do not count until they are assigned, so checking
/// one against its own node does not count it twice.
pub fn occupies_node(task: &Task) -> bool {
    !task.node_id.is_empty()
        && task.desired_state <= TaskState::Running
        && (TaskState::Assigned..=TaskState::Running).contains(&task.status.state)
}

#[derive(Debug, Clone)]
pub struct NodeInfo<'a> {
    pub node: &'a Node,
    /// Capacity minus the reservations of the tasks on the node; may go negative when a node
    /// shrinks under its tasks, which then simply admits no reservation.
    pub available: Resources,
    /// Live tasks per service ID: what spread and `max_replicas` look at.
    pub tasks_by_service: HashMap<&'a str, u32>,
    /// Live tasks of every service: spread's second key.
    pub total_tasks: u32,
    /// Host-mode published ports in use, which a second task cannot bind.
    pub host_ports: HashSet<(PortProtocol, u32)>,
}

impl<'a> NodeInfo<'a> {
    /// A node with nothing on it yet.
    pub fn new(node: &'a Node) -> NodeInfo<'a> {
        NodeInfo {
            node,
            available: node.description.resources,
            tasks_by_service: HashMap::new(),
            total_tasks: 0,
            host_ports: HashSet::new(),
        }
    }

    /// Accounts for a task running on (or just placed on) the node.
    pub fn add_task(&mut self, task: &'a Task) {
        let reserved = &task.spec.resources.reservations;
        self.available.nano_cpus -= reserved.nano_cpus;
        self.available.memory_bytes -= reserved.memory_bytes;
        *self
            .tasks_by_service
            .entry(task.service_id.as_str())
            .or_default() += 1;
        self.total_tasks += 1;
        self.host_ports.extend(host_ports(task));
    }

    /// Live tasks of one service on this node.
    pub fn service_tasks(&self, service_id: &str) -> u32 {
        self.tasks_by_service.get(service_id).copied().unwrap_or(0)
    }
}

/// The `(protocol, port)` pairs a task binds on its node's own addresses.
pub fn host_ports(task: &Task) -> impl Iterator<Item = (PortProtocol, u32)> + '_ {
    task.endpoint_ports
        .iter()
        .filter(|p| p.publish_mode == PublishMode::Host && p.published_port > 0)
        .map(|p| (p.protocol, p.published_port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::PortConfig;

    #[test]
    fn only_live_tasks_on_a_node_occupy_it() {
        let base = Task {
            node_id: "n1".into(),
            desired_state: TaskState::Running,
            ..Default::default()
        };
        let with = |state, desired, node: &str| {
            let mut t = base.clone();
            t.status.state = state;
            t.desired_state = desired;
            t.node_id = node.into();
            t
        };
        use TaskState::*;
        let cases = [
            (Pending, Running, "n1", false),
            (Assigned, Running, "n1", true),
            (Running, Running, "n1", true),
            (Complete, Running, "n1", false),
            (Failed, Running, "n1", false),
            (Running, Shutdown, "n1", false),
            (Assigned, Running, "", false),
        ];
        for (state, desired, node, want) in cases {
            assert_eq!(
                occupies_node(&with(state, desired, node)),
                want,
                "{state:?}/{desired:?}/{node:?}"
            );
        }
    }

    #[test]
    fn adding_a_task_uses_up_resources_ports_and_counts() {
        let mut node = Node::default();
        node.description.resources = Resources {
            nano_cpus: 2_000_000_000,
            memory_bytes: 1 << 30,
        };
        let mut task = Task {
            service_id: "s1".into(),
            ..Default::default()
        };
        task.spec.resources.reservations = Resources {
            nano_cpus: 500_000_000,
            memory_bytes: 1 << 28,
        };
        task.endpoint_ports = vec![
            PortConfig {
                published_port: 8080,
                target_port: 80,
                publish_mode: PublishMode::Host,
                protocol: PortProtocol::Tcp,
            },
            PortConfig {
                published_port: 30001,
                target_port: 81,
                publish_mode: PublishMode::Ingress,
                protocol: PortProtocol::Tcp,
            },
        ];
        let mut info = NodeInfo::new(&node);
        info.add_task(&task);
        info.add_task(&task);
        assert_eq!(info.available.nano_cpus, 1_000_000_000);
        assert_eq!(info.available.memory_bytes, 1 << 29);
        assert_eq!(info.service_tasks("s1"), 2);
        assert_eq!(info.service_tasks("s2"), 0);
        assert_eq!(info.total_tasks, 2);
        assert!(info.host_ports.contains(&(PortProtocol::Tcp, 8080)));
        assert!(!info.host_ports.contains(&(PortProtocol::Tcp, 30001)));
    }
}
