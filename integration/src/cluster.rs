//! A test cluster: N managers and M workers as `swarmd` processes on 127.0.0.1, each with its
//! own state dir under one temporary directory. Dropping it kills every node by PID and
//! removes the directory; when the test is panicking it first prints the tail of every log.

use std::net::SocketAddr;
use std::time::Duration;

use tempfile::TempDir;

use crate::ctl::CtlOutput;
use crate::listing::{parse_rows, NodeRow, ServiceRow, TaskRow};
use crate::node::NodeProcess;
use crate::wait::wait_until;

/// How long a node may take to start, join and show as Ready.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines of each node's log printed when a test fails.
const LOG_TAIL: usize = 40;

/// Knobs for the first manager (they become the cluster's settings).
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// `--snapshot-interval` of the first manager.
    pub snapshot_interval: Option<u64>,
    /// Every node serves `GET /metrics` (`--metrics-addr`, a free port each; see
    /// [`NodeProcess::scrape_metrics`]).
    pub metrics: bool,
}

/// A running cluster. `nodes[0]` is `m1`, the manager that created it.
pub struct Cluster {
    pub nodes: Vec<NodeProcess>,
    worker_token: String,
    manager_token: String,
    /// Nodes started later serve metrics too.
    metrics: bool,
    // Declared last: dropped after the nodes, so they are dead before their dirs go.
    root: TempDir,
}

impl Cluster {
    /// `managers` managers (`m1`..) and `workers` workers (`w1`..), all Ready.
    pub fn start(managers: usize, workers: usize) -> Cluster {
        Cluster::start_with(managers, workers, ClusterOptions::default())
    }

    /// Starts `m1`, then every other node at once (they join in parallel), and waits until
    /// `node ls` shows them all Ready with managers reachable.
    pub fn start_with(managers: usize, workers: usize, options: ClusterOptions) -> Cluster {
        let mut args = Vec::new();
        if let Some(n) = options.snapshot_interval {
            args.extend(["--snapshot-interval".to_string(), n.to_string()]);
        }
        Cluster::launch(managers, workers, &args, options.metrics)
    }

    /// [`Cluster::start_with`] with `first_flags` given to the first manager as they are
    /// (cluster settings such as `--cert-validity 20s`).
    pub fn start_with_flags(managers: usize, workers: usize, first_flags: &[String]) -> Cluster {
        Cluster::launch(managers, workers, first_flags, false)
    }

    fn launch(managers: usize, workers: usize, first_flags: &[String], metrics: bool) -> Cluster {
        assert!(managers >= 1, "a cluster needs a manager");
        let root = tempfile::Builder::new()
            .prefix("swarmd-it")
            .tempdir()
            .expect("a temporary directory");
        let (mut args, metrics_addr) = metrics_flag(metrics);
        args.extend_from_slice(first_flags);
        let mut first = NodeProcess::spawn(root.path(), "m1", true, &args, &[]);
        first.metrics_addr = metrics_addr;
        let mut cluster = Cluster {
            nodes: vec![first],
            worker_token: String::new(),
            manager_token: String::new(),
            metrics,
            root,
        };
        cluster.worker_token = cluster.join_token("worker");
        cluster.manager_token = cluster.join_token("manager");
        for i in 2..=managers {
            cluster.spawn_node(&format!("m{i}"), true, &[]);
        }
        for i in 1..=workers {
            cluster.spawn_node(&format!("w{i}"), false, &[]);
        }
        let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
        cluster.wait_joined(&names);
        cluster
    }

    /// The join token of `role`, read through `m1` as soon as its socket answers.
    fn join_token(&self, role: &str) -> String {
        wait_until("m1 to serve its control socket", JOIN_TIMEOUT, || {
            let out = self.nodes[0].ctl(&["cluster", "join-token", role, "-q"]);
            if out.success() && out.text().starts_with("SWMTKN-1-") {
                Ok(out.text().to_string())
            } else {
                Err(out.to_string())
            }
        })
    }

