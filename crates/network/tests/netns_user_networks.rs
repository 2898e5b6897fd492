//! Issue 14, user overlay networks in network namespaces: three "nodes" running `Dataplane`,
//! task namespaces standing in for containers. A network connects its tasks across nodes and
//! nothing else; a node builds a network only while it has a task on it; a restart keeps the
//! tasks' interfaces. Needs root (under `CI=true` a lab that cannot be built fails).

mod lab;

use std::net::{Ipv4Addr, SocketAddr};

use lab::cluster::{Cluster, TASK_PORT};
use lab::http;
use lab::view::LabTask;
use types::{Network, NetworkSpec, NetworkView, OverlayView, TaskEndpoint};

const BACK: (&str, u32, &str) = ("net-back", 4097, "10.0.1.0/24");
const FRONT: (&str, u32, &str) = ("net-front", 4098, "10.0.2.0/24");

/// A task's address on a user network: 10.0.<net>.<same host byte as on ingress>.
fn on(net: (&str, u32, &str), t: &LabTask) -> Ipv4Addr {
    let third = net.2.split('.').nth(2).unwrap().parse().unwrap();
    Ipv4Addr::new(10, 0, third, t.addr.octets()[3])
}

fn overlay(net: (&str, u32, &str), tasks: &[&LabTask]) -> OverlayView {
    OverlayView {
        network: Network {
            id: net.0.into(),
            meta: Default::default(),
            spec: NetworkSpec {
                subnet: net.2.into(),
                vni: net.1,
                ..NetworkSpec::overlay(net.0)
            },
        },
        endpoints: tasks
            .iter()
            .map(|t| {
                let addr = on(net, t);
                TaskEndpoint {
                    task_id: t.task_id.clone(),
                    node_id: t.node_id.clone(),
                    addr: addr.to_string(),
                    mac: network::MacAddr::from_ipv4(addr).to_string(),
                }
            })
            .collect(),
        services: Vec::new(),
    }
}

/// `net` with a service `api` whose VIP is 10.0.<net>.2, balanced over `backends`.
fn with_api(mut o: OverlayView, net: (&str, u32, &str), backends: &[&LabTask]) -> OverlayView {
    let vip = on(
        net,
        &LabTask {
            task_id: String::new(),
            node_id: String::new(),
            addr: Ipv4Addr::new(0, 0, 0, 2),
        },
    );
    o.services.push(types::NamedService {
        service_id: "s-api".into(),
        name: "api".into(),
        aliases: vec![],
        vip: vip.to_string(),
        backends: backends
            .iter()
            .map(|t| types::OverlayBackend {
                task_id: t.task_id.clone(),
                node_id: t.node_id.clone(),
                addr: on(net, t).to_string(),
                slot: 1,
            })
            .collect(),
    });
    o
}

fn apply(c: &Cluster, overlays: Vec<OverlayView>) -> NetworkView {
    let mut v = c.view(&[]);
    v.overlays = overlays;
    for n in &c.nodes {
        n.apply(&v)
            .unwrap_or_else(|e| panic!("apply on {}: {e}", n.node_id));
    }
    v
}

