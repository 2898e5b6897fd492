//! [`Scheduler`]: the thin I/O shell around [`plan`]. It watches the store, and on a tick when
//! something relevant changed (or at every periodic resync) plans over a fresh snapshot and
//! commits the decisions in batches.

use std::time::{Duration, Instant};

use store::{Event, Object, Store, StoreError, Tables, Tx};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use types::{Task, TaskState};

use super::plan::{plan, Decision, PENDING_MESSAGE};

/// How often a dirty scheduler plans: short enough that placement feels immediate, long
/// enough that a burst of task creations is decided as one batch.
const TICK: Duration = Duration::from_millis(50);
/// Plans even without events this often, so anything an event did not reveal is caught.
const RESYNC: Duration = Duration::from_secs(2);
/// Tasks updated per write, keeping each Raft entry small while amortising commits.
const COMMIT_BATCH: usize = 1_000;

/// `status.message` of a task the scheduler placed.
pub const ASSIGNED_MESSAGE: &str = "assigned";

/// Places pending tasks on nodes. Leader-only: start it on becoming leader and cancel it on
/// losing leadership; it keeps no state beyond the store.
pub struct Scheduler {
    store: Store,
    /// Decisions and pass latency, for `GET /metrics`.
    metrics: metrics::Metrics,
}

impl Scheduler {
    pub fn new(store: Store) -> Scheduler {
        Scheduler {
            store,
            metrics: metrics::Metrics::default(),
        }
    }

    /// Counts its decisions into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> Scheduler {
        self.metrics = metrics;
        self
    }

    /// Runs until `shutdown` is cancelled (or the store goes away).
    pub async fn run(self, shutdown: CancellationToken) {
        let ((), mut events) = self.store.view_and_watch(|_| ());
        let mut dirty = true;
        let mut last_plan = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                // Ticks before events: a steady stream of writes must not starve planning.
                biased;
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {
                    if dirty || last_plan.elapsed() >= RESYNC {
                        dirty = false;
                        last_plan = Instant::now();
                        if let Err(e) = self.tick().await {
                            tracing::warn!(error = %e, "scheduler: committing placements failed; retrying");
                            dirty = true;
                        }
                    }
                }
                event = events.recv() => match event {
                    Ok(batch) => dirty |= batch.iter().any(concerns_scheduler),
                    // Missed events: the next tick re-reads everything anyway.
                    Err(RecvError::Lagged(_)) => dirty = true,
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    /// Plans once over the current state and commits the result; returns how many tasks were
    /// written. Public so tests and benchmarks can drive the scheduler step by step.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let started = Instant::now();
        let decisions = self.store.view(plan);
        let mut written = 0;
        for chunk in decisions.chunks(COMMIT_BATCH) {
            written += self
                .store
                .update(|tables, tx| Ok::<_, StoreError>(commit(tables, tx, chunk)))
                .await?;
        }
        if written > 0 {
            tracing::debug!(written, "scheduler: tasks updated");
        }
        if !decisions.is_empty() {
            let assigned = decisions
                .iter()
                .filter(|d| matches!(d, Decision::Assign { .. }))
                .count();
            let unschedulable = decisions.len() - assigned;
            self.metrics
                .scheduler_pass(assigned as u64, unschedulable as u64, started.elapsed());
        }
        Ok(written)
    }
}

/// Whether an event may change what the scheduler would decide: node changes, new or
/// re-explained pending tasks, and tasks that stop holding a node (ended, being removed,
/// deleted). Tasks progressing from Assigned to Running change nothing.
fn concerns_scheduler(event: &Event) -> bool {
    match (event, event.object()) {
        (_, Object::Node(_)) => true,
        (Event::Removed(_), Object::Task(_)) => true,
        (_, Object::Task(t)) => {
            t.status.state == TaskState::Pending
                || t.status.state.is_terminal()
                || t.desired_state > TaskState::Running
        }
        _ => false,
    }
}

/// Writes decisions made on an earlier snapshot into `tx`, re-reading each task: one that is no
/// longer pending, no longer wanted, or whose node vanished is skipped (the next tick decides
/// again). Returns the number of tasks written.
pub(super) fn commit(tables: &Tables, tx: &mut Tx, decisions: &[Decision]) -> usize {
    let now = types::now_ms();
    let mut written = 0;
    for decision in decisions {
        let Some(current) = tables.tasks.get(decision.task_id()) else {
            continue;
        };
        if current.status.state != TaskState::Pending || current.desired_state > TaskState::Running
        {
            continue;
        }
        let updated = match decision {
            Decision::Assign { node_id, .. } => {
                let node_ok = tables.nodes.contains_key(node_id)
                    && (current.node_id.is_empty() || current.node_id == *node_id);
                if !node_ok {
                    continue;
                }
                assigned(current, node_id, now)
            }
            Decision::Unschedulable { err, .. } => {
                let mut t = current.clone();
                t.status.err = err.clone();
                t.status.message = PENDING_MESSAGE.to_string();
                t
            }
        };
        tx.update(Object::Task(updated));
        written += 1;
    }
    written
}

fn assigned(task: &Task, node_id: &str, now_ms: i64) -> Task {
    let mut t = task.clone();
    t.node_id = node_id.to_string();
    t.status.state = TaskState::Assigned;
    t.status.message = ASSIGNED_MESSAGE.to_string();
    t.status.err.clear();
    t.status.timestamp_ms = now_ms;
    t
}
