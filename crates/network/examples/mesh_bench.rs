//! Routing-mesh benchmark in a netns lab (needs root):
//! `cargo run --release -p network --example mesh_bench`
//!
//! 1. requests/s and p99 from a client namespace through the mesh of a node with no local
//!    backend vs straight to the task IP (routed via the task's node), same run;
//! 2. time to program 1,000 published services (plan + render + `nft -f`), to change one of them
//!    (only its chain is rewritten) and to read them back;
//! 3. time from `apply` (a new backend) to that backend answering on every node.

#[path = "../tests/lab/mod.rs"]
mod lab;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab::cluster::{Cluster, TASK_PORT};
use lab::http;
use lab::view::{ingress_port, LabTask};

const REQUESTS: usize = 3000;
const CONCURRENCY: usize = 4;
const ROUNDS: usize = 3;

struct Load {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Load {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }

    fn merge(&mut self, other: Load) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }
}

/// `total` one-shot HTTP requests from `CONCURRENCY` threads inside the client namespace.
fn load(ns: &str, addr: SocketAddr, total: usize) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let next = next.clone();
            let ns = ns.to_string();
            std::thread::spawn(move || {
                http::in_ns(&ns, move || {
                    let mut lat = Vec::new();
                    let mut errors = 0;
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        let t = Instant::now();
                        match http::get_here(addr) {
                            Ok(_) => lat.push(t.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                    (lat, errors)
                })
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.join().expect("load worker");
        latencies.extend(l);
        errors += e;
    }
    Load {
        ok: latencies.len(),
        errors,
        elapsed: start.elapsed(),
        latencies,
    }
}

/// Where the client dials the task directly; its node rewrites it to `TASK_PORT`.
const DIRECT_PORT: u16 = TASK_PORT + 1;

fn main() {
    if !lab::can_run() {
        std::process::exit(1);
    }
    let mut c = Cluster::new("bn", 3);
    let w1 = c.add_task("w1", 1, 1);
    c.apply(&[("web", vec![ingress_port(8080, TASK_PORT as u32)], vec![&w1])]);
    // The client reaches task IPs through the task's node (plain routing, no VXLAN, no NAT).
    c.route_client_via("10.255.0.0/16", 1);

    // swarmd lets outside traffic into the ingress bridge only when the node translated it
    // (mesh traffic). The direct path dials the task's own IP on another port that its node
    // rewrites to the task's port: translated (an identity DNAT would not count: the kernel
    // marks a connection DNAT'ed only when its tuple changes), but with no balancing, SNAT or
    // VXLAN.
    let ns = format!("--net={}", c.nodes[1].ns_path);
    let rule = format!(
        "ip daddr {addr} tcp dport {DIRECT_PORT} dnat to {addr}:{TASK_PORT}",
        addr = w1.addr
    );
    for cmd in [
        "add table ip bench_direct".to_string(),
        "add chain ip bench_direct pre { type nat hook prerouting priority -110; policy accept; }"
            .to_string(),
        format!("add rule ip bench_direct pre {rule}"),
    ] {
        let mut args = vec!["nsenter", ns.as_str(), "nft", "--"];
        args.extend(cmd.split_whitespace());
        lab::sh(&args);
    }

    let mesh_addr = c.node_addr(0, 8080);
    let direct_addr = SocketAddr::from((w1.addr, DIRECT_PORT));
    http::get(&c.client_ns, mesh_addr).expect("warm-up through the mesh");
    http::get(&c.client_ns, direct_addr).expect("warm-up direct");
    let empty = || Load {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    let (mut direct, mut mesh) = (empty(), empty());
    // Interleaved rounds so load from other processes hits both sides alike.
    for _ in 0..ROUNDS {
        direct.merge(load(&c.client_ns, direct_addr, REQUESTS));
        mesh.merge(load(&c.client_ns, mesh_addr, REQUESTS));
    }
    println!("== throughput ({} requests x {ROUNDS} rounds, {CONCURRENCY} connections, 1 request per connection)", REQUESTS);
    for (name, l) in [
        ("direct to task IP", &direct),
        ("mesh via node-0 (no local task)", &mesh),
    ] {
        println!(
            "{name:<34} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}",
            l.rps(),
            l.percentile(0.50).as_secs_f64() * 1e3,
            l.percentile(0.99).as_secs_f64() * 1e3,
            l.errors
        );
    }
    println!(
        "throughput ratio mesh/direct: {:.3}",
        mesh.rps() / direct.rps()
    );
    println!(
        "p99 ratio mesh/direct:        {:.3}",
        mesh.percentile(0.99).as_secs_f64() / direct.percentile(0.99).as_secs_f64()
    );

    // 1,000 published services, two backends each, programmed on one node.
    let w2 = c.add_task("w2", 2, 2);
    let many: Vec<(String, Vec<types::PortConfig>, Vec<&LabTask>)> = (0..1000u32)
        .map(|i| {
            (
                format!("svc{i}"),
                vec![ingress_port(20000 + i, TASK_PORT as u32)],
                vec![&w1, &w2],
            )
        })
        .collect();
    let many_ref: Vec<(&str, Vec<types::PortConfig>, Vec<&LabTask>)> = many
        .iter()
        .map(|(n, p, t)| (n.as_str(), p.clone(), t.clone()))
        .collect();
    let view = c.view(&many_ref);
    let t = Instant::now();
    c.nodes[0].apply(&view).expect("apply 1000 services");
    let program = t.elapsed();
    let t = Instant::now();
    c.nodes[0].apply(&view).expect("re-apply 1000 services");
    let noop = t.elapsed();
    let t = Instant::now();
    let table = c.nodes[0].table().expect("read back");
    let readback = t.elapsed();
    assert_eq!(table.services.len(), 1000);
    let body = http::get(&c.client_ns, c.node_addr(0, 20999)).expect("service #1000 answers");
    println!("== programming");
    println!(
        "1,000 services: apply (plan + render + nft -f) {:>7.1} ms",
        program.as_secs_f64() * 1e3
    );
    println!(
        "1,000 services: unchanged re-apply           {:>7.3} ms",
        noop.as_secs_f64() * 1e3
    );
    println!(
        "1,000 services: kernel read-back (nft -j)    {:>7.1} ms  (service #1000 -> {body})",
        readback.as_secs_f64() * 1e3
    );

    // One service among the 1,000 gains or loses a backend: only its chain is rewritten.
    let mut changes = Vec::new();
    for round in 0..20 {
        let mut changed = many_ref.clone();
        if round % 2 == 0 {
            changed[500].2 = vec![&w1];
        }
        let view = c.view(&changed);
        let t = Instant::now();
        c.nodes[0]
            .apply(&view)
            .expect("apply one change among 1000 services");
        changes.push(t.elapsed());
    }
    let table = c.nodes[0].table().expect("read back");
    let svc500 = table
        .services
        .iter()
        .find(|s| s.port == 20500)
        .expect("svc500");
    assert_eq!(
        svc500.backends.len(),
        2,
        "the last round restored both backends"
    );
    changes.sort();
    println!(
        "1,000 services: one backend change, 20 runs  p50 {:>6.1} ms  max {:>6.1} ms",
        changes[10].as_secs_f64() * 1e3,
        changes[19].as_secs_f64() * 1e3
    );

    // Propagation: w2 joins `web`; time until every node has sent a request to it.
    c.apply(&[("web", vec![ingress_port(8080, TASK_PORT as u32)], vec![&w1])]);
    let view = c.view(&[(
        "web",
        vec![ingress_port(8080, TASK_PORT as u32)],
        vec![&w1, &w2],
    )]);
    let t = Instant::now();
    std::thread::scope(|s| {
        for n in &c.nodes {
            let view = &view;
            s.spawn(move || n.apply(view).expect("apply"));
        }
    });
    let applied = t.elapsed();
    let mut seen = [false; 3];
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.iter().any(|s| !s) && Instant::now() < deadline {
        for (i, s) in seen.iter_mut().enumerate() {
            if !*s {
                *s = http::get(&c.client_ns, c.node_addr(i, 8080))
                    .is_ok_and(|b| b.starts_with("w2 "));
            }
        }
    }
    let answered = t.elapsed();
    assert!(
        seen.iter().all(|s| *s),
        "w2 never answered on every node: {seen:?}"
    );
    println!("== propagation (3 nodes applying in parallel)");
    println!(
        "apply returned on all nodes        {:>7.1} ms",
        applied.as_secs_f64() * 1e3
    );
    println!(
        "new backend answered on all nodes  {:>7.1} ms",
        answered.as_secs_f64() * 1e3
    );
}
