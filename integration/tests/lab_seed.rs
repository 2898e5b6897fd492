//! The seed scenarios (issue 6) against the three-node lab (`integration/lab/lab.sh`): a
//! manager and two workers, each a network namespace with a private dockerd and a swarmd, and
//! an outside client at 192.168.56.100.
//!
//! Root only. Run them one at a time: `cargo nextest run -p integration --test lab_seed` (the
//! `lab` test group in .config/nextest.toml) or `cargo test -p integration --test lab_seed --
//! --test-threads=1`. Each test reuses a healthy lab or brings one up, and removes the services
//! it created; `lab.sh down` afterwards removes the lab (and fails naming anything left).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(30);

fn all_nodes() -> Vec<&'static str> {
    NODES.iter().map(|(n, _)| *n).collect()
}

/// Scenario 1: a visualizer-like service constrained to the manager, published on 8080: one
/// task on the manager, and the same page from every node's IP.
#[test]
fn lab_1_visualizer_on_manager_answers_on_every_node() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 1: visualizer constrained to the manager");
    lab.create_service(
        "viz",
        &[
            "--constraint",
            "node.role==manager",
            "--publish",
            "8080:8080",
            "swarmd/visualizer:latest",
        ],
    )?;
    let tasks = lab.wait_running("viz", 1, CONVERGE)?;
    lab.show(&["service", "ps", "viz"])?;
    ensure!(
        tasks[0].node == "manager",
        "viz.1 runs on {}, not on the manager: {tasks:?}",
        tasks[0].node
    );

    lab.wait_mesh(&all_nodes(), 8080, 8080, &tasks, CONVERGE)?;
    let mut pages = BTreeSet::new();
    for (node, ip) in NODES {
        let page = lab
            .curl(&format!("http://{ip}:8080/"))
            .with_context(|| format!("via {node}"))?;
        println!(
            "$ curl http://{ip}:8080/   ({} bytes) {}",
            page.len(),
            page.lines().next().unwrap_or("")
        );
        ensure!(
            page.contains("swarmd visualizer"),
            "{ip}:8080 answered something else: {page:?}"
        );
        pages.insert(page);
    }
    ensure!(
        pages.len() == 1,
        "the three node IPs returned {} different pages: {pages:?}",
        pages.len()
    );
    Ok(())
}

/// Scenario 2: `nginx-demo`, 3 replicas published on 80: one replica per node, and repeated
/// requests to each node's IP reach all three replicas.
#[test]
fn lab_2_three_replicas_one_per_node_mesh_reaches_all() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 2: nginx-demo, 3 replicas on :80");
    lab.create_service("nginx-demo", WHOAMI_3_ON_80)?;
    let tasks = lab.wait_running("nginx-demo", 3, CONVERGE)?;
    lab.show(&["service", "ps", "nginx-demo"])?;
    one_per_node(&tasks)?;

    lab.wait_mesh(&all_nodes(), 80, 80, &tasks, CONVERGE)?;
    lab.assert_mesh_reaches(&all_nodes(), 80, 12, &tasks)?;
    Ok(())
}

/// Scenario 3: a service constrained to the manager and published on 3000 is reachable from
/// every node's IP while running on one.
#[test]
fn lab_3_manager_only_service_on_3000_reachable_from_all_nodes() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 3: manager-only service on :3000");
    lab.create_service(
        "app3000",
        &[
            "--constraint",
            "node.role==manager",
            "--env",
            "PORT=3000",
            "--publish",
            "3000:3000",
            "swarmd/whoami:latest",
        ],
    )?;
    let tasks = lab.wait_running("app3000", 1, CONVERGE)?;
    lab.show(&["service", "ps", "app3000"])?;
    ensure!(
        tasks[0].node == "manager",
        "app3000.1 runs on {}: {tasks:?}",
        tasks[0].node
    );
    lab.wait_mesh(&all_nodes(), 3000, 3000, &tasks, CONVERGE)?;
    lab.assert_mesh_reaches(&all_nodes(), 3000, 3, &tasks)?;
    Ok(())
}

/// Scenarios 2, 5, 6 and 7: three `swarmd/whoami` replicas published on 80.
const WHOAMI_3_ON_80: &[&str] = &[
    "--replicas",
    "3",
    "--publish",
    "80:80",
    "swarmd/whoami:latest",
];

/// The replicas run one per node, as the scheduler's spread promises on an idle lab.
fn one_per_node(tasks: &[Replica]) -> Result<()> {
    let nodes: BTreeSet<&str> = tasks.iter().map(|t| t.node.as_str()).collect();
    ensure!(
        nodes.len() == 3,
        "3 replicas are not one per node: {tasks:?}"
    );
    Ok(())
}

