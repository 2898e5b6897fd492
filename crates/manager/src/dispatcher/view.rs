//! What each node is told, computed from the store: pure functions over a snapshot.

use std::collections::BTreeMap;
use store::Tables;
use types::{
    HealthState, MeshBackend, MeshService, NetworkView, NodePeer, NodeRole, Service, Task,
    TaskEndpoint, TaskState,
};

use super::overlays::{overlay_parts, overlay_views, OverlayPart};

/// A task the mesh (or a VIP) may send traffic to: running, wanted running, and healthy when
/// it has a health check. Where it is reached is its network's business: ingress ports need
/// its ingress address, host-mode ports the address its node gave it.
pub fn is_mesh_backend(task: &Task) -> bool {
    let health_ok = match task.spec.container.healthcheck {
        Some(ref hc) if hc.runs_own_test() => task.status.health == HealthState::Healthy,
        _ => task.status.health != HealthState::Unhealthy,
    };
    task.status.state == TaskState::Running && task.desired_state == TaskState::Running && health_ok
}

/// `10.0.0.1` of `10.0.0.1:2377` (node addresses are stored with the port of their API).
pub fn host_of(addr: &str) -> &str {
    match addr.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => addr,
    }
}

/// The data-plane view shared by every node.
pub fn network_view(t: &Tables) -> NetworkView {
    let peers = t
        .nodes
        .values()
        .filter(|n| !n.ingress_addr.is_empty() && !n.status.addr.is_empty())
        .map(|n| NodePeer {
            node_id: n.id.clone(),
            underlay_addr: host_of(&n.status.addr).to_string(),
            ingress_addr: n.ingress_addr.clone(),
        })
        .collect();

    // Backends are built for services in the mesh only: most tasks are not in one.
    let mut backends: BTreeMap<&str, Vec<MeshBackend>> = t
        .services
        .values()
        .filter(|s| in_mesh(s))
        .map(|s| (s.id.as_str(), Vec::new()))
        .collect();
    let mut endpoints = Vec::new();
    for task in t.tasks.values() {
        endpoints.extend(endpoint_of(task));
        if let Some(list) = backends.get_mut(task.service_id.as_str()) {
            list.extend(backend_of(task));
        }
    }

    let services = t
        .services
        .values()
        .filter(|s| in_mesh(s))
        .map(|s| MeshService {
            service_id: s.id.clone(),
            service_name: s.spec.name.clone(),
            ports: s.endpoint_ports.clone(),
            backends: backends.remove(s.id.as_str()).unwrap_or_default(),
        })
        .collect();

    NetworkView {
        ingress: t.ingress().cloned(),
        peers,
        services,
        endpoints,
        overlays: overlay_views(t),
    }
}

/// Services in the routing mesh: those that publish ports.
pub fn in_mesh(service: &Service) -> bool {
    !service.endpoint_ports.is_empty()
}

/// What one task adds to the network view (its backend counts only if its service is
/// [`in_mesh`]). The publisher keeps it per task to tell, from a task's new state alone,
/// whether the view has to be rebuilt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshPart {
    /// An overlay endpoint while the task is live on a node.
    pub endpoint: Option<TaskEndpoint>,
    /// A backend of its service while the mesh may send it traffic.
    pub backend: Option<MeshBackend>,
    /// What it adds to each of its user networks.
    pub overlays: Vec<OverlayPart>,
}

pub fn mesh_part(task: &Task) -> MeshPart {
    MeshPart {
        endpoint: endpoint_of(task),
        backend: backend_of(task),
        overlays: overlay_parts(task),
    }
}

/// Placed on a node and not ended: its addresses must be reachable there.
pub(super) fn is_live(task: &Task) -> bool {
    let live = task.status.state >= TaskState::Assigned && task.status.state <= TaskState::Running;
    live && !task.node_id.is_empty()
}

pub(super) fn endpoint_of(task: &Task) -> Option<TaskEndpoint> {
    let ingress = task.ingress_attachment().filter(|a| !a.addr.is_empty())?;
    is_live(task).then(|| TaskEndpoint {
        task_id: task.id.clone(),
        node_id: task.node_id.clone(),
        addr: ingress.addr.clone(),
        mac: ingress.mac.clone(),
    })
}

/// A backend of its service's published ports, with its ingress address; without one (a
/// service publishing only host-mode ports) the address is empty and its node fills in the
/// task's address on the gateway bridge.
fn backend_of(task: &Task) -> Option<MeshBackend> {
    is_mesh_backend(task).then(|| MeshBackend {
        task_id: task.id.clone(),
        node_id: task.node_id.clone(),
        addr: task.ingress_addr().unwrap_or_default().to_string(),
    })
}

