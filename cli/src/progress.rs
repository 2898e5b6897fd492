//! Waiting for a service to converge after create/update/scale/rollback, showing per-task
//! progress like docker: "overall progress: 2 out of 3 tasks", one bar per slot (or node), then
//! "verify: Service converged". On a terminal the block is redrawn in place; otherwise each
//! line is printed when it changes, with no escape codes, so scripts and tests can read it.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use api::control as pc;
use clap::Args;
use types::constraint::Constraint;
use types::{Node, NodeState, Service, ServiceMode, Task, TaskState, UpdateState};

use crate::client::Control;
use crate::fetch;
use crate::output::short_id;
use crate::parse::{self, format_duration_ms};

/// How a write waits for the service to converge.
#[derive(Debug, Clone, Args)]
pub struct WaitFlags {
    /// Exit immediately instead of waiting for the service to converge
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Suppress progress output
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Give up waiting for convergence after this long (0 = wait forever)
    #[arg(long, value_name = "DURATION", value_parser = parse::duration_ms, default_value = "0")]
    pub timeout: u64,
}

const POLL: Duration = Duration::from_millis(500);
const BAR_WIDTH: usize = 50;

/// One observation of a service's rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub overall: String,
    pub lines: Vec<String>,
    pub converged: bool,
    /// The rollout stopped and will not converge by itself.
    pub failure: Option<String>,
}

/// Docker's steps from creation to running; the bar shows how far a task got.
fn step(state: TaskState) -> usize {
    match state {
        TaskState::New => 1,
        TaskState::Pending => 3,
        TaskState::Assigned => 4,
        TaskState::Accepted => 5,
        TaskState::Preparing => 6,
        TaskState::Ready => 7,
        TaskState::Starting => 8,
        _ => 9,
    }
}

pub fn bar(state: TaskState) -> String {
    let filled = BAR_WIDTH * step(state) / 9;
    format!(
        "[{}>{}]",
        "=".repeat(filled),
        " ".repeat(BAR_WIDTH - filled)
    )
}

/// What a slot's line says: its task's error while it cannot run, else its state and bar.
fn task_line(label: &str, task: Option<&Task>) -> String {
    let Some(t) = task else {
        return format!("{label}: {:<9} {}", "new", bar(TaskState::New));
    };
    if !t.status.err.is_empty() && t.status.state != TaskState::Running {
        return format!("{label}: {}", t.status.err);
    }
    let state = t.status.state.as_str().to_lowercase();
    format!("{label}: {state:<9} {}", bar(t.status.state))
}

/// The task that stands for a slot: the newest one meant to run, else the newest.
fn newest<'a>(tasks: impl Iterator<Item = &'a Task>) -> Option<&'a Task> {
    let tasks: Vec<&Task> = tasks.collect();
    let latest = |ts: Vec<&'a Task>| {
        ts.into_iter()
            .max_by_key(|t| (t.meta.created_at_ms, t.id.clone()))
    };
    latest(
        tasks
            .iter()
            .copied()
            .filter(|t| t.desired_state == TaskState::Running)
            .collect(),
    )
    .or_else(|| latest(tasks))
}

fn is_current_running(t: &Task, service: &Service) -> bool {
    t.desired_state == TaskState::Running
        && t.status.state == TaskState::Running
        && t.spec_version >= service.spec_version
}

/// A node the global service is to run on now: open for new tasks (Ready and Active, as the
/// scheduler requires) and admitted by the service's constraints, matched as the orchestrator
/// and scheduler match them.
fn runs_global_task(service: &Service, node: &Node) -> bool {
    node.takes_new_tasks()
        && Constraint::exprs_admit(&service.spec.task.placement.constraints, node)
}

