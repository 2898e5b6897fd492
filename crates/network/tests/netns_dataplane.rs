//! The data plane in network namespaces: three "nodes" running `Dataplane` on a shared
//! underlay, a client namespace, and task namespaces standing in for containers.
//! Needs root (CI runs it as root; under `CI=true` a lab that cannot be built fails).

mod lab;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Command;

use lab::cluster::{Cluster, TASK_PORT};
use lab::http;
use lab::view::{host_port, ingress_port};

/// Names of the responders that answered, failing on any error.
fn responders(results: Vec<std::io::Result<String>>) -> Vec<String> {
    results
        .into_iter()
        .map(|r| r.expect("request through the mesh failed"))
        .map(|body| {
            body.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn distinct(names: &[String]) -> BTreeSet<&str> {
    names.iter().map(String::as_str).collect()
}

#[test]
fn overlay_reaches_tasks_across_nodes_and_internal_services_stay_inside() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("ov", 3);
    let a = c.add_task("a", 0, 10);
    let i = c.add_task("i", 1, 11);
    let cc = c.add_task("c", 2, 12);
    // Internal service: no published port, so the leader sends no mesh entry for it.
    c.apply(&[]);

    let a_ns = c.lab.ns_path("a");
    let to_c = http::get(&a_ns, SocketAddr::from((cc.addr, TASK_PORT)))
        .expect("task a -> task c over VXLAN");
    assert_eq!(
        to_c,
        format!("c {}", a.addr),
        "overlay keeps the task's source address"
    );
    let to_i =
        http::get(&a_ns, SocketAddr::from((i.addr, TASK_PORT))).expect("task a -> internal task i");
    assert!(to_i.starts_with("i "), "{to_i}");

    // A node reaches remote tasks through its static neighbour + FDB entries.
    let from_node = http::get(&c.nodes[0].ns_path, SocketAddr::from((cc.addr, TASK_PORT)))
        .expect("node 0 -> task c");
    assert_eq!(from_node, "c 10.255.0.1");

    // From outside: the internal service's port is on no node, and the overlay is not routed.
    for node in 0..3 {
        let r = http::get(&c.client_ns, c.node_addr(node, TASK_PORT));
        assert!(
            r.is_err(),
            "internal service answered on node {node}: {r:?}"
        );
    }
    assert!(http::get(&c.client_ns, SocketAddr::from((i.addr, TASK_PORT))).is_err());

    // The tunnel's bridge port must not learn: a MAC seen through it would stay pinned to the
    // tunnel after its IP is reused by a task on this node.
    for node in &c.nodes {
        let out = std::process::Command::new("nsenter")
            .args([
                &format!("--net={}", node.ns_path),
                "bridge",
                "-d",
                "link",
                "show",
            ])
            .output()
            .expect("bridge -d link show");
        let text = String::from_utf8_lossy(&out.stdout);
        let port = text
            .split("\n")
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[0].contains("swarm-vx"))
            .map(|w| w[1].to_string())
            .unwrap_or_else(|| panic!("no VXLAN bridge port in:\n{text}"));
        assert!(port.contains("learning off"), "VXLAN port learns: {port}");
    }

    // Tasks' egress leaves masqueraded behind their node's underlay address.
    http::serve(&c.client_ns, 8000, "client");
    let egress = http::get(&a_ns, SocketAddr::from((c.client_ip, 8000))).expect("task a -> client");
    assert_eq!(egress, format!("client {}", c.nodes[0].underlay));
}

#[test]
fn mesh_balances_from_every_node_localhost_and_follows_scale_down() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("ms", 3);
    let w1 = c.add_task("w1", 1, 1);
    let w2 = c.add_task("w2", 2, 2);
    c.apply(&[(
        "web",
        vec![ingress_port(8080, TASK_PORT as u32)],
        vec![&w1, &w2],
    )]);

    for node in 0..3 {
        let names = responders(http::get_n(&c.client_ns, c.node_addr(node, 8080), 6));
        assert_eq!(
            distinct(&names),
            BTreeSet::from(["w1", "w2"]),
            "node {node}: {names:?}"
        );
        // numgen inc is strict round robin.
        assert_eq!(
            names.iter().filter(|n| *n == "w1").count(),
            3,
            "node {node}: {names:?}"
        );
    }
    // Node 0 has no task of the service: the backends see node 0's ingress IP (masquerade).
    let body = http::get(&c.client_ns, c.node_addr(0, 8080)).unwrap();
    assert!(body.ends_with(" 10.255.0.1"), "{body}");

    let local = SocketAddr::from(([127, 0, 0, 1], 8080));
    let names = responders(http::get_n(&c.nodes[0].ns_path, local, 4));
    assert_eq!(
        distinct(&names),
        BTreeSet::from(["w1", "w2"]),
        "localhost: {names:?}"
    );

    let table = c.nodes[0].table().unwrap();
    assert_eq!(table.backend, types::MeshBackendKind::Nftables);
    assert_eq!(table.services.len(), 1, "{table}");
    let web = &table.services[0];
    assert_eq!((web.port, web.service_name.as_str()), (8080, "web"));
    assert_eq!(
        web.backends,
        vec![
            "10.255.1.1:80".parse().unwrap(),
            "10.255.1.2:80".parse().unwrap()
        ]
    );
    // The raw table is nft's own JSON, as read (the services above were parsed from it).
    assert!(
        table.raw.contains("\"name\": \"swarmd_mesh\""),
        "{}",
        table.raw
    );

    // Scale down to w1: every node stops sending to w2 at once.
    c.apply(&[("web", vec![ingress_port(8080, TASK_PORT as u32)], vec![&w1])]);
    for node in 0..3 {
        let names = responders(http::get_n(&c.client_ns, c.node_addr(node, 8080), 4));
        assert_eq!(
            distinct(&names),
            BTreeSet::from(["w1"]),
            "node {node}: {names:?}"
        );
    }
    assert_eq!(c.nodes[2].table().unwrap().services[0].backends.len(), 1);

    // No backend at all: the port refuses instead of hanging.
    c.apply(&[("web", vec![ingress_port(8080, TASK_PORT as u32)], vec![])]);
    let err = http::get(&c.client_ns, c.node_addr(0, 8080)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(c.nodes[0].table().unwrap().services[0].scheduler, "reject");
}

#[test]
fn host_mode_answers_only_on_its_node_and_keeps_the_client_ip() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("hm", 2);
    let h = c.add_task("h", 1, 7);
    c.apply(&[("edge", vec![host_port(9090, TASK_PORT as u32)], vec![&h])]);

    let body =
        http::get(&c.client_ns, c.node_addr(1, 9090)).expect("host-mode port on the task's node");
    assert_eq!(
        body,
        format!("h {}", c.client_ip),
        "client source IP preserved"
    );
    assert!(
        http::get(&c.client_ns, c.node_addr(0, 9090)).is_err(),
        "host-mode port answered on another node"
    );
    let local = http::get(
        &c.nodes[1].ns_path,
        SocketAddr::from(([127, 0, 0, 1], 9090)),
    )
    .expect("localhost");
    assert!(local.starts_with("h "), "{local}");
    let table = c.nodes[1].table().unwrap();
    assert_eq!(table.services[0].mode, types::PublishMode::Host);

    // A process already holding a port on a node is seen there (and only there): the agent
    // rejects a host-mode task publishing it.
    http::serve(&c.nodes[0].ns_path, 7000, "squatter");
    let held = |node: usize, port| {
        http::in_ns(&c.nodes[node].ns_path, move || {
            network::ports::in_use(types::PortProtocol::Tcp, port).unwrap()
        })
    };
    assert!(held(0, 7000));
    assert!(!held(0, 7001));
    assert!(!held(1, 7000));
    assert!(c.nodes[0].table().unwrap().services.is_empty());
}