/// Scenario 4's `internal-db`: on network `backend`, nothing published.
const INTERNAL_DB: &[&str] = &[
    "--network",
    "backend",
    "--env",
    "PORT=5432",
    "swarmd/whoami:latest",
];

/// Removes the scenario's services, then its networks, when dropped.
struct Networks<'a> {
    lab: &'a Lab,
    services: &'static [&'static str],
    names: &'static [&'static str],
}

impl Networks<'_> {
    fn create(&self) -> Result<()> {
        for n in self.names {
            let _ = self.lab.ctl(&["network", "rm", n]);
            self.lab.show(&["network", "create", n])?;
        }
        Ok(())
    }
}

impl Drop for Networks<'_> {
    fn drop(&mut self) {
        for s in self.services {
            let _ = self.lab.remove_service(s);
        }
        for n in self.names {
            let _ = self.lab.ctl(&["network", "rm", n]);
        }
    }
}

/// Scenario 4: an `internal-db`-like service without --publish, on network `backend`: not
/// reachable from the client (on every node IP and on its task IP); reachable **by name**
/// from another service's tasks on `backend`, on every node; not from a service on
/// `frontend` only, neither by name nor by address. It is on no ingress address at all.
#[test]
fn lab_4_unpublished_service_only_reachable_over_the_overlay() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 4: internal-db without --publish");
    let nets = Networks {
        lab: &lab,
        services: &["internal-db", "db-client", "front-only"],
        names: &["backend", "frontend"],
    };
    nets.create()?;
    lab.create_service("internal-db", INTERNAL_DB)?;
    lab.create_service(
        "db-client",
        &[
            "--network",
            "backend",
            "--replicas",
            "3",
            "swarmd/sleeper:latest",
        ],
    )?;
    lab.create_service(
        "front-only",
        &["--network", "frontend", "swarmd/sleeper:latest"],
    )?;
    let db = lab.wait_running("internal-db", 1, CONVERGE)?.remove(0);
    let clients = lab.wait_running("db-client", 3, CONVERGE)?;
    let front = lab.wait_running("front-only", 1, CONVERGE)?.remove(0);
    lab.show(&["service", "ps", "internal-db", "db-client", "front-only"])?;
    println!("internal-db.1 on {} at {} (backend)", db.node, db.addr);
    ensure!(
        !db.addr.starts_with(INGRESS_PREFIX),
        "internal-db is on the ingress network: {}",
        db.addr
    );

    // From the outside client: refused or timed out everywhere.
    let mut targets: Vec<String> = NODES.iter().map(|(_, ip)| ip.to_string()).collect();
    targets.push(db.addr.clone());
    for ip in &targets {
        match lab.curl_from("client", &format!("http://{ip}:5432/"), 3) {
            Ok(body) => {
                bail!("the client reached the unpublished internal-db at {ip}:5432: {body:?}")
            }
            Err(e) => println!("$ curl http://{ip}:5432/ (from the client)   -> {e:#}"),
        }
    }
    for (node, _) in NODES {
        let m = lab.mesh(node)?;
        ensure!(
            !m.iter().any(|s| s.service == "internal-db"),
            "{node}'s mesh lists the unpublished internal-db: {m:?}"
        );
    }

    // By name from another service's task on `backend`, on every node.
    let nodes: BTreeSet<&str> = clients.iter().map(|c| c.node.as_str()).collect();
    ensure!(
        nodes.len() == 3,
        "db-client is not one task per node: {clients:?}"
    );
    let url = "http://internal-db:5432/";
    for c in &clients {
        let out = lab.exec_in(c, &["timeout", "5", "wget", "-qO-", url])?;
        ensure!(
            out.ok(),
            "{} on {} could not reach {url}: {}",
            c.name,
            c.node,
            out.both()
        );
        let w = Whoami::parse(&out.stdout).with_context(|| format!("answer: {:?}", out.stdout))?;
        println!(
            "$ docker exec {} wget -qO- {url}   (on {}) -> {} {} from {}",
            c.name, c.node, w.hostname, w.overlay_ip, w.remote
        );
        ensure!(
            w.overlay_ip == db.addr && w.hostname == "internal-db.1",
            "unexpected answer {w:?}"
        );
        ensure!(
            !w.ips.iter().any(|ip| ip.starts_with(INGRESS_PREFIX)),
            "internal-db has an ingress address: {w:?}"
        );
        ensure!(
            w.remote.contains(&c.addr),
            "internal-db saw {} as the caller, expected {} (no NAT on the overlay)",
            w.remote,
            c.addr
        );
    }

    // Not from a service on `frontend` only: not by name, not by address.
    for target in [url.to_string(), format!("http://{}:5432/", db.addr)] {
        let out = lab.exec_in(&front, &["timeout", "3", "wget", "-qO-", &target])?;
        ensure!(!out.ok(), "front-only reached {target}: {}", out.stdout);
        println!("$ docker exec {} wget {target}   -> refused", front.name);
    }
    Ok(())
}