/// The node that must know about a task: the one it is placed on, once past scheduling.
pub fn assigned_node(task: &Task) -> Option<&str> {
    (task.status.state >= TaskState::Assigned && !task.node_id.is_empty())
        .then_some(task.node_id.as_str())
}

/// host:port of every manager, leader first, for agents to fail over.
pub fn manager_addrs(t: &Tables) -> Vec<String> {
    let mut managers: Vec<_> = t
        .nodes
        .values()
        .filter(|n| n.role == NodeRole::Manager)
        .filter_map(|n| n.manager_status.as_ref())
        .filter(|m| !m.addr.is_empty())
        .collect();
    managers.sort_by_key(|m| (!m.leader, m.addr.clone()));
    managers.into_iter().map(|m| m.addr.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{NetworkAttachment, PortConfig};

    fn task(id: &str, service: &str, node: &str, state: TaskState, addr: &str) -> Task {
        let mut t = Task {
            id: id.into(),
            service_id: service.into(),
            node_id: node.into(),
            desired_state: TaskState::Running,
            ..Default::default()
        };
        t.status.state = state;
        if !addr.is_empty() {
            t.networks.push(NetworkAttachment {
                network_id: "ing".into(),
                addr: addr.into(),
                mac: "02:42:0a:ff:00:05".into(),
            });
        }
        t
    }

    #[test]
    fn backends_are_running_addressed_healthy_tasks_of_published_services() {
        let mut t = Tables::default();
        let mut web = Service {
            id: "s1".into(),
            ..Default::default()
        };
        web.endpoint_ports.push(PortConfig {
            target_port: 80,
            published_port: 8080,
            ..Default::default()
        });
        t.services.insert("s1".into(), web);
        t.services.insert(
            "s2".into(),
            Service {
                id: "s2".into(),
                ..Default::default()
            },
        );
        t.tasks.insert(
            "a".into(),
            task("a", "s1", "n1", TaskState::Running, "10.255.0.5"),
        );
        t.tasks.insert(
            "b".into(),
            task("b", "s1", "n2", TaskState::Starting, "10.255.0.6"),
        );
        let mut leaving = task("c", "s1", "n2", TaskState::Running, "10.255.0.7");
        leaving.desired_state = TaskState::Shutdown;
        t.tasks.insert("c".into(), leaving);
        let mut sick = task("d", "s1", "n3", TaskState::Running, "10.255.0.8");
        sick.status.health = HealthState::Unhealthy;
        t.tasks.insert("d".into(), sick);
        t.tasks.insert(
            "e".into(),
            task("e", "s2", "n3", TaskState::Running, "10.255.0.9"),
        );

        let view = network_view(&t);
        assert_eq!(
            view.services.len(),
            1,
            "unpublished services are not in the mesh"
        );
        let addrs: Vec<_> = view.services[0]
            .backends
            .iter()
            .map(|b| b.addr.as_str())
            .collect();
        assert_eq!(addrs, ["10.255.0.5"]);
        // Every live task on ingress is an ingress endpoint.
        assert_eq!(view.endpoints.len(), 5);
    }

    #[test]
    fn a_host_mode_task_off_ingress_is_a_backend_without_an_address_and_no_endpoint() {
        let mut t = Tables::default();
        let mut edge = Service {
            id: "s1".into(),
            ..Default::default()
        };
        edge.endpoint_ports.push(PortConfig {
            target_port: 80,
            published_port: 9090,
            publish_mode: types::PublishMode::Host,
            ..Default::default()
        });
        t.services.insert("s1".into(), edge);
        t.tasks
            .insert("a".into(), task("a", "s1", "n1", TaskState::Running, ""));
        let view = network_view(&t);
        let b = &view.services[0].backends;
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].node_id.as_str(), b[0].addr.as_str()), ("n1", ""));
        assert!(
            view.endpoints.is_empty(),
            "not on ingress: no ingress endpoint"
        );
    }

    #[test]
    fn a_task_with_a_healthcheck_is_a_backend_only_when_healthy() {
        let mut t = task("a", "s1", "n1", TaskState::Running, "10.255.0.5");
        t.spec.container.healthcheck = Some(types::HealthCheck {
            test: vec!["CMD".into(), "true".into()],
            ..Default::default()
        });
        t.status.health = HealthState::Starting;
        assert!(!is_mesh_backend(&t));
        t.status.health = HealthState::Healthy;
        assert!(is_mesh_backend(&t));
    }

    #[test]
    fn a_node_is_told_about_its_tasks_once_they_are_scheduled() {
        let assigned = task("a", "s", "n1", TaskState::Assigned, "");
        assert_eq!(assigned_node(&assigned), Some("n1"));
        let pending = task("b", "s", "n1", TaskState::Pending, "");
        assert_eq!(assigned_node(&pending), None);
        let running = task("c", "s", "n2", TaskState::Running, "");
        assert_eq!(assigned_node(&running), Some("n2"));
    }
}
