//! (h) Scale, after Docker's swarm2k and swarm3k tests: 3 `swarmd` managers and thousands of
//! [`simnode`](crate::simnode)s, `tasks` replicas across 100 services → all RUNNING, as a
//! curve over agent counts × task counts, each point with a time limit (a point that misses it
//! is reported as such, and the curve of that agent count stops there).
//!
//! Per agent count, one cluster (its managers drained, as in swarm2k, so every task lands on
//! a simulated node): the fleet joins, then each task count is created from zero (100
//! services), timed until every task is RUNNING, and removed again before the next one
//! ([`scale_ops`]). "RUNNING" is counted where it is committed: each node's
//! `UpdateTaskStatus` is acknowledged after the store commits it, so the fleet's acknowledged
//! Running reports reach the task count first; `ListTasks` per service then confirms it. At
//! the largest point a cluster reached (created again if the next point failed), [`scale_faults`]
//! takes a node down and back and kills the leader.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::control::Control;
use crate::fleet::Fleet;
use crate::managers::{Binaries, Managers};
use crate::report::{Report, ScalePoint};
use crate::rss::RssWatch;
use crate::scale_faults;
use crate::scale_ops::{self, connect, relaxed};

pub const SECTION: &str = "h. scale (3 managers + simulated nodes)";
pub const SERVICES: usize = 100;

/// Which points to run, and the limit of each.
#[derive(Debug, Clone)]
pub struct Plan {
    pub agents: Vec<usize>,
    pub tasks: Vec<usize>,
    pub limit: Duration,
}

pub async fn run(report: &mut Report, bins: &Binaries, plan: &Plan) -> Result<()> {
    for &agents in &plan.agents {
        if let Err(e) = one_cluster(report, bins, plan, agents).await {
            report.missing(
                SECTION,
                &format!("{agents} agents"),
                &format!("failed: {e:#}"),
            );
        }
    }
    Ok(())
}

/// One cluster of 3 managers and `agents` simulated nodes, as the points run it.
struct Bed {
    cluster: Managers,
    ctl: Control,
    fleet: Fleet,
    rss: RssWatch,
    agents: usize,
    ready: Duration,
}

/// A fresh cluster with `agents` simulated nodes, through every task count it reaches, then
/// the faults at the largest.
async fn one_cluster(
    report: &mut Report,
    bins: &Binaries,
    plan: &Plan,
    agents: usize,
) -> Result<()> {
    let mut bed = Bed::start(report, bins, plan, agents).await?;
    let mut reached: Option<usize> = None;
    let mut standing: Option<Vec<String>> = None;
    for (i, &tasks) in plan.tasks.iter().enumerate() {
        let names = service_names(&format!("h{tasks}"));
        let ok = bed.point(report, &names, tasks, plan.limit).await;
        standing = Some(names);
        if !ok {
            break;
        }
        reached = Some(tasks);
        if i + 1 == plan.tasks.len() {
            break;
        }
        let names = standing.take().unwrap_or_default();
        match scale_ops::teardown(&mut bed.ctl, &bed.fleet, &names, plan.limit).await {
            Ok(took) => bed.noted_teardown(report, took),
            Err(e) => {
                report.missing(
                    SECTION,
                    &format!("{agents} agents: removal of {tasks} tasks"),
                    &format!("failed: {e:#}"),
                );
                return Ok(());
            }
        }
    }
    let Some(tasks) = reached else {
        report.missing(
            SECTION,
            &format!("{agents} agents: node Down → back, leader kill -9"),
            "not run: no task count reached",
        );
        return Ok(());
    };
    // The faults need the largest point reached standing: after a failed point, remove it
    // and create the reached one again.
    let names = match standing {
        Some(names) if names == service_names(&format!("h{tasks}")) => names,
        failed => {
            let failed = failed.unwrap_or_default();
            let again = service_names(&format!("hf{tasks}"));
            let redo = async {
                scale_ops::teardown(&mut bed.ctl, &bed.fleet, &failed, plan.limit).await?;
                scale_ops::converge(&mut bed.ctl, &bed.fleet, &again, tasks, plan.limit).await
            };
            if let Err(e) = redo.await {
                report.missing(
                    SECTION,
                    &format!("{agents} agents: node Down → back, leader kill -9"),
                    &format!("not run: recreating {tasks} tasks after the failed point: {e:#}"),
                );
                return Ok(());
            }
            again
        }
    };
    bed.faults(report, &names, tasks).await;
    Ok(())
}

fn service_names(prefix: &str) -> Vec<String> {
    (0..SERVICES).map(|s| format!("{prefix}-{s:03}")).collect()
}

