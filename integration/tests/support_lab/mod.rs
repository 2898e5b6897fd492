//! Shared support for the lab tests (`integration/tests/lab_*.rs`): drives the three-node lab
//! (`integration/lab/lab.sh`) and `swarmctl` through `std::process::Command`, parses their text
//! and JSON output, and cleans up what a test created.
//!
//! `ensure_lab()` brings the lab up once (or reuses it when `lab.sh status` shows every daemon
//! running and 3 Ready nodes). Without root and without `CI=true` it prints why and the test
//! returns; under `CI=true` a lab that cannot be set up fails the test with the reason.
//! Lab tests must run one at a time: a process-wide lock serialises them under `cargo test`, and
//! the nextest `lab` test group (`.config/nextest.toml`) does it across processes.
#![allow(dead_code)] // every lab_*.rs includes this module and uses a different part of it

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::Value;

/// The lab's nodes and their underlay addresses (lab.sh's table).
pub const NODES: [(&str, &str); 3] = [
    ("manager", "192.168.56.10"),
    ("worker1", "192.168.56.11"),
    ("worker2", "192.168.56.12"),
];
pub const CLIENT_IP: &str = "192.168.56.100";
pub const INGRESS_SUBNET: &str = "10.255.0.0/16";
pub const INGRESS_PREFIX: &str = "10.255.";

pub fn node_ip(node: &str) -> &'static str {
    NODES
        .iter()
        .find(|(n, _)| *n == node)
        .map(|(_, ip)| *ip)
        .expect("a lab node")
}

static SERIAL: Mutex<()> = Mutex::new(());

pub fn lab_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh")
}

pub fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true") | Ok("1") | Ok("TRUE")
    )
}

fn is_root() -> bool {
    // The effective UID is the second field of `Uid:` in /proc/self/status.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

// ------------------------------------------------------------------------------------------
// running commands with a deadline

/// What a finished command left.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }
    /// stdout and stderr, for error messages.
    pub fn both(&self) -> String {
        let mut s = self.stdout.trim_end().to_string();
        if !self.stderr.trim().is_empty() {
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(self.stderr.trim_end());
        }
        s
    }
}

/// Runs `cmd` with stdout/stderr going to temporary files (a daemon that inherits them can then
/// never block us), kills it (by its PID) if it runs longer than `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Out> {
    let mut out_f = tempfile::tempfile().context("temp file for stdout")?;
    let mut err_f = tempfile::tempfile().context("temp file for stderr")?;
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_f.try_clone()?)
        .stderr(err_f.try_clone()?)
        .spawn()
        .with_context(|| format!("spawning {cmd:?}"))?;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if t0.elapsed() >= timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait()?;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let read = |f: &mut std::fs::File| -> Result<String> {
        use std::io::Seek as _;
        f.seek(std::io::SeekFrom::Start(0))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    Ok(Out {
        code: status.code(),
        stdout: read(&mut out_f)?,
        stderr: read(&mut err_f)?,
        timed_out,
        elapsed: t0.elapsed(),
    })
}

// ------------------------------------------------------------------------------------------
// the lab

/// A lab that is up, held exclusively by one test. Dropping it removes the services the test
/// created (and waits until no node's mesh lists them).
pub struct Lab {
    script: PathBuf,
    services: RefCell<Vec<String>>,
    _serial: MutexGuard<'static, ()>,
}

/// The lab for one test, or `None` when the test cannot run here and may skip (not root and not
/// under CI). Panics with the reason when the lab cannot be set up otherwise.
pub fn ensure_lab() -> Option<Lab> {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !is_root() {
        let why = "the lab tests need root (network namespaces, private dockerds)";
        if in_ci() {
            panic!(
                "CI=true: {why}, and this test runs as a non-root user: the lab cannot be set up"
            );
        }
        eprintln!("SKIP: {why}; run as root (CI=true makes this a failure)");
        return None;
    }
    let lab = Lab {
        script: lab_script(),
        services: RefCell::new(Vec::new()),
        _serial: serial,
    };
    if let Err(e) = lab.bring_up() {
        panic!("the lab could not be set up: {e:#}");
    }
    Some(lab)
}