/// `ip -o link show` inside the namespace at `ns_path` (`/run/netns/NAME`).
fn links(ns_path: &str) -> String {
    let ns = ns_path.trim_start_matches("/run/netns/");
    let out = std::process::Command::new("ip")
        .args(["-n", ns, "-o", "link", "show"])
        .output()
        .expect("ip link");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn get(c: &Cluster, from: &str, to: Ipv4Addr) -> std::io::Result<String> {
    http::get(&c.lab.ns_path(from), SocketAddr::from((to, TASK_PORT)))
}

#[test]
fn a_user_network_connects_its_tasks_across_nodes_and_nothing_else() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("un", 3);
    let (a, a_pid) = c.add_task_with_pid("a", 0, 10);
    let (b, b_pid) = c.add_task_with_pid("b", 1, 11);
    let (f, f_pid) = c.add_task_with_pid("f", 1, 12);
    let _x = c.add_task("x", 2, 13);
    let (b2, b2_pid) = c.add_task_with_pid("b2", 2, 14);
    apply(&c, vec![overlay(BACK, &[&a, &b]), overlay(FRONT, &[&f])]);
    for (t, pid, net, node) in [
        (&a, a_pid, BACK, 0),
        (&b, b_pid, BACK, 1),
        (&f, f_pid, FRONT, 1),
    ] {
        c.nodes[node]
            .attach_net(&t.task_id, 1, net.0, pid, on(net, t))
            .unwrap_or_else(|e| panic!("attach {} to {}: {e}", t.task_id, net.0));
    }

    // Across nodes on `back`, with the source address on `back`.
    let reply = get(&c, "a", on(BACK, &b)).expect("a -> b over back");
    assert_eq!(reply, format!("b {}", on(BACK, &a)));
    let reply = get(&c, "b", on(BACK, &a)).expect("b -> a over back");
    assert_eq!(reply, format!("a {}", on(BACK, &b)));
    // Nothing of `back` from `front`, even on the same node, nor from a task on no network.
    assert!(
        get(&c, "f", on(BACK, &b)).is_err(),
        "front reached b (same node)"
    );
    assert!(get(&c, "f", on(BACK, &a)).is_err(), "front reached a");
    assert!(
        get(&c, "x", on(BACK, &a)).is_err(),
        "a task on no user network reached back"
    );
    assert!(get(&c, "a", on(FRONT, &f)).is_err(), "back reached front");

    // A node builds only the networks it has tasks on.
    let has =
        |node: usize, vni: u32| links(&c.nodes[node].ns_path).contains(&format!("swarm-br{vni}"));
    assert!(has(0, 4097) && !has(0, 4098), "node 0: back only");
    assert!(has(1, 4097) && has(1, 4098), "node 1: both");
    assert!(!has(2, 4097) && !has(2, 4098), "node 2: none");
    let in_task = links(&c.lab.ns_path("a"));
    assert!(
        in_task.contains("eth0") && in_task.contains("eth1"),
        "{in_task}"
    );

    // A restarted data plane keeps the tasks' interfaces and their traffic.
    c.nodes[0].restart().expect("restart node 0");
    apply(&c, vec![overlay(BACK, &[&a, &b]), overlay(FRONT, &[&f])]);
    // As the agent does for the containers it adopts: plug them in again (a no-op for what
    // is still there).
    c.nodes[0]
        .attach(&a.task_id, a_pid, a.addr)
        .expect("re-attach a");
    c.nodes[0]
        .attach_net(&a.task_id, 1, BACK.0, a_pid, on(BACK, &a))
        .expect("re-attach a to back");
    assert_eq!(
        get(&c, "b", on(BACK, &a)).expect("b -> a after node 0 restarted"),
        format!("a {}", on(BACK, &b))
    );

    // The VIP of `api` on back, balanced in the client's namespace over its backends.
    let back = |backends: &[&LabTask]| with_api(overlay(BACK, &[&a, &b, &b2]), BACK, backends);
    apply(&c, vec![back(&[&b, &b2]), overlay(FRONT, &[&f])]);
    c.nodes[2]
        .attach_net(&b2.task_id, 1, BACK.0, b2_pid, on(BACK, &b2))
        .expect("attach b2");
    let vip = SocketAddr::from((Ipv4Addr::new(10, 0, 1, 2), TASK_PORT));
    let answers = http::get_n(&c.lab.ns_path("a"), vip, 6);
    let names: Vec<String> = answers
        .into_iter()
        .map(|r| {
            r.expect("a -> api's VIP")
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "b").count(),
        3,
        "round robin: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "b2").count(),
        3,
        "round robin: {names:?}"
    );
    let from = get(&c, "a", Ipv4Addr::new(10, 0, 1, 2)).unwrap();
    assert!(
        from.ends_with(&on(BACK, &a).to_string()),
        "the backend sees the client: {from}"
    );
    assert!(
        get(&c, "f", Ipv4Addr::new(10, 0, 1, 2)).is_err(),
        "front reached back's VIP"
    );
    apply(&c, vec![back(&[&b2]), overlay(FRONT, &[&f])]);
    let names = http::get_n(&c.lab.ns_path("a"), vip, 3);
    assert!(
        names
            .iter()
            .all(|r| r.as_ref().is_ok_and(|n| n.starts_with("b2 "))),
        "{names:?}"
    );
    apply(&c, vec![back(&[]), overlay(FRONT, &[&f])]);
    let refused = get(&c, "a", Ipv4Addr::new(10, 0, 1, 2)).unwrap_err();
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "no backend: refused at once"
    );

    // `--internal`: a task whose user networks are all internal has no egress; others have.
    let internal_front = || {
        let mut o = overlay(FRONT, &[&f]);
        o.network.spec.internal = true;
        o
    };
    apply(&c, vec![back(&[&b2]), internal_front()]);
    http::serve(&c.client_ns, 8000, "client");
    let outside = SocketAddr::from((c.client_ip, 8000));
    let out = http::get(&c.lab.ns_path("a"), outside).expect("a (on back) -> outside");
    assert!(out.starts_with("client "), "{out}");
    let blocked = http::get(&c.lab.ns_path("f"), outside);
    assert!(
        blocked.is_err(),
        "a task on an internal network reached outside: {blocked:?}"
    );

    // The last task of a network leaves a node: the node removes that network.
    apply(&c, vec![overlay(BACK, &[&a]), overlay(FRONT, &[])]);
    assert!(
        !has(1, 4097) && !has(1, 4098),
        "node 1 kept a network it has no task on"
    );
    assert!(has(0, 4097));
    assert!(
        !links(&c.lab.ns_path("b")).contains("eth1"),
        "b's back interface stayed"
    );
}