impl Bed {
    async fn start(
        report: &mut Report,
        bins: &Binaries,
        plan: &Plan,
        agents: usize,
    ) -> Result<Bed> {
        let b = bins.clone();
        let cluster = tokio::task::spawn_blocking(move || Managers::start(&b, 3)).await?;
        let leader = cluster.leader_seen_by(0).context("no leader")?;
        let mut ctl = connect(&cluster, leader).await?;
        let token = cluster.ctl(leader, &["cluster", "join-token", "worker", "-q"]);
        let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
        anyhow::ensure!(!token.is_empty(), "no worker token");
        // Tasks go to the simulated nodes only: the managers keep their CPU for managing,
        // and what the fleet counts is every task.
        for m in &cluster.managers {
            let out = cluster.ctl(
                leader,
                &["node", "update", "--availability", "drain", &m.name],
            );
            anyhow::ensure!(
                out.status.success(),
                "draining {}: {}",
                m.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let addrs: Vec<String> = cluster
            .managers
            .iter()
            .map(|m| m.addr.to_string())
            .collect();
        let rss = RssWatch::start(cluster.managers.iter().filter_map(|m| m.pid()).collect());
        let start = Instant::now();
        let fleet = tokio::time::timeout(plan.limit, Fleet::join(&addrs, &token, agents, "sim"))
            .await
            .map_err(|_| anyhow::anyhow!("{agents} joins not done in {:?}", plan.limit))??;
        report.add_ms(
            SECTION,
            &format!("{agents} agents: joins (CSR each, 32 in flight)"),
            fleet.join_time,
            "",
        );
        report.note(&format!(
            "{:.0} joins/s through the 3 managers in turn",
            agents as f64 / fleet.join_time.as_secs_f64()
        ));
        let ready = scale_ops::wait_ready(&mut ctl, agents + 3, start, plan.limit).await?;
        report.add_ms(
            SECTION,
            &format!(
                "{agents} agents: first join → all {} nodes Ready",
                agents + 3
            ),
            ready,
            "",
        );
        Ok(Bed {
            cluster,
            ctl,
            fleet,
            rss,
            agents,
            ready,
        })
    }

    /// Creates `tasks` across the services `names` and times them to RUNNING; answers whether
    /// they all got there within `limit`.
    async fn point(
        &mut self,
        report: &mut Report,
        names: &[String],
        tasks: usize,
        limit: Duration,
    ) -> bool {
        let counters = &self.fleet.counters;
        self.rss.take_peaks();
        let (pushes, bytes) = (
            counters.pushes.load(relaxed()),
            counters.pushed_bytes.load(relaxed()),
        );
        let outcome = scale_ops::converge(&mut self.ctl, &self.fleet, names, tasks, limit).await;
        let mut point = ScalePoint {
            agents: self.agents,
            tasks,
            ready_ms: self.ready.as_secs_f64() * 1e3,
            pushes: counters.pushes.load(relaxed()) - pushes,
            pushed_mib: (counters.pushed_bytes.load(relaxed()) - bytes) as f64 / 1048576.0,
            manager_rss_mib: self.rss.take_peaks().into_iter().max().unwrap_or(0) as f64 / 1024.0,
            nodes_down: scale_ops::nodes_marked_down(&mut self.ctl, None)
                .await
                .unwrap_or(0),
            sessions_lost: counters.sessions_lost.load(relaxed()),
            heartbeat_ms: counters.period_ms.load(relaxed()),
            ..Default::default()
        };
        let metric = format!(
            "{} agents × {tasks} tasks (100 services): create → all RUNNING",
            self.agents
        );
        let target = if tasks >= 100_000 { "≤ 60 s" } else { "" };
        match outcome {
            Ok(took) => {
                point.running_ms = Some(took.as_secs_f64() * 1e3);
                report.add_ms(SECTION, &metric, took, target);
            }
            Err(e) => {
                point.note = format!("{e:#}");
                let loss = counters.last_loss.lock().expect("loss lock").clone();
                if !loss.is_empty() {
                    point.note.push_str(&format!("; last session lost: {loss}"));
                }
                report.missing(SECTION, &metric, "not reached");
            }
        }
        report.note(&point.summary());
        let ok = point.running_ms.is_some();
        report.scale.push(point);
        ok
    }

    fn noted_teardown(&self, report: &mut Report, took: Duration) {
        if let Some(p) = report.scale.last_mut() {
            p.teardown_ms = Some(took.as_secs_f64() * 1e3);
        }
        if let Some(row) = report.rows.last_mut() {
            row.note
                .push_str(&format!(", then removed in {:.1} s", took.as_secs_f64()));
        }
    }

    async fn faults(&mut self, report: &mut Report, names: &[String], tasks: usize) {
        let run = scale_faults::Run {
            fleet: &self.fleet,
            names,
            tasks,
            rss: &self.rss,
        };
        if let Err(e) = scale_faults::node_down_and_back(report, &mut self.ctl, &run).await {
            report.missing(SECTION, "node Down → back", &format!("failed: {e:#}"));
        }
        if let Err(e) = scale_faults::leader_kill(report, &mut self.cluster, &run).await {
            report.missing(SECTION, "leader kill -9", &format!("failed: {e:#}"));
        }
    }
}
