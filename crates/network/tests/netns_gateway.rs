//! Issue 14, the gateway bridge in network namespaces: a task that is not on ingress (its
//! service publishes no ingress port) leaves the cluster through its node's gateway bridge,
//! masqueraded; it reaches neither another task on the gateway nor any ingress address; its
//! host-mode port is DNAT'ed to it there with the client's address kept; a restarted data
//! plane keeps its address; a task whose networks are all internal gets no gateway at all.
//! Needs root (under `CI=true` a lab that cannot be built fails).

mod lab;

use std::net::{Ipv4Addr, SocketAddr};

use lab::cluster::{Cluster, TASK_PORT};
use lab::http;
use lab::node::GatewayArgs;
use lab::view::{host_port, LabTask};
use types::{Network, NetworkSpec, OverlayView};

/// A task namespace with a responder, not on ingress, plugged into node `node`'s gateway as
/// `eth0` (it has no other interface).
fn gateway_task(c: &mut Cluster, name: &str, node: usize) -> (LabTask, u32) {
    let pid = c.lab.add_task_ns(name);
    http::serve(&c.lab.ns_path(name), TASK_PORT, name);
    let t = LabTask {
        task_id: format!("task{name}"),
        node_id: c.nodes[node].node_id.clone(),
        addr: Ipv4Addr::UNSPECIFIED,
    };
    c.nodes[node]
        .attach_gateway(args(&t, true, &[]), pid)
        .unwrap_or_else(|e| panic!("attach {name} to the gateway: {e}"));
    (t, pid)
}

fn args(t: &LabTask, host_ports: bool, networks: &[&str]) -> GatewayArgs {
    GatewayArgs {
        task_id: t.task_id.clone(),
        index: 0,
        on_ingress: false,
        host_ports,
        networks: networks.iter().map(|n| n.to_string()).collect(),
    }
}

