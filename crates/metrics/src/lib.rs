//! The node's Prometheus metrics (`swarmd --metrics-addr`).
//!
//! Most of what `GET /metrics` shows is read at scrape time from state that exists anyway
//! (Raft's metrics watch, the store, the dispatcher's sessions, the mesh read back from the
//! kernel); the daemon gathers it into a [`Snapshot`]. Only what is an event and leaves no
//! trace in any state is counted as it happens, in [`Metrics`]: one small handle, cloned into
//! the components that see the events (Control API requests, scheduler passes, missed
//! heartbeats, task starts, failures and restarts, data-plane programming). It is passed in
//! explicitly, never a global: a component built without one (tests, benchmarks) gets
//! [`Metrics::default`], which counts into families nobody scrapes.
//!
//! - [`Metrics`]: the event families and [`Metrics::render`], the text of one scrape
//! - [`snapshot`]: [`Snapshot`], the families computed at scrape time
//! - [`exposition`]: reading the text back (tests) and `promtool check metrics`

pub mod exposition;
pub mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

pub use snapshot::Snapshot;

/// The `Content-Type` of the Prometheus text format (0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;
/// Every family's name starts with `swarmd_`.
pub const PREFIX: &str = "swarmd";

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// Latency buckets from 0.5 ms to about 8 s, doubling: Raft commits take a millisecond or
/// two, a full data-plane resync with a thousand services a few hundred.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

/// The families counted as events happen. Cheap to clone (one `Arc`).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    control_requests: Family<Labels, Counter>,
    control_seconds: Histograms,
    scheduler_decisions: Family<Labels, Counter>,
    scheduler_seconds: Histogram,
    missed_heartbeats: Counter,
    task_starts: Counter,
    task_failures: Family<Labels, Counter>,
    task_restarts: Counter,
    dataplane_seconds: Histograms,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            control_requests: Family::default(),
            control_seconds: Family::new_with_constructor(latency_histogram),
            scheduler_decisions: Family::default(),
            scheduler_seconds: latency_histogram(),
            missed_heartbeats: Counter::default(),
            task_starts: Counter::default(),
            task_failures: Family::default(),
            task_restarts: Counter::default(),
            dataplane_seconds: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl Metrics {
    /// One Control API call: its method (`CreateService`), its gRPC code (`OK`,
    /// `InvalidArgument`) and how long it took to answer.
    pub fn control_request(&self, method: &str, code: &str, took: Duration) {
        let f = &self.inner;
        f.control_requests
            .get_or_create(&vec![
                ("method", method.to_string()),
                ("code", code.to_string()),
            ])
            .inc();
        f.control_seconds
            .get_or_create(&vec![("method", method.to_string())])
            .observe(took.as_secs_f64());
    }

    /// One scheduler pass that decided something: tasks placed, tasks left pending with a
    /// reason, and the time from planning to the last commit.
    pub fn scheduler_pass(&self, assigned: u64, unschedulable: u64, took: Duration) {
        let f = &self.inner;
        for (outcome, n) in [("assigned", assigned), ("unschedulable", unschedulable)] {
            f.scheduler_decisions
                .get_or_create(&vec![("outcome", outcome.to_string())])
                .inc_by(n);
        }
        f.scheduler_seconds.observe(took.as_secs_f64());
    }

    /// Nodes this leader declared down because they stopped heartbeating.
    pub fn missed_heartbeats(&self, nodes: u64) {
        self.inner.missed_heartbeats.inc_by(nodes);
    }

    /// This node's agent started a task's container.
    pub fn task_started(&self) {
        self.inner.task_starts.inc();
    }

    /// A task on this node ended in `state` (`failed`, `rejected`).
    pub fn task_failed(&self, state: &str) {
        self.inner
            .task_failures
            .get_or_create(&vec![("state", state.to_string())])
            .inc();
    }

    /// Tasks the leader's restart policy created to replace tasks that ended on their own.
    pub fn task_restarts(&self, n: u64) {
        self.inner.task_restarts.inc_by(n);
    }

    /// One pass of the data plane over a network view: `full` for the periodic resync.
    pub fn dataplane_programmed(&self, full: bool, took: Duration) {
        let pass = if full { "resync" } else { "change" };
        self.inner
            .dataplane_seconds
            .get_or_create(&vec![("pass", pass.to_string())])
            .observe(took.as_secs_f64());
    }

    /// The text of one scrape: these families and those of `snapshot`, in the Prometheus
    /// text format.
    pub fn render(&self, snapshot: Snapshot) -> String {
        let mut registry = Registry::with_prefix(PREFIX);
        self.register(&mut registry);
        registry.register_collector(Box::new(snapshot));
        let mut text = String::new();
        prometheus_text::encode(&mut text, &registry).expect("writing to a String cannot fail");
        text
    }

    fn register(&self, r: &mut Registry) {
        let f = &self.inner;
        r.register(
            "control_requests",
            "Control API requests answered by this manager, by method and gRPC code",
            f.control_requests.clone(),
        );
        r.register(
            "control_request_seconds",
            "Time to answer a Control API request (to its response headers), by method",
            f.control_seconds.clone(),
        );
        r.register(
            "scheduler_decisions",
            "Scheduler decisions made on this manager while it led: assigned or unschedulable",
            f.scheduler_decisions.clone(),
        );
        r.register(
            "scheduler_pass_seconds",
            "Time of a scheduler pass that decided something, from planning to the last commit",
            f.scheduler_seconds.clone(),
        );
        r.register(
            "dispatcher_missed_heartbeats",
            "Nodes this manager, as leader, declared down after they missed their heartbeats",
            f.missed_heartbeats.clone(),
        );
        r.register(
            "agent_task_starts",
            "Task containers this node's agent started",
            f.task_starts.clone(),
        );
        r.register(
            "agent_task_failures",
            "Tasks on this node that ended failed or rejected, by state",
            f.task_failures.clone(),
        );
        r.register(
            "task_restarts",
            "Tasks this manager's restart policy created, as leader, to replace tasks that ended",
            f.task_restarts.clone(),
        );
        r.register(
            "dataplane_program_seconds",
            "Time to program the node's overlay and routing mesh for a network view, by pass",
            f.dataplane_seconds.clone(),
        );
    }
}

#[cfg(test)]
mod tests;