/// Scenario 4, the stronger reading: a client on the nodes' LAN that routes the internal
/// service's address (or the whole ingress subnet) through a node must still not reach it. A
/// node has no address on a user network, so it routes nothing into one.
#[test]
fn lab_4b_unpublished_service_not_routable_through_a_node() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 4b: internal-db with a route to the overlay through a node");
    let nets = Networks {
        lab: &lab,
        services: &["internal-db"],
        names: &["backend"],
    };
    nets.create()?;
    lab.create_service("internal-db", INTERNAL_DB)?;
    let db = lab.wait_running("internal-db", 1, CONVERGE)?.remove(0);
    let db_route = format!("{}/32", db.addr);
    let mut reached = Vec::new();
    for (node, ip) in NODES {
        for dest in [INGRESS_SUBNET, db_route.as_str()] {
            lab.lab_ok(
                &["sh", "client", "ip", "route", "replace", dest, "via", ip],
                Duration::from_secs(10),
            )?;
        }
        let r = lab.curl_from("client", &format!("http://{}:5432/", db.addr), 3);
        for dest in [INGRESS_SUBNET, db_route.as_str()] {
            let del = lab.lab(
                &["sh", "client", "ip", "route", "del", dest],
                Duration::from_secs(10),
            );
            del.and_then(|o| {
                if o.ok() {
                    Ok(())
                } else {
                    bail!("ip route del {dest}: {}", o.both())
                }
            })
            .context("removing the client's routes through a node")?;
        }
        match r {
            Ok(body) => {
                let w = Whoami::parse(&body).ok();
                println!(
                    "client -> {}:5432 via {node} ({ip}): ANSWERED {w:?}",
                    db.addr
                );
                reached.push(node);
            }
            Err(e) => println!("client -> {}:5432 via {node} ({ip}): {e:#}", db.addr),
        }
    }
    ensure!(
        reached.is_empty(),
        "the outside client reached the unpublished internal-db ({}) by routing it through {reached:?}",
        db.addr
    );
    drop(nets);
    Ok(())
}