fn ns_cmd(ns_path: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("nsenter")
        .arg(format!("--net={ns_path}"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn restart_readopts_and_teardown_removes_everything() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("rt", 2);
    let w = c.add_task("w", 1, 3);
    let services = [("web", vec![ingress_port(8080, TASK_PORT as u32)], vec![&w])];
    c.apply(&services);
    assert_eq!(c.nodes[0].info().unwrap().0, "nftables");

    let ns0 = c.nodes[0].ns_path.clone();
    let links = || ns_cmd(&ns0, &["ip", "-o", "link", "show"]).1;
    let fdb = || ns_cmd(&ns0, &["bridge", "fdb", "show", "dev", "swarm-vx4096"]).1;
    let (links_before, fdb_before) = (links(), fdb());
    c.nodes[0].restart().unwrap();
    c.apply(&services);
    let (links_after, fdb_after) = (links(), fdb());
    // Same interface indexes and settings: the links were adopted, not recreated.
    assert_eq!(links_before, links_after, "restart recreated links");
    assert_eq!(
        fdb_before, fdb_after,
        "re-applying after a restart changed the FDB"
    );
    assert!(
        fdb_after.contains("00:00:00:00:00:00 dst 192.168.77.2"),
        "{fdb_after}"
    );
    assert!(
        fdb_after.contains("02:42:0a:ff:01:03 dst 192.168.77.2"),
        "{fdb_after}"
    );
    let body = http::get(&c.client_ns, c.node_addr(0, 8080)).expect("mesh after restart");
    assert!(body.starts_with("w "), "{body}");

    // Detach removes the task's veth on its node.
    c.nodes[1].detach(&w.task_id).unwrap();
    assert!(!ns_cmd(&c.nodes[1].ns_path, &["ip", "link", "show", "vttaskw"]).0);

    c.nodes[0].teardown().unwrap();
    let ns = &ns0;
    assert!(
        !ns_cmd(ns, &["ip", "link", "show", "swarm-ingress"]).0,
        "bridge left behind"
    );
    assert!(
        !ns_cmd(ns, &["ip", "link", "show", "swarm-vx4096"]).0,
        "vxlan left behind"
    );
    assert!(
        !ns_cmd(ns, &["nft", "list", "table", "ip", "swarmd_mesh"]).0,
        "mesh table left behind"
    );
}

#[test]
fn udp_ports_are_balanced_too() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("ud", 2);
    let u1 = c.add_task("u1", 0, 1);
    let u2 = c.add_task("u2", 1, 2);
    for name in ["u1", "u2"] {
        http::serve_udp(&c.lab.ns_path(name), 53, name);
    }
    let mut port = ingress_port(5353, 53);
    port.protocol = types::PortProtocol::Udp;
    c.apply(&[("dns", vec![port], vec![&u1, &u2])]);
    for node in 0..2 {
        let names = responders(http::udp_get_n(&c.client_ns, c.node_addr(node, 5353), 4));
        assert_eq!(
            distinct(&names),
            BTreeSet::from(["u1", "u2"]),
            "node {node}: {names:?}"
        );
    }
    let table = c.nodes[0].table().unwrap();
    assert_eq!(table.services[0].protocol, types::PortProtocol::Udp);
    // The TCP side of the same number is not published.
    assert!(http::get(&c.client_ns, c.node_addr(0, 5353)).is_err());
}
