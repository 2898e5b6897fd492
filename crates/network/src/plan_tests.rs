use super::*;
use types::{
    MeshBackend, MeshService, Meta, Network, NetworkSpec, NodePeer, PortConfig, TaskEndpoint,
};

fn peer(id: &str, underlay: &str, ingress: &str) -> NodePeer {
    NodePeer {
        node_id: id.into(),
        underlay_addr: underlay.into(),
        ingress_addr: ingress.into(),
    }
}

fn backend(task: &str, node: &str, addr: &str) -> MeshBackend {
    MeshBackend {
        task_id: task.into(),
        node_id: node.into(),
        addr: addr.into(),
    }
}

fn port(published: u32, target: u32, mode: PublishMode) -> PortConfig {
    PortConfig {
        protocol: PortProtocol::Tcp,
        target_port: target,
        published_port: published,
        publish_mode: mode,
    }
}

fn view() -> NetworkView {
    NetworkView {
        ingress: Some(Network {
            id: "ing".into(),
            meta: Meta::default(),
            spec: NetworkSpec::ingress("10.255.0.0/16"),
        }),
        peers: vec![
            peer("a", "192.168.77.1", "10.255.0.1"),
            peer("b", "192.168.77.2", "10.255.0.2"),
            peer("c", "192.168.77.3", "10.255.0.3"),
        ],
        services: vec![
            MeshService {
                service_id: "s1".into(),
                service_name: "web".into(),
                ports: vec![port(8080, 80, PublishMode::Ingress)],
                backends: vec![
                    backend("t2", "c", "10.255.0.11"),
                    backend("t1", "b", "10.255.0.10"),
                ],
            },
            MeshService {
                service_id: "s2".into(),
                service_name: "edge".into(),
                ports: vec![port(9090, 90, PublishMode::Host)],
                backends: vec![
                    backend("t3", "a", "10.255.0.12"),
                    backend("t4", "b", "10.255.0.13"),
                ],
            },
            MeshService {
                service_id: "s3".into(),
                service_name: "pending".into(),
                ports: vec![port(0, 80, PublishMode::Ingress)],
                backends: vec![],
            },
        ],
        endpoints: vec![
            TaskEndpoint {
                task_id: "t1".into(),
                node_id: "b".into(),
                addr: "10.255.0.10".into(),
                mac: "02:42:0a:ff:00:0a".into(),
            },
            TaskEndpoint {
                task_id: "t3".into(),
                node_id: "a".into(),
                addr: "10.255.0.12".into(),
                mac: "02:42:0a:ff:00:0c".into(),
            },
            TaskEndpoint {
                task_id: "tx".into(),
                node_id: "gone".into(),
                addr: "10.255.0.99".into(),
                mac: String::new(),
            },
        ],
        overlays: Vec::new(),
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn ingress_plan_uses_own_peer_entry() {
    let p = ingress_plan(&view(), "a").unwrap().unwrap();
    assert_eq!(p.local_addr, ip("10.255.0.1"));
    assert_eq!(p.subnet.to_string(), "10.255.0.0/16");
    assert_eq!((p.vni, p.vxlan_port, p.mtu), (4096, 4789, 1450));
}

#[test]
fn no_plan_until_node_has_an_ingress_ip() {
    assert_eq!(ingress_plan(&view(), "unknown").unwrap(), None);
    let mut v = view();
    v.ingress = None;
    assert_eq!(overlay_plan(&v, "a").unwrap(), None);
}

#[test]
fn overlay_has_flood_peer_and_remote_task_entries_only() {
    let p = overlay_plan(&view(), "a").unwrap().unwrap();
    let fdb: Vec<String> = p
        .fdb
        .iter()
        .map(|e| format!("{} {}", e.mac, e.dst))
        .collect();
    assert_eq!(
        fdb,
        [
            "00:00:00:00:00:00 192.168.77.2",
            "00:00:00:00:00:00 192.168.77.3",
            "02:42:0a:ff:00:02 192.168.77.2",
            "02:42:0a:ff:00:03 192.168.77.3",
            "02:42:0a:ff:00:0a 192.168.77.2",
        ]
    );
    let neigh: Vec<String> = p
        .neighbours
        .iter()
        .map(|e| format!("{} {}", e.ip, e.mac))
        .collect();
    assert_eq!(
        neigh,
        [
            "10.255.0.2 02:42:0a:ff:00:02",
            "10.255.0.3 02:42:0a:ff:00:03",
            "10.255.0.10 02:42:0a:ff:00:0a"
        ]
    );
}

#[test]
fn mesh_plan_publishes_ingress_everywhere_and_host_only_locally() {
    let subnet: Ipv4Net = "10.255.0.0/16".parse().unwrap();
    let on_a = mesh_plan(&view().services, "a", "swarm-ingress", subnet, &none()).unwrap();
    assert_eq!(
        on_a.ports,
        vec![
            MeshPort {
                protocol: PortProtocol::Tcp,
                published: 8080,
                mode: PublishMode::Ingress,
                service_name: "web".into(),
                backends: vec![
                    "10.255.0.10:80".parse().unwrap(),
                    "10.255.0.11:80".parse().unwrap()
                ],
            },
            MeshPort {
                protocol: PortProtocol::Tcp,
                published: 9090,
                mode: PublishMode::Host,
                service_name: "edge".into(),
                backends: vec!["10.255.0.12:90".parse().unwrap()],
            },
        ]
    );
    let on_c = mesh_plan(&view().services, "c", "swarm-ingress", subnet, &none()).unwrap();
    assert_eq!(
        on_c.ports.len(),
        1,
        "no host-mode task on c: {:?}",
        on_c.ports
    );
}

#[test]
fn ingress_port_without_backends_stays_in_the_plan() {
    let mut v = view();
    v.services[0].backends.clear();
    let p = mesh_plan(
        &v.services,
        "c",
        "swarm-ingress",
        "10.255.0.0/16".parse().unwrap(),
        &none(),
    )
    .unwrap();
    assert_eq!(p.ports[0].published, 8080);
    assert!(p.ports[0].backends.is_empty());
}

#[test]
fn rejects_out_of_range_ports() {
    let mut v = view();
    v.services[0].ports[0].published_port = 70000;
    assert!(mesh_plan(
        &v.services,
        "a",
        "br",
        "10.255.0.0/16".parse().unwrap(),
        &none()
    )
    .is_err());
}

fn none() -> BTreeMap<String, Ipv4Addr> {
    BTreeMap::new()
}

#[test]
fn host_mode_tasks_not_on_ingress_are_reached_at_their_gateway_address_here() {
    let mut v = view();
    let edge = &mut v.services[1];
    edge.backends.iter_mut().for_each(|b| b.addr.clear());
    let subnet: Ipv4Net = "10.255.0.0/16".parse().unwrap();
    let edge_task = edge.backends[0].task_id.clone();
    let without = mesh_plan(&v.services, "a", "br", subnet, &none()).unwrap();
    assert!(
        without.ports.iter().all(|p| p.published != 9090),
        "no address for it here yet: left out, {:?}",
        without.ports
    );
    let local = BTreeMap::from([(edge_task, Ipv4Addr::new(172, 18, 0, 2))]);
    let with = mesh_plan(&v.services, "a", "br", subnet, &local).unwrap();
    let p = with.ports.iter().find(|p| p.published == 9090).unwrap();
    assert_eq!(p.backends, vec!["172.18.0.2:90".parse().unwrap()]);
    // An ingress port never sends to a backend without an ingress address.
    v.services[0].backends[0].addr.clear();
    let p = mesh_plan(&v.services, "a", "br", subnet, &local).unwrap();
    assert_eq!(p.ports[0].backends, vec!["10.255.0.10:80".parse().unwrap()]);
}