/// Scenario 5: kill worker2 (swarmd, dockerd, containerd): its replica is recreated on a
/// surviving node within seconds, the published port keeps answering on the survivors; then
/// worker2 comes back, drops its stale container and serves the mesh again.
#[test]
fn lab_5_worker_crash_replica_recreated_mesh_keeps_answering() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 5: HA, kill worker2");
    lab.create_service("ha-web", WHOAMI_3_ON_80)?;
    let before = lab.wait_running("ha-web", 3, CONVERGE)?;
    one_per_node(&before)?;
    lab.wait_mesh(&all_nodes(), 80, 80, &before, CONVERGE)?;
    lab.show(&["service", "ps", "ha-web"])?;
    let lost = before
        .iter()
        .find(|t| t.node == "worker2")
        .cloned()
        .expect("a replica on worker2");

    let _restart = RestartOnDrop {
        lab: &lab,
        node: "worker2",
    };
    let t0 = Instant::now();
    let out = lab.lab_ok(&["kill", "worker2"], Duration::from_secs(20))?;
    println!("$ lab.sh kill worker2\n{}", out.both());

    // Until the replacement runs: keep asking the survivors, note when worker2 is Down.
    let survivors = ["manager", "worker1"];
    let (mut ok, mut failed) = (0usize, Vec::new());
    let mut down_at = None;
    let deadline = Duration::from_secs(60);
    let after = loop {
        for n in survivors {
            match lab.curl_from("client", &format!("http://{}/", node_ip(n)), 2) {
                Ok(_) => ok += 1,
                Err(e) => failed.push(format!("{:.1}s {n}: {e:#}", t0.elapsed().as_secs_f64())),
            }
        }
        if down_at.is_none() {
            let h = lab.health()?;
            if !h.ready.get("worker2").copied().unwrap_or(false) {
                down_at = Some(t0.elapsed());
            }
        }
        let now = lab.running_tasks("ha-web")?;
        if now.len() == 3 && now.iter().all(|t| t.node != "worker2") && lab.ps("ha-web")?.len() == 3
        {
            break now;
        }
        ensure!(
            t0.elapsed() < deadline,
            "the replica of worker2 was not recreated within {deadline:?}: {now:?}"
        );
    };
    let recreated = t0.elapsed();
    println!(
        "HA: worker2 not Ready after {}, its replica recreated on a survivor after {:.2} s; \
         during that time {ok} requests to the survivors answered, {} failed {failed:?}",
        down_at
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .unwrap_or_else(|| "(never seen)".into()),
        recreated.as_secs_f64(),
        failed.len()
    );
    lab.show(&["service", "ps", "ha-web"])?;
    lab.show(&["node", "ls"])?;
    ensure!(
        recreated < Duration::from_secs(20),
        "recreation took {recreated:?}, not \"within seconds\""
    );
    let replacement = after
        .iter()
        .find(|t| !before.contains(t))
        .cloned()
        .expect("a new task");
    println!(
        "replacement {} on {} at {}",
        replacement.name, replacement.node, replacement.addr
    );

    // The survivors' mesh drops worker2's backend and takes the replacement; every request answers.
    lab.wait_mesh(&survivors, 80, 80, &after, CONVERGE)?;
    lab.assert_mesh_reaches(&survivors, 80, 12, &after)?;

    // worker2 comes back: Ready, its stale container is removed, its mesh follows, .12 answers.
    drop(_restart);
    let t1 = Instant::now();
    let stale = wait_for(
        "worker2's stale container of the lost replica removed",
        Duration::from_secs(30),
        || {
            let out = lab.lab_ok(
                &[
                    "docker",
                    "worker2",
                    "ps",
                    "-q",
                    "--filter",
                    &format!("label=com.swarmd.task.id={}", lost.task_id),
                ],
                Duration::from_secs(20),
            )?;
            Ok(if out.stdout.trim().is_empty() {
                Ok(())
            } else {
                Err(format!("still running: {}", out.stdout.trim()))
            })
        },
    );
    println!(
        "worker2 back: stale container check after {:.2} s: {stale:?}",
        t1.elapsed().as_secs_f64()
    );
    let still = lab.wait_running("ha-web", 3, CONVERGE)?;
    ensure!(
        still == after,
        "the replicas moved after worker2 came back: {after:?} -> {still:?}"
    );
    lab.wait_mesh(&all_nodes(), 80, 80, &after, CONVERGE)?;
    lab.assert_mesh_reaches(&all_nodes(), 80, 12, &after)?;
    stale?;
    Ok(())
}

/// Scenario 6: scaling 3 -> 6 -> 2 with `service scale`: the task counts follow and the mesh
/// reaches exactly the current replicas from every node.
#[test]
fn lab_6_scale_3_6_2_mesh_follows() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 6: scale 3 -> 6 -> 2");
    lab.create_service("scaled", WHOAMI_3_ON_80)?;
    for n in [3usize, 6, 2] {
        let t0 = Instant::now();
        if n != 3 {
            lab.show(&[
                "service",
                "scale",
                &format!("scaled={n}"),
                "--timeout",
                "60s",
            ])?;
        }
        let tasks = lab.wait_running("scaled", n, CONVERGE)?;
        lab.wait_mesh(&all_nodes(), 80, 80, &tasks, CONVERGE)?;
        println!(
            "scaled to {n}: tasks and every node's mesh converged in {:.2} s",
            t0.elapsed().as_secs_f64()
        );
        lab.show(&["service", "ps", "scaled"])?;
        let per_node = |node: &str| tasks.iter().filter(|t| t.node == node).count();
        let (min, max) = NODES
            .iter()
            .map(|(nd, _)| per_node(nd))
            .fold((usize::MAX, 0), |(a, b), c| (a.min(c), b.max(c)));
        ensure!(
            max - min <= 1,
            "{n} replicas are not spread evenly: {tasks:?}"
        );
        lab.assert_mesh_reaches(&all_nodes(), 80, 2 * n.max(6), &tasks)?;
    }
    Ok(())
}

