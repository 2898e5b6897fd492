//! (f) The routing mesh: the network crate's `mesh_bench` (netns lab of its own), then on the
//! swarmd lab from the client namespace: through a node without the task vs straight to the
//! task IP, same run, interleaved; and the time from a new task RUNNING to it being a backend
//! in the kernel table of every node (`NodeMesh`, read back from each node's kernel).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::control::{
    GetServiceRequest, NodeMeshRequest, RemoveServiceRequest, UpdateServiceRequest,
};
use api::objects::service_spec::Mode;

use crate::control::{self, service_spec};
use crate::examples;
use crate::lab::{http_get, in_netns, in_netns_at, ip, Lab, NODES};
use crate::report::{percentile, Report};

const SERVICE: &str = "swb-mesh";
const PORT: u32 = 8089;
const CONNECTIONS: usize = 4;
/// Consecutive failed requests after which a load thread stops.
const GIVE_UP: usize = 10;

/// The figures of `mesh_bench` (its own 3-node netns lab, no swarmd).
pub fn example(report: &mut Report) -> Result<()> {
    let lines = examples::run("network", "mesh_bench", &[])?;
    let get =
        |v: Option<f64>, what: &str| v.with_context(|| format!("mesh_bench printed no {what}"));
    let s = "f. mesh (mesh_bench)";
    report.add(
        s,
        "direct to task IP",
        get(
            examples::figure(&lines, "direct to task IP", "req/s"),
            "direct req/s",
        )?,
        "req/s",
        "",
    );
    report.add(
        s,
        "through the mesh of a node without the task",
        get(
            examples::figure(&lines, "mesh via node-0", "req/s"),
            "mesh req/s",
        )?,
        "req/s",
        "",
    );
    report.add(
        s,
        "throughput ratio mesh/direct",
        get(
            examples::after(&lines, "throughput ratio", "direct:"),
            "ratio",
        )?,
        "×",
        "≥ 0.9",
    );
    report.add(
        s,
        "p99 direct",
        get(
            examples::after(&lines, "direct to task IP", "p99"),
            "direct p99",
        )?,
        "ms",
        "",
    );
    report.add(
        s,
        "p99 mesh",
        get(
            examples::after(&lines, "mesh via node-0", "p99"),
            "mesh p99",
        )?,
        "ms",
        "",
    );
    report.add(
        s,
        "program 1,000 published services (plan + render + nft -f)",
        get(
            examples::figure(&lines, "apply (plan", "ms"),
            "programming time",
        )?,
        "ms",
        "≤ 1 s",
    );
    report.add(
        s,
        "new backend answering on all 3 nodes",
        get(
            examples::figure(&lines, "new backend answered", "ms"),
            "propagation",
        )?,
        "ms",
        "≤ 500 ms",
    );
    Ok(())
}

/// Mesh vs direct and propagation on the swarmd lab; the service is removed however it ends.
pub async fn lab(report: &mut Report, lab: &Lab, quick: bool) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let result = measure(report, &mut ctl, quick).await;
    let _ = ctl
        .remove_service(RemoveServiceRequest { id: SERVICE.into() })
        .await;
    result
}