/// `ip` inside the namespace at `ns_path`.
fn ip(ns_path: &str, args: &[&str]) -> String {
    let ns = ns_path.trim_start_matches("/run/netns/");
    let out = std::process::Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The task's address on its `eth0`.
fn eth0_addr(c: &Cluster, name: &str) -> Ipv4Addr {
    let out = ip(&c.lab.ns_path(name), &["-o", "-4", "addr", "show", "eth0"]);
    let cidr = out
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap_or_else(|| panic!("{name} has no address on eth0: {out}"));
    cidr.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn tasks_off_ingress_leave_through_the_gateway_and_reach_no_other_task() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("gw", 2);
    let ingress_task = c.add_task("i", 0, 10);
    let (g1, g1_pid) = gateway_task(&mut c, "g1", 0);
    let (g2, _) = gateway_task(&mut c, "g2", 0);
    let (g1_addr, g2_addr) = (eth0_addr(&c, "g1"), eth0_addr(&c, "g2"));
    assert_eq!(g1_addr, Ipv4Addr::new(172, 18, 0, 2), "lowest free address");
    assert_eq!(g2_addr, Ipv4Addr::new(172, 18, 0, 3));
    let route = ip(&c.lab.ns_path("g1"), &["route", "show", "default"]);
    assert!(route.contains("via 172.18.0.1 dev eth0"), "{route}");

    // Out of the cluster, with the node's address.
    http::serve(&c.client_ns, 8000, "client");
    let outside = SocketAddr::from((c.client_ip, 8000));
    let out = http::get(&c.lab.ns_path("g1"), outside).expect("g1 -> outside");
    assert_eq!(out, format!("client {}", c.nodes[0].underlay));

    // No other task: not the one beside it on the gateway, not one on ingress.
    let to = |ip: Ipv4Addr| SocketAddr::from((ip, TASK_PORT));
    let blocked = http::get(&c.lab.ns_path("g1"), to(g2_addr));
    assert!(
        blocked.is_err(),
        "g1 reached g2 on the gateway: {blocked:?}"
    );
    // Two guards, each enough alone: port isolation (also where bridged traffic skips the IP
    // hooks), and the node's forward filter (where br_netfilter sends it through them).
    let node0 = c.lab.ns_name("n0");
    let in_node0 = |args: &[&str]| {
        let mut all = vec!["ip", "netns", "exec", &node0];
        all.extend_from_slice(args);
        lab::sh(&all)
    };
    in_node0(&["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"]);
    let blocked = http::get(&c.lab.ns_path("g1"), to(g2_addr));
    in_node0(&["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]);
    assert!(
        blocked.is_err(),
        "isolation alone let g1 reach g2: {blocked:?}"
    );
    let isolate = |on: &str| {
        for p in ["vttaskg1_g", "vttaskg2_g"] {
            let set = [
                "ip",
                "link",
                "set",
                p,
                "type",
                "bridge_slave",
                "isolated",
                on,
            ];
            in_node0(&set);
        }
    };
    isolate("off");
    let blocked = http::get(&c.lab.ns_path("g1"), to(g2_addr));
    isolate("on");
    assert!(
        blocked.is_err(),
        "the forward filter alone let g1 reach g2: {blocked:?}"
    );
    let blocked = http::get(&c.lab.ns_path("g1"), to(ingress_task.addr));
    assert!(blocked.is_err(), "g1 reached an ingress task: {blocked:?}");
    // Nor does the outside reach it, even routing the gateway subnet through the node.
    c.route_client_via("172.18.0.0/16", 0);
    let blocked = http::get(&c.client_ns, to(g1_addr));
    assert!(
        blocked.is_err(),
        "the outside reached g1 through the node: {blocked:?}"
    );

    // A host-mode port on the gateway address, with the client's own address.
    c.apply(&[("edge", vec![host_port(9090, TASK_PORT.into())], vec![&g1])]);
    let reply = http::get(&c.client_ns, c.node_addr(0, 9090)).expect("client -> node 0:9090");
    assert_eq!(reply, format!("g1 {}", c.client_ip));
    assert!(
        http::get(&c.client_ns, c.node_addr(1, 9090)).is_err(),
        "host mode answered on a node without the task"
    );

    // A restart keeps g1's address (read back from the kernel); a new task gets a free one.
    c.nodes[0].restart().expect("restart node 0");
    c.apply(&[("edge", vec![host_port(9090, TASK_PORT.into())], vec![&g1])]);
    c.nodes[0]
        .attach_gateway(args(&g1, true, &[]), g1_pid)
        .expect("re-attach g1");
    assert_eq!(
        eth0_addr(&c, "g1"),
        g1_addr,
        "g1's address moved on restart"
    );
    let reply = http::get(&c.client_ns, c.node_addr(0, 9090)).expect("9090 after restart");
    assert_eq!(reply, format!("g1 {}", c.client_ip));
    let (_, _) = gateway_task(&mut c, "g3", 0);
    assert_eq!(eth0_addr(&c, "g3"), Ipv4Addr::new(172, 18, 0, 4));

    // Leaving frees the address and the pair.
    c.nodes[0].detach(&g2.task_id).expect("detach g2");
    assert!(!ip(&c.lab.ns_path("g2"), &["-o", "link"]).contains("eth0"));
    let (_, _) = gateway_task(&mut c, "g4", 0);
    assert_eq!(eth0_addr(&c, "g4"), g2_addr, "g2's address is free again");

    // All networks internal: no gateway. One that is not: a gateway after its interfaces.
    let mut internal = OverlayView {
        network: Network {
            id: "net-int".into(),
            meta: Default::default(),
            spec: NetworkSpec {
                subnet: "10.0.7.0/24".into(),
                vni: 4100,
                internal: true,
                ..NetworkSpec::overlay("net-int")
            },
        },
        endpoints: Vec::new(),
        services: Vec::new(),
    };
    let mut v = c.view(&[]);
    v.overlays = vec![internal.clone()];
    c.nodes[1].apply(&v).expect("apply with net-int");
    let pid = c.lab.add_task_ns("int");
    let t = LabTask {
        task_id: "taskint".into(),
        node_id: c.nodes[1].node_id.clone(),
        addr: Ipv4Addr::UNSPECIFIED,
    };
    c.nodes[1]
        .attach_gateway(args(&t, false, &["net-int"]), pid)
        .expect("attach_gateway on an internal network");
    let links = ip(&c.lab.ns_path("int"), &["-o", "link"]);
    assert!(
        !links.contains("eth0"),
        "a gateway on an internal network: {links}"
    );
    internal.network.spec.internal = false;
    v.overlays = vec![internal];
    c.nodes[1]
        .apply(&v)
        .expect("apply with net-int not internal");
    let mut a = args(&t, false, &["net-int"]);
    a.index = 1;
    c.nodes[1].attach_gateway(a, pid).expect("attach_gateway");
    let links = ip(&c.lab.ns_path("int"), &["-o", "link"]);
    assert!(
        links.contains("eth1"),
        "no gateway after the user network: {links}"
    );

    // Teardown leaves neither the bridge nor its table.
    c.nodes[0].teardown().expect("teardown node 0");
    assert!(!ip(&c.nodes[0].ns_path, &["-o", "link"]).contains("swarm-gw"));
    let tables = std::process::Command::new("ip")
        .args(["netns", "exec", &node0, "nft", "list", "tables"])
        .output()
        .expect("nft list tables");
    let tables = String::from_utf8_lossy(&tables.stdout);
    assert!(!tables.contains("swarmd_gw"), "{tables}");
}
