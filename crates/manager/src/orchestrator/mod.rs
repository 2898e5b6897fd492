//! The orchestrator (leader only): turns services into tasks.
//!
//! - [`slot`]: slots, their history and the phase derived from it
//! - [`replicated`]: slots `1..=N`, scaling, replacing tasks of lost nodes
//! - [`global`]: one task per eligible node
//! - [`restart`]: the restart policy (condition, delay, attempts, window)
//! - [`update`]: rolling updates (parallelism, delay, order, failure action, monitor)
//! - [`orphan`]: giving up on the tasks of a node down for longer than the cluster's grace
//! - [`reaper`]: deleting tasks nobody needs, capping history
//! - [`plan`]: the working copy a pass changes and writes back as one transaction
//! - [`driver`]: the level-triggered loop (events mark dirty, tick, resync)
//!
//! Every decision is a pure function of a store snapshot and the time; the [`Orchestrator`]
//! only reads, decides and writes, one service per transaction, so a new leader resumes where
//! the old one stopped without duplicating tasks.

pub mod driver;
pub mod global;
pub mod orphan;
pub mod plan;
pub mod reaper;
pub mod replicated;
pub mod restart;
pub mod slot;
pub mod update;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::time::Duration;

use store::{Event, Kind, Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::ServiceMode;

pub use driver::LoopTiming;
use driver::Reconciler;

/// Turns services into tasks; see the module documentation.
pub struct Orchestrator {
    store: Store,
    timing: LoopTiming,
    /// Where restarts are counted, for `GET /metrics`.
    metrics: metrics::Metrics,
}

impl Orchestrator {
    pub fn new(store: Store) -> Self {
        Orchestrator {
            store,
            timing: LoopTiming::default(),
            metrics: metrics::Metrics::default(),
        }
    }

    /// Counts the tasks its restart policy creates into `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    #[must_use]
    pub fn with_timing(mut self, timing: LoopTiming) -> Self {
        self.timing = timing;
        self
    }

    /// Reconciles until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut pass = Pass {
            store: self.store.clone(),
            all: true,
            dirty: BTreeSet::new(),
            retry: self.timing.retry,
            metrics: self.metrics.clone(),
        };
        tracing::info!("orchestrator started");
        driver::drive(&self.store, &mut pass, &shutdown, &self.timing).await;
        tracing::info!("orchestrator stopped");
    }
}

/// What the next pass has to look at.
struct Pass {
    store: Store,
    all: bool,
    /// Service IDs (existing or deleted) with changes since the last pass.
    dirty: BTreeSet<String>,
    retry: Duration,
    metrics: metrics::Metrics,
}

impl Reconciler for Pass {
    fn observe(&mut self, event: &Event) {
        match event.object() {
            Object::Task(t) => {
                self.dirty.insert(t.service_id.clone());
            }
            Object::Service(s) => {
                self.dirty.insert(s.id.clone());
            }
            // Node changes affect every service; the cluster holds the history limit.
            Object::Node(_) | Object::Cluster(_) => self.all = true,
            Object::Network(_) | Object::Data(_) => {}
        }
    }

    fn mark_all(&mut self) {
        self.all = true;
    }

    async fn reconcile(&mut self) -> Option<Duration> {
        let ids: BTreeSet<String> = if std::mem::take(&mut self.all) {
            self.dirty.clear();
            self.store.view(|t| {
                t.services
                    .keys()
                    .cloned()
                    .chain(t.tasks.values().map(|t| t.service_id.clone()))
                    .collect()
            })
        } else {
            std::mem::take(&mut self.dirty)
        };
        let mut requeue_at: Option<i64> = None;
        let mut failed = false;
        for id in ids {
            match reconcile_service(&self.store, &id, &self.metrics).await {
                Ok(Some(at)) => requeue_at = Some(requeue_at.map_or(at, |r| r.min(at))),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(service = %id, error = %e, "orchestrator write failed; will retry");
                    self.dirty.insert(id);
                    failed = true;
                }
            }
        }
        let mut wake = requeue_at
            .map(|at| Duration::from_millis(at.saturating_sub(types::now_ms()).max(0) as u64));
        if failed {
            wake = Some(wake.map_or(self.retry, |w| w.min(self.retry)));
        }
        wake
    }
}

/// One service's pass: decide and write the tasks, then reap. Returns when a timer (restart
/// delay, update monitor) is due.
async fn reconcile_service(
    store: &Store,
    id: &str,
    metrics: &metrics::Metrics,
) -> Result<Option<i64>, StoreError> {
    let (requeue, restarts) = store
        .update(|t, tx| {
            let now = types::now_ms();
            let service = t.services.get(id);
            let w = match service {
                Some(s) => match s.spec.mode {
                    ServiceMode::Replicated { .. } => replicated::reconcile(t, s, now),
                    ServiceMode::Global => global::reconcile(t, s, now),
                },
                None => reaper::remove_all(t, id, now),
            };
            let requeue = (w.requeue_at_ms, w.restarts);
            if w.created() > 0 {
                tracing::debug!(service = %id, created = w.created(), "creating tasks");
            }
            w.into_tx(tx);
            Ok::<_, StoreError>(requeue)
        })
        .await?;
    metrics.task_restarts(restarts);
    store
        .update(|t, tx| {
            for task_id in reaper::reapable(t, id, t.services.get(id), types::now_ms()) {
                // Rewriting the task as read makes the removal conditional on it not having
                // changed since the decision.
                tx.update(Object::Task(t.tasks[&task_id].clone()));
                tx.remove(Kind::Task, task_id);
            }
            Ok::<_, StoreError>(())
        })
        .await?;
    Ok(requeue)
}