/// Per node: netns present and containerd/dockerd/swarmd running, and the node Ready.
#[derive(Debug, Default)]
pub struct LabHealth {
    pub daemons_up: BTreeMap<String, bool>,
    pub ready: BTreeMap<String, bool>,
}

impl LabHealth {
    pub fn healthy(&self) -> bool {
        NODES.iter().all(|(n, _)| {
            self.daemons_up.get(*n).copied().unwrap_or(false)
                && self.ready.get(*n).copied().unwrap_or(false)
        })
    }
}

impl Lab {
    fn bring_up(&self) -> Result<()> {
        let t0 = Instant::now();
        match self.health() {
            Ok(h) if h.healthy() => {
                eprintln!("lab: reusing the running lab (3 Ready nodes)");
                // A test starts from an empty cluster: services left by the demo, by a user or
                // by a crashed test would hold published ports or skew task counts.
                for v in self.ctl_json_lines(&["service", "ls"])? {
                    let name = str_field(&v, "Name")?;
                    eprintln!("lab: removing the leftover service {name}");
                    self.remove_service(&name)?;
                }
                return Ok(());
            }
            Ok(h) => eprintln!("lab: not up or not healthy ({h:?}): lab.sh up"),
            Err(e) => eprintln!("lab: status failed ({e:#}): lab.sh up"),
        }
        let out = self.lab(&["up"], Duration::from_secs(240))?;
        if !out.ok() {
            bail!(
                "`lab.sh up` failed (exit {:?}{}):\n{}",
                out.code,
                if out.timed_out {
                    ", timed out after 240 s"
                } else {
                    ""
                },
                tail(&out.both(), 40)
            );
        }
        let h = self.health()?;
        if !h.healthy() {
            bail!(
                "`lab.sh up` succeeded but the lab is not healthy: {h:?}\n{}",
                tail(&out.both(), 20)
            );
        }
        eprintln!("lab: up in {:.1} s", t0.elapsed().as_secs_f64());
        Ok(())
    }