async fn measure(report: &mut Report, ctl: &mut control::Control, quick: bool) -> Result<()> {
    let spec = service_spec(
        SERVICE,
        "swarmd/whoami",
        1,
        Some((PORT, 80)),
        &["node.hostname==worker1"],
    );
    let start = Instant::now();
    control::create(ctl, spec).await?;
    control::wait_running(
        ctl,
        SERVICE,
        1,
        start,
        Duration::from_millis(50),
        Duration::from_secs(60),
    )
    .await?;
    let task = control::running(ctl, SERVICE).await?.remove(0);
    let task_ip = task
        .networks
        .first()
        .context("the task has no IP")?
        .addr
        .clone();

    let (path, alias) = DirectPath::open(&task_ip)?;
    let mesh: SocketAddr = format!("{}:{PORT}", ip("manager")).parse()?;
    let direct: SocketAddr = format!("{alias}:80").parse()?;
    let per_round = if quick { 500 } else { 2000 };
    let result = tokio::task::spawn_blocking(move || {
        let (mut m, mut d) = (Load::default(), Load::default());
        http_get_ok(direct).and(http_get_ok(mesh))?;
        for _ in 0..3 {
            d.merge(load(direct, per_round));
            m.merge(load(mesh, per_round));
        }
        Ok::<_, String>((m, d))
    })
    .await?;
    drop(path);
    let (m, d) = result.map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        m.errors + d.errors < 10 * CONNECTIONS,
        "requests failing: {} through the mesh, {} direct",
        m.errors,
        d.errors
    );
    let s = "f. mesh (swarmd lab, client → .10 without the task vs → the task)";
    report.add(
        s,
        "direct to the task (1:1 DNAT on its node)",
        d.rps(),
        "req/s",
        "",
    );
    report.note(&d.summary());
    report.add(s, "through the manager's mesh", m.rps(), "req/s", "");
    report.note(&m.summary());
    report.add(
        s,
        "throughput ratio mesh/direct",
        m.rps() / d.rps(),
        "×",
        "≥ 0.9",
    );
    report.add(
        s,
        "p99 ratio mesh/direct",
        percentile(&m.ms, 0.99) / percentile(&d.ms, 0.99),
        "×",
        "",
    );
    report.note(&format!(
        "{CONNECTIONS} connections, 1 request each, 3 interleaved rounds of {per_round}"
    ));
    report.samples.mesh_ms = m.ms;
    report.samples.direct_ms = d.ms;

    // Propagation: scale to 2, time from the new task RUNNING to its IP in every node's table.
    let service = ctl
        .get_service(GetServiceRequest { id: SERVICE.into() })
        .await?
        .into_inner();
    let mut spec = service.spec.context("service without spec")?;
    spec.mode = Some(Mode::Replicas(2));
    let version = service.meta.map_or(0, |m| m.version);
    let asked = Instant::now();
    ctl.update_service(UpdateServiceRequest {
        id: service.id,
        version,
        spec: Some(spec),
        rollback: false,
    })
    .await?;
    let (new_ip, running_at) = loop {
        let tasks = control::running(ctl, SERVICE).await?;
        if let Some(t) = tasks.iter().find(|t| t.id != task.id) {
            break (
                t.networks
                    .first()
                    .map(|n| n.addr.clone())
                    .unwrap_or_default(),
                Instant::now(),
            );
        }
        anyhow::ensure!(
            asked.elapsed() < Duration::from_secs(60),
            "the second task never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let needle = format!("{new_ip}:80");
    let mut seen = [false; 3];
    while !seen.iter().all(|s| *s) {
        for (i, node) in NODES.iter().enumerate() {
            if !seen[i] {
                let table = ctl
                    .node_mesh(NodeMeshRequest {
                        node: node.to_string(),
                    })
                    .await?
                    .into_inner();
                seen[i] = table
                    .services
                    .iter()
                    .any(|s| s.backends.iter().any(|b| b.addr == needle));
            }
        }
        anyhow::ensure!(
            running_at.elapsed() < Duration::from_secs(30),
            "{needle} not in every mesh after 30 s: {seen:?}"
        );
    }
    report.add_ms(
        s,
        "scale +1: request → new task RUNNING",
        running_at - asked,
        "",
    );
    report.add_ms(
        s,
        "new task RUNNING → backend in all 3 kernels (read back)",
        running_at.elapsed(),
        "≤ 500 ms",
    );
    Ok(())
}

/// The client's way straight to a task, for the "direct" side. swarmd drops traffic from
/// outside the overlay to task IPs unless the mesh DNAT'ed it (tasks are not reachable
/// directly, by design), and rebuilds its own table at will; so the client instead dials an
/// alias of the task IP (10.254.x.y for 10.255.x.y), routed via the task's node, where a table
/// of ours (`swb_direct`) translates it 1:1 to the task IP: no load balancing, no SNAT, no
/// overlay hop. Route and table are removed on drop.
struct DirectPath;

const DIRECT_TABLE: &str = "swb_direct";

impl DirectPath {
    /// Returns the alias to dial for `task_ip`.
    fn open(task_ip: &str) -> Result<(DirectPath, String)> {
        let alias = task_ip.replacen("10.255.", "10.254.", 1);
        anyhow::ensure!(
            alias != task_ip,
            "task IP {task_ip} is not in 10.255.0.0/16"
        );
        let path = DirectPath;
        sh(&[
            "ip",
            "-n",
            "swl-client",
            "route",
            "replace",
            "10.254.0.0/16",
            "via",
            ip("worker1"),
        ])?;
        let table = format!(
            "table ip {DIRECT_TABLE} {{ chain pre {{ type nat hook prerouting priority dstnat - 10; \
             policy accept; ip daddr {alias} dnat to {task_ip}; }}; }}"
        );
        sh(&["ip", "netns", "exec", "swl-worker1", "nft", &table])?;
        Ok((path, alias))
    }
}

impl Drop for DirectPath {
    fn drop(&mut self) {
        let _ = sh(&["ip", "-n", "swl-client", "route", "del", "10.254.0.0/16"]);
        let _ = sh(&[
            "ip",
            "netns",
            "exec",
            "swl-worker1",
            "nft",
            "delete",
            "table",
            "ip",
            DIRECT_TABLE,
        ]);
    }
}

fn sh(args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

fn http_get_ok(addr: SocketAddr) -> Result<(), String> {
    in_netns("swl-client", move || {
        http_get(addr, Duration::from_secs(2)).map(drop)
    })
    .map_err(|e| format!("warm-up request to {addr}: {e}"))
}

#[derive(Default)]
pub struct Load {
    pub ms: Vec<f64>,
    pub errors: usize,
    elapsed: Duration,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.ms.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// `p50 … ms, p99 … ms, N errors`, for a report note.
    pub fn summary(&self) -> String {
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, {} errors",
            percentile(&self.ms, 0.5),
            percentile(&self.ms, 0.99),
            self.errors
        )
    }

    pub fn merge(&mut self, other: Load) {
        self.ms.extend(other.ms);
        self.errors += other.errors;
        self.elapsed += other.elapsed;
    }
}

/// `total` one-request connections from [`CONNECTIONS`] threads in the client namespace.
fn load(addr: SocketAddr, total: usize) -> Load {
    load_from("/run/netns/swl-client", addr, total)
}

/// `total` one-request connections from [`CONNECTIONS`] threads in the namespace at `ns`.
pub fn load_from(ns: &str, addr: SocketAddr, total: usize) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let next = next.clone();
            let ns = ns.to_string();
            std::thread::spawn(move || {
                in_netns_at(ns, move || {
                    let (mut ms, mut errors, mut in_a_row) = (Vec::new(), 0, 0);
                    // A path that stopped answering ends the round instead of timing out
                    // every remaining request.
                    while in_a_row < GIVE_UP && next.fetch_add(1, Ordering::Relaxed) < total {
                        let t = Instant::now();
                        match http_get(addr, Duration::from_secs(2)) {
                            Ok(_) => {
                                ms.push(t.elapsed().as_secs_f64() * 1e3);
                                in_a_row = 0;
                            }
                            Err(_) => {
                                errors += 1;
                                in_a_row += 1;
                            }
                        }
                    }
                    (ms, errors)
                })
            })
        })
        .collect();
    let mut out = Load::default();
    for w in workers {
        let (ms, errors) = w.join().expect("load thread");
        out.ms.extend(ms);
        out.errors += errors;
    }
    out.elapsed = start.elapsed();
    out
}
