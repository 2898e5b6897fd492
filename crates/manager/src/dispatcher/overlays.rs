//! The user networks' part of the network view: each network with its services (name,
//! aliases, VIP, backends) and its tasks' addresses, as nodes build their overlays and
//! resolvers answer names from it.

use std::collections::BTreeMap;

use store::Tables;
use types::{NamedService, OverlayBackend, OverlayView, Task, TaskEndpoint};

use super::view::{is_live, is_mesh_backend};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OverlayPart {
    pub network_id: String,
    pub endpoint: Option<TaskEndpoint>,
    pub backend: Option<OverlayBackend>,
}

/// Every user network with its services (name, aliases, VIP) and its tasks' addresses.
pub(super) fn overlay_views(t: &Tables) -> Vec<OverlayView> {
    let mut out: BTreeMap<&str, OverlayView> = t
        .networks
        .values()
        .filter(|n| !n.spec.ingress)
        .map(|n| {
            let view = OverlayView {
                network: n.clone(),
                endpoints: Vec::new(),
                services: Vec::new(),
            };
            (n.id.as_str(), view)
        })
        .collect();
    // Tables iterate in ID order, so each list comes out in key order.
    for s in t.services.values() {
        for target in &s.spec.task.networks {
            let Some(o) = out.get_mut(target.target.as_str()) else {
                continue;
            };
            let vip = s.virtual_ips.iter().find(|v| v.network_id == target.target);
            o.services.push(NamedService {
                service_id: s.id.clone(),
                name: s.spec.name.clone(),
                aliases: target.aliases.clone(),
                vip: vip.map(|v| v.addr.clone()).unwrap_or_default(),
                backends: Vec::new(),
            });
        }
    }
    for task in t.tasks.values() {
        for part in overlay_parts(task) {
            let Some(o) = out.get_mut(part.network_id.as_str()) else {
                continue;
            };
            o.endpoints.extend(part.endpoint);
            let svc = o
                .services
                .binary_search_by(|s| s.service_id.as_str().cmp(&task.service_id));
            if let (Some(b), Ok(i)) = (part.backend, svc) {
                o.services[i].backends.push(b);
            }
        }
    }
    out.into_values().collect()
}