/// Scenario 7: `node mesh` on each node shows the published ports and their backends (the
/// tasks' IPs), and `network inspect ingress` shows the overlay: subnet, VNI 4096, every node's
/// ingress IP, each checked against the node's kernel.
#[test]
fn lab_7_node_mesh_and_network_inspect_show_the_overlay() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("scenario 7: node mesh and network inspect ingress");
    lab.create_service(
        "viz",
        &[
            "--constraint",
            "node.role==manager",
            "--publish",
            "8080:8080",
            "swarmd/visualizer:latest",
        ],
    )?;
    lab.create_service("web", WHOAMI_3_ON_80)?;
    let viz = lab.wait_running("viz", 1, CONVERGE)?;
    let web = lab.wait_running("web", 3, CONVERGE)?;
    lab.wait_mesh(&all_nodes(), 80, 80, &web, CONVERGE)?;
    lab.wait_mesh(&all_nodes(), 8080, 8080, &viz, CONVERGE)?;
    for (node, _) in NODES {
        let text = lab.show(&["node", "mesh", node])?;
        for t in &web {
            ensure!(
                text.contains(&format!("{}:80 ", t.addr)),
                "`node mesh {node}` does not show backend {}:80",
                t.addr
            );
        }
        ensure!(
            text.contains(":80 ") && text.contains(":8080 "),
            "`node mesh {node}` does not show ports 80 and 8080"
        );
        let m = lab.mesh(node)?;
        for (port, svc, tasks) in [(80u16, "web", &web), (8080, "viz", &viz)] {
            let s = m
                .iter()
                .find(|s| s.published_port == port)
                .with_context(|| format!("{node}: no mesh entry for {port}"))?;
            let want: BTreeSet<String> =
                tasks.iter().map(|t| format!("{}:{port}", t.addr)).collect();
            ensure!(
                s.service == svc && s.protocol.eq_ignore_ascii_case("tcp"),
                "{node}: port {port} entry {s:?}"
            );
            ensure!(
                s.backends == want,
                "{node}: port {port} backends {:?}, tasks {want:?}",
                s.backends
            );
        }
    }

    let text = lab.show(&["network", "inspect", "ingress"])?;
    ensure!(!text.is_empty());
    let net = lab.ingress()?;
    let spec = &net["spec"];
    ensure!(
        spec["subnet"] == INGRESS_SUBNET,
        "ingress subnet {}",
        spec["subnet"]
    );
    ensure!(spec["vni"] == 4096, "ingress VNI {}", spec["vni"]);
    ensure!(spec["ingress"] == true, "ingress flag {}", spec["ingress"]);
    let peers = net["peers"].as_array().cloned().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (node, ip) in NODES {
        let p = peers
            .iter()
            .find(|p| p["hostname"] == node)
            .with_context(|| format!("network inspect ingress: no peer for {node}: {peers:?}"))?;
        let addr = str_field(p, "ingress_addr")?;
        ensure!(
            addr.starts_with(INGRESS_PREFIX),
            "{node}'s ingress IP {addr} is outside {INGRESS_SUBNET}"
        );
        ensure!(
            str_field(p, "underlay_addr")?.starts_with(&format!("{ip}:")),
            "{node}'s underlay {p}"
        );
        ensure!(
            seen.insert(addr.clone()),
            "{node}'s ingress IP {addr} is not unique"
        );
        // The kernel agrees: the node holds that address, and its VXLAN device has VNI 4096.
        let addrs = lab
            .lab_ok(
                &["sh", node, "ip", "-o", "-4", "addr", "show"],
                Duration::from_secs(10),
            )?
            .stdout;
        ensure!(
            addrs.contains(&format!(" {addr}/")),
            "{node} does not hold its ingress IP {addr}:\n{addrs}"
        );
        let links = lab
            .lab_ok(
                &["sh", node, "ip", "-d", "link", "show", "type", "vxlan"],
                Duration::from_secs(10),
            )?
            .stdout;
        ensure!(
            links.contains("vxlan id 4096"),
            "{node} has no VXLAN device with VNI 4096:\n{links}"
        );
    }
    for t in web.iter().chain(&viz) {
        ensure!(
            net["tasks"].as_array().is_some_and(|ts| ts
                .iter()
                .any(|x| x["addr"] == t.addr.as_str() && x["node"] == t.node.as_str())),
            "network inspect ingress does not list task {t:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------

/// Brings a killed node back (`lab.sh restart NODE`, which waits until it is Ready) when
/// dropped, also when the test failed half-way, so the next test finds 3 Ready nodes.
struct RestartOnDrop<'a> {
    lab: &'a Lab,
    node: &'static str,
}

impl Drop for RestartOnDrop<'_> {
    fn drop(&mut self) {
        let t0 = Instant::now();
        match self
            .lab
            .lab(&["restart", self.node], Duration::from_secs(120))
        {
            Ok(out) if out.ok() => println!(
                "$ lab.sh restart {}   ({:.2} s)\n{}",
                self.node,
                t0.elapsed().as_secs_f64(),
                out.both()
            ),
            Ok(out) => eprintln!("lab.sh restart {} failed: {}", self.node, out.both()),
            Err(e) => eprintln!("lab.sh restart {} failed: {e:#}", self.node),
        }
    }
}