    /// Starts a new node joining through `m1`'s address (without waiting for it); returns its
    /// index. `env` is passed to its `swarmd` (e.g. `RUST_LOG`).
    pub fn spawn_node(&mut self, name: &str, manager: bool, env: &[(&str, &str)]) -> usize {
        let token = if manager {
            &self.manager_token
        } else {
            &self.worker_token
        };
        let (mut args, metrics_addr) = metrics_flag(self.metrics);
        args.extend([
            "--join-addr".to_string(),
            self.nodes[0].addr.to_string(),
            "--join-token".to_string(),
            token.clone(),
        ]);
        let mut node = NodeProcess::spawn(self.root.path(), name, manager, &args, env);
        node.metrics_addr = metrics_addr;
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Waits until every node in `names` is Ready in `node ls`, managers with a manager status
    /// of Leader or Reachable.
    pub fn wait_joined(&self, names: &[String]) {
        wait_until("every node to join and be Ready", JOIN_TIMEOUT, || {
            let rows = self.try_node_ls()?;
            for name in names {
                let node = &self.nodes[self.index(name)];
                let ok = rows.iter().any(|r| {
                    r.hostname == *name
                        && r.status == "Ready"
                        && (!node.manager
                            || r.manager_status == "Leader"
                            || r.manager_status == "Reachable")
                });
                if !ok {
                    return Err(format!("{name} not ready in {rows:?}"));
                }
            }
            Ok(())
        })
    }

    /// The index of the node called `name`.
    pub fn index(&self, name: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// The temporary directory holding every node's state dir and log.
    pub fn root(&self) -> &std::path::Path {
        self.root.path()
    }

    /// A manager whose process is alive, to ask: the first in order.
    pub fn any_manager(&mut self) -> usize {
        (0..self.nodes.len())
            .find(|&i| self.nodes[i].manager && self.nodes[i].is_running())
            .expect("no manager is running")
    }

    /// `swarmctl ARGS` through the first live manager.
    pub fn ctl(&mut self, args: &[&str]) -> CtlOutput {
        let via = self.any_manager();
        self.nodes[via].ctl(args)
    }

    /// `service create -d --name NAME ARGS…`, which must succeed.
    pub fn create_service(&mut self, name: &str, args: &[&str]) {
        let mut full = vec!["service", "create", "-d", "--name", name];
        full.extend_from_slice(args);
        self.ctl(&full).expect_ok();
    }

    /// `node ls` through the first live manager.
    pub fn try_node_ls(&self) -> Result<Vec<NodeRow>, String> {
        let via = self
            .nodes
            .iter()
            .position(|n| n.manager && n.pid().is_some())
            .ok_or("no manager running")?;
        self.node_ls_via(via)
    }

    /// `node ls` through node `via`.
    pub fn node_ls_via(&self, via: usize) -> Result<Vec<NodeRow>, String> {
        let out = self.nodes[via].ctl(&["node", "ls", "--format", "json"]);
        if !out.success() {
            return Err(out.to_string());
        }
        parse_rows(&out.stdout)
    }

    /// `service ls` through node `via`.
    pub fn service_ls_via(&self, via: usize) -> Result<Vec<ServiceRow>, String> {
        let out = self.nodes[via].ctl(&["service", "ls", "--format", "json"]);
        if !out.success() {
            return Err(out.to_string());
        }
        parse_rows(&out.stdout)
    }

    /// Every task of `service` (with history) through the first live manager.
    pub fn service_ps(&self, service: &str) -> Result<Vec<TaskRow>, String> {
        let via = self
            .nodes
            .iter()
            .position(|n| n.manager && n.pid().is_some())
            .ok_or("no manager running")?;
        let out =
            self.nodes[via].ctl(&["service", "ps", service, "--no-trunc", "--format", "json"]);
        if !out.success() {
            return Err(out.to_string());
        }
        parse_rows(&out.stdout)
    }

    /// The tasks of `service` that are running (desired and actual), once exactly `n` run.
    pub fn wait_running(&self, service: &str, n: usize, timeout: Duration) -> Vec<TaskRow> {
        wait_until(&format!("{n} running tasks of {service}"), timeout, || {
            let running: Vec<TaskRow> = self
                .service_ps(service)?
                .into_iter()
                .filter(TaskRow::is_running)
                .collect();
            if running.len() == n {
                Ok(running)
            } else {
                Err(format!("{} running: {running:?}", running.len()))
            }
        })
    }

    /// The index of the node `node ls` (through a live manager) names Leader.
    pub fn leader(&self) -> Result<usize, String> {
        let rows = self.try_node_ls()?;
        let leader = rows
            .iter()
            .find(|r| r.manager_status == "Leader")
            .ok_or_else(|| format!("no leader in {rows:?}"))?;
        Ok(self.index(&leader.hostname))
    }

    /// Waits for a leader among the live managers and returns its index.
    pub fn wait_leader(&mut self, timeout: Duration) -> usize {
        wait_until("a live leader", timeout, || {
            let i = self.leader()?;
            if self.nodes[i].pid().is_some() {
                Ok(i)
            } else {
                Err(format!(
                    "{} is named leader but is dead",
                    self.nodes[i].name
                ))
            }
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for node in &self.nodes {
                eprintln!(
                    "===== {} (pid {:?}, {}) last {LOG_TAIL} log lines =====\n{}",
                    node.name,
                    node.pid(),
                    node.addr,
                    node.log_tail(LOG_TAIL)
                );
            }
        }
        for node in &mut self.nodes {
            node.kill9();
        }
    }
}

/// `--metrics-addr` on a free port, when the cluster serves metrics.
fn metrics_flag(on: bool) -> (Vec<String>, Option<SocketAddr>) {
    if !on {
        return (Vec::new(), None);
    }
    let addr = crate::ports::free_addr();
    (
        vec!["--metrics-addr".to_string(), addr.to_string()],
        Some(addr),
    )
}