/// As on ingress: an endpoint while live on a node, a backend while the mesh may send it
/// traffic; only the parts that are there.
pub(super) fn overlay_parts(task: &Task) -> Vec<OverlayPart> {
    let live = is_live(task);
    let backend = is_mesh_backend(task);
    task.overlay_attachments()
        .iter()
        .filter(|a| !a.addr.is_empty() && (live || backend))
        .map(|a| OverlayPart {
            network_id: a.network_id.clone(),
            endpoint: live.then(|| TaskEndpoint {
                task_id: task.id.clone(),
                node_id: task.node_id.clone(),
                addr: a.addr.clone(),
                mac: a.mac.clone(),
            }),
            backend: backend.then(|| OverlayBackend {
                task_id: task.id.clone(),
                node_id: task.node_id.clone(),
                addr: a.addr.clone(),
                slot: task.slot,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use store::Tables;
    use types::{
        EndpointMode, Network, NetworkAttachment, NetworkSpec, NetworkTarget, Service, Task,
        TaskState, VirtualIp,
    };

    use super::super::view::network_view;

    fn attach(network: &str, addr: &str) -> NetworkAttachment {
        NetworkAttachment {
            network_id: network.into(),
            addr: addr.into(),
            mac: format!("mac-{addr}"),
        }
    }

    fn task(id: &str, service: &str, slot: u64, state: TaskState, nets: &[(&str, &str)]) -> Task {
        let mut t = Task {
            id: id.into(),
            service_id: service.into(),
            slot,
            node_id: "n1".into(),
            desired_state: TaskState::Running,
            ..Default::default()
        };
        t.status.state = state;
        t.networks.push(attach("ing", &format!("10.255.0.{slot}")));
        t.networks.extend(nets.iter().map(|(n, a)| attach(n, a)));
        t
    }

    fn service(id: &str, name: &str, nets: &[(&str, &[&str])], vips: &[(&str, &str)]) -> Service {
        let mut s = Service {
            id: id.into(),
            virtual_ips: vips
                .iter()
                .map(|(n, a)| VirtualIp {
                    network_id: n.to_string(),
                    addr: a.to_string(),
                })
                .collect(),
            ..Default::default()
        };
        s.spec.name = name.into();
        s.spec.task.networks = nets
            .iter()
            .map(|(n, aliases)| NetworkTarget {
                target: n.to_string(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
            })
            .collect();
        s
    }

    #[test]
    fn each_network_lists_its_services_and_its_tasks_addresses() {
        let mut t = Tables::default();
        for (id, ingress) in [("ing", true), ("back", false), ("front", false)] {
            let spec = match ingress {
                true => NetworkSpec::ingress("10.255.0.0/16"),
                false => NetworkSpec::overlay(id),
            };
            t.networks.insert(
                id.into(),
                Network {
                    id: id.into(),
                    meta: Default::default(),
                    spec,
                },
            );
        }
        let web = service(
            "s1",
            "web",
            &[("front", &[]), ("back", &["www"])],
            &[("front", "10.0.2.2"), ("back", "10.0.1.2")],
        );
        let mut db = service("s2", "db", &[("back", &[])], &[]);
        db.spec.endpoint.mode = EndpointMode::Dnsrr;
        t.services.insert("s1".into(), web);
        t.services.insert("s2".into(), db);
        let tasks = [
            task(
                "a",
                "s1",
                1,
                TaskState::Running,
                &[("front", "10.0.2.3"), ("back", "10.0.1.3")],
            ),
            task(
                "b",
                "s1",
                2,
                TaskState::Starting,
                &[("front", "10.0.2.4"), ("back", "10.0.1.4")],
            ),
            task("c", "s2", 1, TaskState::Running, &[("back", "10.0.1.5")]),
            task("d", "s2", 2, TaskState::Complete, &[("back", "10.0.1.6")]),
        ];
        for task in tasks {
            t.tasks.insert(task.id.clone(), task);
        }
        // A task of a service that publishes nothing is not on ingress: it is still its
        // network's endpoint and backend.
        let mut e = task("e", "s2", 3, TaskState::Running, &[("back", "10.0.1.7")]);
        e.networks.remove(0);
        e.spec.networks = t.services["s2"].spec.task.networks.clone();
        t.tasks.insert("e".into(), e);

        let view = network_view(&t);
        let ids: Vec<&str> = view
            .overlays
            .iter()
            .map(|o| o.network.id.as_str())
            .collect();
        assert_eq!(ids, ["back", "front"], "user networks only, in ID order");
        let back = &view.overlays[0];
        let names: Vec<(&str, &str, &[String])> = back
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.vip.as_str(), s.aliases.as_slice()))
            .collect();
        assert_eq!(
            names,
            [
                ("web", "10.0.1.2", &["www".to_string()][..]),
                ("db", "", &[][..])
            ]
        );
        let backends = |i: usize| -> Vec<String> {
            back.services[i]
                .backends
                .iter()
                .map(|b| format!("{} {}", b.task_name(&back.services[i].name), b.addr))
                .collect()
        };
        assert_eq!(
            backends(0),
            ["web.1.a 10.0.1.3"],
            "a starting task is no backend"
        );
        assert_eq!(backends(1), ["db.1.c 10.0.1.5", "db.3.e 10.0.1.7"]);
        let endpoints: Vec<&str> = back.endpoints.iter().map(|e| e.addr.as_str()).collect();
        assert_eq!(
            endpoints,
            ["10.0.1.3", "10.0.1.4", "10.0.1.5", "10.0.1.7"],
            "live tasks, any state, on ingress or not"
        );
        assert_eq!(view.overlays[1].endpoints.len(), 2);
        assert_eq!(view.endpoints.len(), 3, "ingress endpoints stay apart");
    }
}