/// Asks `name` (type A) at 127.0.0.11 from inside the namespace at `ns_path`.
fn ask(ns_path: &str, name: &str) -> Result<Vec<Ipv4Addr>, String> {
    let bytes = dns::probe::a_query(42, name).map_err(|e| e.to_string())?;
    let reply = http::in_ns(ns_path, move || -> std::io::Result<Vec<u8>> {
        let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
        s.send_to(&bytes, "127.0.0.11:53")?;
        let mut buf = [0u8; 1500];
        let n = s.recv(&mut buf)?;
        Ok(buf[..n].to_vec())
    })
    .map_err(|e| e.to_string())?;
    let (_, addrs) = dns::probe::a_records(&reply).map_err(|e| e.to_string())?;
    Ok(addrs)
}

#[test]
fn the_node_resolver_answers_inside_a_task_namespace_for_its_networks_only() {
    if !lab::can_run() {
        return;
    }
    let mut c = Cluster::new("ud", 1);
    let (a, a_pid) = c.add_task_with_pid("a", 0, 10);
    let (f, f_pid) = c.add_task_with_pid("f", 0, 11);
    let mut back = overlay(BACK, &[&a]);
    back.services.push(types::NamedService {
        service_id: "s1".into(),
        name: "api".into(),
        aliases: vec!["backend".into()],
        vip: "10.0.1.2".into(),
        backends: vec![types::OverlayBackend {
            task_id: a.task_id.clone(),
            node_id: a.node_id.clone(),
            addr: on(BACK, &a).to_string(),
            slot: 1,
        }],
    });
    let view = apply(&c, vec![back, overlay(FRONT, &[&f])]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let resolver = network::resolver::NodeResolver::new(Vec::new());
    resolver.set_view(&view);
    for (t, pid, net) in [(&a, a_pid, BACK), (&f, f_pid, FRONT)] {
        rt.block_on(resolver.serve(&t.task_id, pid, on(net, t)))
            .unwrap_or_else(|e| panic!("serve {}: {e}", t.task_id));
    }
    let api_vip: Vec<Ipv4Addr> = vec!["10.0.1.2".parse().unwrap()];
    let a_ns = c.lab.ns_path("a");
    let f_ns = c.lab.ns_path("f");
    assert_eq!(ask(&a_ns, "api"), Ok(api_vip.clone()));
    assert_eq!(ask(&a_ns, "BACKEND."), Ok(api_vip));
    assert_eq!(ask(&a_ns, "tasks.api"), Ok(vec![on(BACK, &a)]));
    // `f` is on front only: `api` is not its name, and no upstream answers here.
    assert_eq!(
        ask(&f_ns, "api"),
        Ok(vec![]),
        "a name of another network leaked"
    );
    // After the task stops being served, nothing answers in its namespace.
    resolver.stop(&a.task_id);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        ask(&a_ns, "api").is_err(),
        "a stopped resolver still answers"
    );
    drop(rt);
}