    /// Parses `lab.sh status`: the daemon table, then `swarmctl node ls`.
    pub fn health(&self) -> Result<LabHealth> {
        let out = self.lab(&["status"], Duration::from_secs(30))?;
        if !out.ok() {
            bail!("lab.sh status failed: {}", out.both());
        }
        let mut h = LabHealth::default();
        for line in out.stdout.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let Some(first) = f.first() else { continue };
            let Some((node, ip)) = NODES.iter().find(|(n, _)| n == first) else {
                continue;
            };
            if f.get(1) == Some(ip) {
                // NODE ADDRESS NETNS containerd dockerd swarmd ("pid N" or "down")
                h.daemons_up.insert(
                    node.to_string(),
                    f.get(2) == Some(&"yes") && !line.contains("down"),
                );
            }
        }
        for line in out.stdout.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            // ID [*] HOSTNAME STATUS ...
            for (node, _) in NODES {
                if f.iter().position(|w| *w == node).is_some_and(|i| {
                    // "Ready (no engine)": up, but its engine cannot run tasks yet.
                    f.get(i + 1) == Some(&"Ready") && f.get(i + 2) != Some(&"(no")
                }) {
                    h.ready.insert(node.to_string(), true);
                }
            }
        }
        Ok(h)
    }

    /// `lab.sh ARGS…`.
    pub fn lab(&self, args: &[&str], timeout: Duration) -> Result<Out> {
        run(Command::new(&self.script).args(args), timeout)
    }

    /// `lab.sh ARGS…`, failing on a non-zero exit.
    pub fn lab_ok(&self, args: &[&str], timeout: Duration) -> Result<Out> {
        let out = self.lab(args, timeout)?;
        if !out.ok() {
            bail!(
                "`lab.sh {}` failed (exit {:?}{}): {}",
                args.join(" "),
                out.code,
                if out.timed_out { ", timed out" } else { "" },
                out.both()
            );
        }
        Ok(out)
    }

    /// `swarmctl ARGS…` against the manager; its stdout, or an error with everything it said.
    pub fn ctl(&self, args: &[&str]) -> Result<String> {
        let mut full = vec!["ctl", "manager"];
        full.extend_from_slice(args);
        Ok(self.lab_ok(&full, Duration::from_secs(90))?.stdout)
    }

    /// The real docker CLI against the manager's swarmd (its Engine API socket), whatever the
    /// exit; printed like a user would see it.
    pub fn docker(&self, args: &[&str]) -> Result<Out> {
        let mut full = vec!["dockerapi", "manager"];
        full.extend_from_slice(args);
        let out = self.lab(&full, Duration::from_secs(120))?;
        println!("$ docker {}\n{}", args.join(" "), out.both().trim_end());
        Ok(out)
    }

    /// `docker ARGS…` that must succeed; its stdout.
    pub fn docker_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.docker(args)?;
        ensure!(
            out.ok(),
            "`docker {}` failed (exit {:?}): {}",
            args.join(" "),
            out.code,
            out.both()
        );
        Ok(out.stdout)
    }

    /// `swarmctl ARGS…`, printed like a user would see it (for the test log).
    pub fn show(&self, args: &[&str]) -> Result<String> {
        let out = self.ctl(args)?;
        println!("$ swarmctl {}\n{}", args.join(" "), out.trim_end());
        Ok(out)
    }

    /// `swarmctl ARGS… --format json` whose output is one JSON document per line.
    pub fn ctl_json_lines(&self, args: &[&str]) -> Result<Vec<Value>> {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--format", "json"]);
        let out = self.ctl(&full)?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .with_context(|| format!("swarmctl {}: not JSON: {l}", args.join(" ")))
            })
            .collect()
    }

    // -- services ---------------------------------------------------------------------------

    /// `service create --name NAME ARGS…` (after removing a leftover of the same name from a
    /// crashed run); the service is removed when the Lab is dropped. Returns its output.
    pub fn create_service(&self, name: &str, args: &[&str]) -> Result<String> {
        if self.ctl(&["service", "inspect", name]).is_ok() {
            eprintln!("lab: removing a leftover service {name}");
            self.remove_service(name)?;
        }
        self.services.borrow_mut().push(name.to_string());
        let mut full = vec!["service", "create", "--name", name, "--timeout", "60s"];
        full.extend_from_slice(args);
        let t0 = Instant::now();
        let out = self.show(&full)?;
        println!(
            "(service create {name}: {:.2} s)",
            t0.elapsed().as_secs_f64()
        );
        Ok(out)
    }

    /// The one container of a task, on its node.
    pub fn container_of(&self, t: &Replica) -> Result<String> {
        let filter = format!("label=com.swarmd.task.id={}", t.task_id);
        let out = self.lab_ok(
            &["docker", &t.node, "ps", "-q", "--filter", &filter],
            Duration::from_secs(20),
        )?;
        let ids: Vec<&str> = out.stdout.split_whitespace().collect();
        ensure!(
            ids.len() == 1,
            "task {} on {}: {} containers ({ids:?})",
            t.name,
            t.node,
            ids.len()
        );
        Ok(ids[0].to_string())
    }

    /// `docker exec` in the task's container on its node: the outcome, whatever it is.
    pub fn exec_in(&self, t: &Replica, args: &[&str]) -> Result<Out> {
        let container = self.container_of(t)?;
        let mut full = vec!["docker", t.node.as_str(), "exec", container.as_str()];
        full.extend_from_slice(args);
        self.lab(&full, Duration::from_secs(20))
    }

    /// [`Lab::exec_in`] that must succeed: its stdout.
    pub fn exec_ok(&self, t: &Replica, args: &[&str]) -> Result<String> {
        let out = self.exec_in(t, args)?;
        ensure!(
            out.ok(),
            "`{}` in {}: {}",
            args.join(" "),
            t.name,
            out.both()
        );
        Ok(out.stdout)
    }

    /// `service rm NAME`, then waits until no running task of it is left and no node's mesh
    /// lists it.
    pub fn remove_service(&self, name: &str) -> Result<()> {
        self.ctl(&["service", "rm", name])?;
        self.services.borrow_mut().retain(|s| s != name);
        wait_for(
            &format!("service {name} gone from the network and every mesh"),
            Duration::from_secs(30),
            || {
                let tasks: Vec<_> = self
                    .task_addrs()?
                    .into_iter()
                    .filter(|t| t.service() == name)
                    .collect();
                if !tasks.is_empty() {
                    return Ok(Err(format!("tasks still on a network: {tasks:?}")));
                }
                for (node, _) in NODES {
                    if self.health_of(node) && self.mesh(node)?.iter().any(|m| m.service == name) {
                        return Ok(Err(format!("{node}'s mesh still lists {name}")));
                    }
                }
                Ok(Ok(()))
            },
        )
    }

    fn health_of(&self, node: &str) -> bool {
        self.health()
            .map(|h| h.daemons_up.get(node).copied().unwrap_or(false))
            .unwrap_or(false)
    }

    /// The service's tasks whose desired state is running, from `service ps --format json`.
    pub fn ps(&self, service: &str) -> Result<Vec<PsTask>> {
        self.ps_filtered(&[
            "service",
            "ps",
            "--no-trunc",
            service,
            "--filter",
            "desired-state=running",
        ])
    }

    /// Every task of the service, history included.
    pub fn ps_all(&self, service: &str) -> Result<Vec<PsTask>> {
        self.ps_filtered(&["service", "ps", "--no-trunc", service])
    }

    /// Registers a service created some other way than `create_service`, for cleanup.
    pub fn remember_service(&self, name: &str) {
        self.services.borrow_mut().push(name.to_string());
    }

    fn ps_filtered(&self, args: &[&str]) -> Result<Vec<PsTask>> {
        self.ctl_json_lines(args)?
            .into_iter()
            .map(|v| {
                Ok(PsTask {
                    id: str_field(&v, "ID")?,
                    name: str_field(&v, "Name")?,
                    node: str_field(&v, "Node")?,
                    current_state: str_field(&v, "CurrentState")?,
                    error: str_field(&v, "Error").unwrap_or_default(),
                })
            })
            .collect()
    }

    /// `network inspect ingress`.
    pub fn ingress(&self) -> Result<Value> {
        let out = self.ctl(&["network", "inspect", "ingress"])?;
        let v: Value = serde_json::from_str(&out).context("network inspect ingress: not JSON")?;
        v.get(0)
            .cloned()
            .ok_or_else(|| anyhow!("network inspect ingress: empty list"))
    }

    pub fn ingress_tasks(&self) -> Result<Vec<IngressTask>> {
        let net = self.ingress()?;
        let tasks = net
            .get("tasks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        tasks
            .iter()
            .map(|t| {
                Ok(IngressTask {
                    task_id: str_field(t, "task_id")?,
                    name: str_field(t, "name")?,
                    node: str_field(t, "node")?,
                    addr: str_field(t, "addr")?,
                    state: str_field(t, "state")?,
                })
            })
            .collect()
    }

    /// Every task's address on every network, ingress first: `network inspect` of them all.
    pub fn task_addrs(&self) -> Result<Vec<IngressTask>> {
        let ids = self.ctl(&["network", "ls", "-q"])?;
        let mut args = vec!["network", "inspect"];
        args.extend(ids.split_whitespace());
        let out = self.ctl(&args)?;
        let nets: Value = serde_json::from_str(&out).context("network inspect: not JSON")?;
        let mut nets: Vec<&Value> = nets.as_array().into_iter().flatten().collect();
        nets.sort_by_key(|n| n["spec"]["ingress"] != true);
        let mut all = Vec::new();
        for net in nets {
            for t in net
                .get("tasks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                all.push(IngressTask {
                    task_id: str_field(t, "task_id")?,
                    name: str_field(t, "name")?,
                    node: str_field(t, "node")?,
                    addr: str_field(t, "addr")?,
                    state: str_field(t, "state")?,
                });
            }
        }
        Ok(all)
    }

    /// The service's tasks that are desired running AND running, with their overlay address:
    /// on ingress when the service publishes there, else on its first network.
    pub fn running_tasks(&self, service: &str) -> Result<Vec<Replica>> {
        let ps = self.ps(service)?;
        let net = self.task_addrs()?;
        let mut out = Vec::new();
        for t in ps.iter().filter(|t| t.current_state.starts_with("Running")) {
            // A task on no network (it publishes nothing) has only its node's gateway bridge.
            let (task_id, addr) = match net.iter().find(|n| n.task_id.starts_with(&t.id)) {
                Some(n) => (n.task_id.clone(), n.addr.clone()),
                None => (t.id.clone(), String::new()),
            };
            out.push(Replica {
                task_id,
                name: t.name.clone(),
                node: t.node.clone(),
                addr,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Waits until exactly `n` tasks of `service` are running (and no desired-running task is in
    /// another state); returns them.
    pub fn wait_running(&self, service: &str, n: usize, timeout: Duration) -> Result<Vec<Replica>> {
        wait_for(&format!("{n} running tasks of {service}"), timeout, || {
            let ps = self.ps(service)?;
            let running = ps
                .iter()
                .filter(|t| t.current_state.starts_with("Running"))
                .count();
            if running != n || ps.len() != n {
                return Ok(Err(format!(
                    "{running} running of {} desired-running: {ps:?}",
                    ps.len()
                )));
            }
            Ok(Ok(self.running_tasks(service)?))
        })
    }

    // -- the routing mesh -------------------------------------------------------------------

    /// `node mesh NODE --format json`: the node's kernel mesh table.
    pub fn mesh(&self, node: &str) -> Result<Vec<MeshService>> {
        let v = self.ctl_json_lines(&["node", "mesh", node])?;
        let doc = v
            .first()
            .ok_or_else(|| anyhow!("node mesh {node}: no output"))?;
        let services = doc
            .get("Services")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        services
            .iter()
            .map(|s| {
                let backends = s
                    .get("Backends")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|b| str_field(b, "Addr"))
                    .collect::<Result<BTreeSet<_>>>()?;
                Ok(MeshService {
                    service: str_field(s, "Service").unwrap_or_default(),
                    protocol: str_field(s, "Protocol").unwrap_or_default(),
                    published_port: s.get("PublishedPort").and_then(Value::as_u64).unwrap_or(0)
                        as u16,
                    backends,
                })
            })
            .collect()
    }

    /// Waits until every node in `nodes` has exactly `replicas`' addresses (on `target` port) as
    /// the backends of published port `port`.
    pub fn wait_mesh(
        &self,
        nodes: &[&str],
        port: u16,
        target: u16,
        replicas: &[Replica],
        timeout: Duration,
    ) -> Result<()> {
        let want: BTreeSet<String> = replicas
            .iter()
            .map(|r| format!("{}:{target}", r.addr))
            .collect();
        wait_for(
            &format!("mesh port {port} -> {want:?} on {nodes:?}"),
            timeout,
            || {
                for node in nodes {
                    let m = self.mesh(node)?;
                    let got: BTreeSet<String> = m
                        .iter()
                        .filter(|s| s.published_port == port)
                        .flat_map(|s| s.backends.iter().cloned())
                        .collect();
                    if got != want {
                        return Ok(Err(format!("{node}: port {port} backends {got:?}")));
                    }
                }
                Ok(Ok(()))
            },
        )
    }

    // -- traffic ----------------------------------------------------------------------------

    /// One HTTP GET from the client namespace (`lab.sh curl client URL --max-time SECS`).
    pub fn curl_from(&self, from: &str, url: &str, max_time: u32) -> Result<String> {
        let mt = max_time.to_string();
        let out = self.lab(
            &["curl", from, url, "--max-time", &mt],
            Duration::from_secs(max_time as u64 + 10),
        )?;
        if !out.ok() {
            bail!(
                "curl {url} from {from}: exit {:?}: {}",
                out.code,
                out.stderr.trim()
            );
        }
        Ok(out.stdout)
    }

    pub fn curl(&self, url: &str) -> Result<String> {
        self.curl_from("client", url, 5)
    }

    /// `n` requests from the client to `ip:port`; every one must answer. The whoami answers.
    pub fn whoami_hits(&self, ip: &str, port: u16, n: usize) -> Result<Vec<Whoami>> {
        let url = format!("http://{ip}:{port}/");
        (0..n)
            .map(|i| {
                let body = self
                    .curl(&url)
                    .with_context(|| format!("request {}/{n}", i + 1))?;
                Whoami::parse(&body)
                    .with_context(|| format!("{url}: not a whoami answer: {body:?}"))
            })
            .collect()
    }

    /// `n` requests from the client to each node's IP on `port`: every request answers and the
    /// answers come from exactly `replicas` (by overlay IP, and distinct hostnames). Prints a
    /// per-node distribution.
    pub fn assert_mesh_reaches(
        &self,
        nodes: &[&str],
        port: u16,
        n: usize,
        replicas: &[Replica],
    ) -> Result<()> {
        let want: BTreeSet<&str> = replicas.iter().map(|r| r.addr.as_str()).collect();
        for node in nodes {
            let ip = node_ip(node);
            let hits = match self.whoami_hits(ip, port, n) {
                Ok(h) => h,
                Err(e) => {
                    return Err(e.context(format!(
                        "overlay diagnostics: {}",
                        self.overlay_diagnostics()
                    )))
                }
            };
            let mut by_ip: BTreeMap<String, (String, usize)> = BTreeMap::new();
            for h in &hits {
                by_ip
                    .entry(h.overlay_ip.clone())
                    .or_insert((h.hostname.clone(), 0))
                    .1 += 1;
            }
            let dist: Vec<String> = by_ip
                .iter()
                .map(|(ip, (h, c))| format!("{h}@{ip} x{c}"))
                .collect();
            println!("  {n} requests to {ip}:{port} -> {}", dist.join(", "));
            let got: BTreeSet<&str> = by_ip.keys().map(String::as_str).collect();
            if got != want {
                bail!(
                    "requests to {ip}:{port} reached {got:?}, expected exactly the replicas {want:?} ({replicas:?})"
                );
            }
            let hostnames: BTreeSet<&str> = by_ip.values().map(|(h, _)| h.as_str()).collect();
            if hostnames.len() != replicas.len() {
                bail!(
                    "requests to {ip}:{port}: {} distinct hostnames for {} replicas: {dist:?}",
                    hostnames.len(),
                    replicas.len()
                );
            }
        }
        Ok(())
    }
}

impl Lab {
    /// What the kernels say about the overlay, for failure messages: per node, the bridge's
    /// *learned* (dynamic) FDB entries on the VXLAN port for MACs of tasks that run on that very
    /// node — frames from other nodes to such a task arrive on the VXLAN port, are forwarded back
    /// to it, and never reach the task.
    pub fn overlay_diagnostics(&self) -> String {
        let tasks = match self.ingress_tasks() {
            Ok(t) => t,
            Err(e) => return format!("(network inspect failed: {e:#})"),
        };
        let mut report = Vec::new();
        for (node, _) in NODES {
            let Ok(out) = self.lab(
                &["sh", node, "bridge", "fdb", "show", "br", "swarm-ingress"],
                Duration::from_secs(10),
            ) else {
                continue;
            };
            for t in tasks
                .iter()
                .filter(|t| t.node == node && t.state == "Running")
            {
                let mac = task_mac(&t.addr);
                for line in out.stdout.lines() {
                    let learned = line.starts_with(&mac)
                        && line.contains("vx")
                        && !line.contains("permanent")
                        && !line.contains("static")
                        && !line.contains(" self");
                    if learned {
                        report.push(format!(
                            "{node}: task {} ({}, local) has a stale learned bridge FDB entry `{}`",
                            t.name,
                            t.addr,
                            line.trim()
                        ));
                    }
                }
            }
        }
        if report.is_empty() {
            "no stale learned FDB entry for a local task".into()
        } else {
            report.join("; ")
        }
    }
}

/// The MAC swarmd derives from a task's overlay IP: 02:42 + the four octets.
pub fn task_mac(ip: &str) -> String {
    let mut mac = String::from("02:42");
    for o in ip.split('.') {
        let _ = write!(mac, ":{:02x}", o.parse::<u8>().unwrap_or(0));
    }
    mac
}

impl Drop for Lab {
    fn drop(&mut self) {
        let names = self.services.borrow().clone();
        for name in names.iter().rev() {
            if let Err(e) = self.remove_service(name) {
                eprintln!("lab: cleanup of service {name} failed: {e:#}");
                if !thread::panicking() {
                    panic!("cleanup of service {name} failed: {e:#}");
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// parsed output

#[derive(Debug, Clone)]
pub struct PsTask {
    pub id: String,
    pub name: String,
    pub node: String,
    pub current_state: String,
    pub error: String,
}

#[derive(Debug, Clone)]
pub struct IngressTask {
    pub task_id: String,
    pub name: String,
    pub node: String,
    pub addr: String,
    pub state: String,
}

impl IngressTask {
    /// "web.3" -> "web".
    pub fn service(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(&self.name)
    }
}

/// A running task with its overlay address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub task_id: String,
    pub name: String,
    pub node: String,
    pub addr: String,
}

#[derive(Debug, Clone)]
pub struct MeshService {
    pub service: String,
    pub protocol: String,
    pub published_port: u16,
    pub backends: BTreeSet<String>,
}

/// A `swarmd/whoami` answer.
#[derive(Debug, Clone)]
pub struct Whoami {
    pub hostname: String,
    /// Its ingress address, or for a task not on ingress its first user-network one.
    pub overlay_ip: String,
    /// Every address it listed.
    pub ips: Vec<String>,
    pub remote: String,
}

impl Whoami {
    pub fn parse(body: &str) -> Result<Whoami> {
        let mut hostname = None;
        let mut ips = Vec::new();
        let mut remote = String::new();
        for line in body.lines() {
            if let Some(h) = line.strip_prefix("Hostname: ") {
                hostname = Some(h.trim().to_string());
            } else if let Some(ip) = line.strip_prefix("IP: ") {
                ips.push(ip.trim().to_string());
            } else if let Some(r) = line.strip_prefix("RemoteAddr: ") {
                remote = r.trim().to_string();
            }
        }
        let overlay_ip = ips
            .iter()
            .find(|ip| ip.starts_with(INGRESS_PREFIX))
            .or_else(|| ips.iter().find(|ip| ip.starts_with("10.")))
            .cloned();
        Ok(Whoami {
            hostname: hostname.ok_or_else(|| anyhow!("no Hostname line"))?,
            overlay_ip: overlay_ip
                .ok_or_else(|| anyhow!("no IP line in {INGRESS_SUBNET} or a user network"))?,
            ips,
            remote,
        })
    }
}

pub fn str_field(v: &Value, key: &str) -> Result<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("no string field {key:?} in {v}"))
}

// ------------------------------------------------------------------------------------------
// waiting

/// Polls `f` every 200 ms until it returns `Ok(Ok(value))`; `Ok(Err(state))` means "not yet"
/// (the last state is in the timeout error), `Err` aborts at once.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Result<std::result::Result<T, String>>,
) -> Result<T> {
    let t0 = Instant::now();
    loop {
        let last = match f() {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(state)) => state,
            Err(e) => format!("error: {e:#}"),
        };
        if t0.elapsed() >= timeout {
            bail!(
                "timed out after {:.1} s waiting for {what}; last: {last}",
                timeout.as_secs_f64()
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = String::new();
    for l in &lines[start..] {
        let _ = writeln!(out, "{l}");
    }
    out
}

/// Prints how long a scenario took (the figures the report quotes).
pub struct Timer {
    name: &'static str,
    t0: Instant,
}

impl Timer {
    pub fn start(name: &'static str) -> Timer {
        println!("=== {name}");
        Timer {
            name,
            t0: Instant::now(),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        println!(
            "=== {}: {:.2} s{}",
            self.name,
            self.t0.elapsed().as_secs_f64(),
            if thread::panicking() { " (failed)" } else { "" }
        );
    }
}