/// `nodes` must hold every node of the cluster: a global service converges when every node
/// it is to run on runs it, including nodes that have no task yet, and a task last seen running
/// on a node that is down is no longer counted as still running.
pub fn snapshot(service: &Service, tasks: &[Task], nodes: &BTreeMap<String, Node>) -> Snapshot {
    let tasks: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.service_id == service.id)
        .collect();
    let mut lines = Vec::new();
    let (running, desired) = match service.spec.mode {
        ServiceMode::Replicated { replicas } => {
            let mut running = 0;
            for slot in 1..=replicas {
                let task = newest(tasks.iter().copied().filter(|t| t.slot == slot));
                if task.is_some_and(|t| is_current_running(t, service)) {
                    running += 1;
                }
                lines.push(task_line(&format!("{slot}/{replicas}"), task));
            }
            (running, replicas as usize)
        }
        ServiceMode::Global => {
            let eligible: Vec<&Node> = nodes
                .values()
                .filter(|n| runs_global_task(service, n))
                .collect();
            let mut running = 0;
            for node in &eligible {
                let task = newest(tasks.iter().copied().filter(|t| t.node_id == node.id));
                if task.is_some_and(|t| is_current_running(t, service)) {
                    running += 1;
                }
                lines.push(task_line(short_id(&node.id), task));
            }
            (running, eligible.len())
        }
    };
    // Converged: every slot runs the current spec and nothing else still runs.
    let node_down = |t: &Task| {
        nodes
            .get(&t.node_id)
            .is_some_and(|n| n.status.state == NodeState::Down)
    };
    let stray = tasks
        .iter()
        .filter(|t| {
            t.status.state == TaskState::Running && !is_current_running(t, service) && !node_down(t)
        })
        .count();
    let failure = service.update_status.as_ref().and_then(|u| match u.state {
        UpdateState::Paused => Some(format!("update paused: {}", u.message)),
        UpdateState::RollbackPaused => Some(format!("rollback paused: {}", u.message)),
        _ => None,
    });
    Snapshot {
        overall: format!("overall progress: {running} out of {desired} tasks"),
        lines,
        converged: running == desired && stray == 0,
        failure,
    }
}

/// Draws snapshots: in place on a terminal, as changed lines otherwise.
struct Printer {
    tty: bool,
    quiet: bool,
    /// Lines of the last block drawn (terminal) or last text per line (plain).
    shown: Vec<String>,
}

impl Printer {
    fn show(&mut self, snap: &Snapshot) {
        if self.quiet {
            return;
        }
        let block: Vec<String> = std::iter::once(snap.overall.clone())
            .chain(snap.lines.iter().cloned())
            .collect();
        let mut out = std::io::stdout().lock();
        if self.tty {
            if !self.shown.is_empty() {
                let _ = write!(out, "\x1b[{}A", self.shown.len());
            }
            for l in &block {
                let _ = writeln!(out, "\x1b[2K{l}");
            }
        } else {
            for (i, l) in block.iter().enumerate() {
                if self.shown.get(i) != Some(l) {
                    let _ = writeln!(out, "{l}");
                }
            }
        }
        let _ = out.flush();
        self.shown = block;
    }

    fn line(&self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }
}

pub async fn wait_unless_detached(
    client: &mut Control,
    service_id: &str,
    wait: &WaitFlags,
) -> Result<()> {
    if wait.detach {
        return Ok(());
    }
    let deadline = (wait.timeout > 0).then(|| Instant::now() + Duration::from_millis(wait.timeout));
    let mut printer = Printer {
        tty: std::io::stdout().is_terminal(),
        quiet: wait.quiet,
        shown: Vec::new(),
    };
    let mut converged_before = false;
    loop {
        let service = fetch::service(client, service_id).await?;
        let tasks = fetch::list_tasks(
            client,
            pc::ListTasksRequest {
                service_ids: vec![service.id.clone()],
                ..Default::default()
            },
        )
        .await?;
        let nodes = fetch::list_nodes(client)
            .await?
            .into_iter()
            .map(|n| (n.id.clone(), n))
            .collect();
        let snap = snapshot(&service, &tasks, &nodes);
        printer.show(&snap);
        if let Some(failure) = snap.failure {
            bail!("{failure}; see `swarmctl service ps {}`", service.spec.name);
        }
        // Converged twice in a row, one poll apart: tasks that crash at once are caught.
        if snap.converged && converged_before {
            printer.line("verify: Service converged");
            return Ok(());
        }
        converged_before = snap.converged;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            bail!(
                "service {} did not converge within {} ({}); it keeps converging in the background, see `swarmctl service ps {}`",
                service.spec.name,
                format_duration_ms(wait.timeout),
                snap.overall,
                service.spec.name
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests;
