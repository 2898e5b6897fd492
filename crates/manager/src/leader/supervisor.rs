//! [`Supervisor`]: runs named components, each on its own task; restarts one that fails and
//! gives up when one keeps failing.
//!
//! A background future whose `JoinHandle` is awaited only at shutdown fails silently: a
//! leader without its scheduler goes on leading and nothing gets placed. Here a component that
//! panics, returns an error, or returns at all before it is cancelled is logged with its name
//! and started afresh after a backoff ([`super::restarts`]); one that fails
//! [`MAX_FAILURES`](super::restarts::MAX_FAILURES) times within [`FAILURE_WINDOW`] stops
//! the whole set and ends the run with [`Exit::Escalated`], for the caller to step down.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::restarts::{Restarts, Verdict, FAILURE_WINDOW};

/// How long cancelled components get to return before they are aborted: a manager that lost
/// its leadership must stop acting as leader, and the next leadership must not wait forever.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// What a failed run of a component returns.
pub type ComponentError = Box<dyn std::error::Error + Send + Sync>;

type Start =
    dyn Fn(CancellationToken) -> BoxFuture<'static, Result<(), ComponentError>> + Send + Sync;

/// A named component and how to start a fresh run of it. A run lasts until its token is
/// cancelled.
#[derive(Clone)]
pub struct Component {
    name: &'static str,
    start: Arc<Start>,
}

impl Component {
    /// A component whose run may end with an error.
    pub fn new<F, Fut, E>(name: &'static str, start: F) -> Component
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<ComponentError>,
    {
        Component {
            name,
            start: Arc::new(move |token| start(token).map(|r| r.map_err(Into::into)).boxed()),
        }
    }

    /// A component whose run returns nothing: it handles its own errors (and retries them).
    pub fn infallible<F, Fut>(name: &'static str, start: F) -> Component
    where
        F: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Component::new(name, move |token| {
            start(token).map(Ok::<(), ComponentError>)
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A fresh run. Public so that a wrapper (a test injecting a fault) can delegate to it.
    pub fn start(
        &self,
        token: CancellationToken,
    ) -> BoxFuture<'static, Result<(), ComponentError>> {
        (self.start)(token)
    }
}

/// How a run of a component failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Panicked(String),
    Failed(String),
    /// It returned before being cancelled: a leader component runs as long as the leadership.
    Returned,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Panicked(msg) => write!(f, "panicked: {msg}"),
            Failure::Failed(e) => write!(f, "failed: {e}"),
            Failure::Returned => f.write_str("stopped on its own"),
        }
    }
}

/// A component that kept failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub component: &'static str,
    pub failures: usize,
    pub last: Failure,
}

impl fmt::Display for Escalation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed {} times within {:?}, last {}",
            self.component, self.failures, FAILURE_WINDOW, self.last
        )
    }
}

/// Why [`Supervisor::run`] returned; every component has stopped either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The shutdown token was cancelled.
    Stopped,
    Escalated(Escalation),
}

/// Runs a set of components until cancelled or until one keeps failing.
pub struct Supervisor {
    components: Vec<Component>,
}

struct Slot {
    component: Component,
    restarts: Restarts,
    started: Instant,
    /// Set while the component waits out its backoff.
    restart_at: Option<Instant>,
}

impl Supervisor {
    pub fn new(components: Vec<Component>) -> Supervisor {
        Supervisor { components }
    }

    /// Starts every component and keeps them running until `shutdown` is cancelled or one
    /// escalates; then stops them all (aborting those that outlast [`STOP_GRACE`]).
    pub async fn run(self, shutdown: CancellationToken) -> Exit {
        let token = shutdown.child_token();
        let now = Instant::now();
        let mut slots: Vec<Slot> = self
            .components
            .into_iter()
            .map(|component| Slot {
                component,
                restarts: Restarts::default(),
                started: now,
                restart_at: None,
            })
            .collect();
        let mut tasks = Tasks::default();
        for (i, slot) in slots.iter_mut().enumerate() {
            tasks.spawn(i, slot, &token);
        }
        let exit = loop {
            let next_restart = slots.iter().filter_map(|s| s.restart_at).min();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Exit::Stopped,
                Some(joined) = tasks.set.join_next_with_id() => {
                    let Some((i, failure)) = tasks.failure(joined) else { continue };
                    let slot = &mut slots[i];
                    let name = slot.component.name;
                    let now = Instant::now();
                    match slot.restarts.failed(now, now - slot.started) {
                        Verdict::RestartAfter(after) => {
                            tracing::error!(
                                component = name, %failure, restart_in = ?after,
                                "leader component failed; restarting it"
                            );
                            slot.restart_at = Some(now + after);
                        }
                        Verdict::Escalate { failures } => {
                            let why = Escalation { component: name, failures, last: failure };
                            tracing::error!(%why, "leader component keeps failing; stopping all");
                            break Exit::Escalated(why);
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_restart.unwrap_or(now)), if next_restart.is_some() => {
                    let now = Instant::now();
                    for (i, slot) in slots.iter_mut().enumerate() {
                        if slot.restart_at.is_some_and(|at| at <= now) {
                            tasks.spawn(i, slot, &token);
                        }
                    }
                }
            }
        };
        tasks.stop(&token, &slots).await;
        exit
    }
}

/// The running components' tasks, each known by its slot.
#[derive(Default)]
struct Tasks {
    set: JoinSet<Result<(), Failure>>,
    slot_of: HashMap<Id, usize>,
}

impl Tasks {
    fn spawn(&mut self, i: usize, slot: &mut Slot, token: &CancellationToken) {
        let component = slot.component.clone();
        let token = token.clone();
        // The component is started on its task, so a panic while starting is caught too.
        let handle = self.set.spawn(async move {
            match component.start(token.clone()).await {
                Err(e) => Err(Failure::Failed(e.to_string())),
                Ok(()) if token.is_cancelled() => Ok(()),
                Ok(()) => Err(Failure::Returned),
            }
        });
        self.slot_of.insert(handle.id(), i);
        slot.started = Instant::now();
        slot.restart_at = None;
    }

    /// The slot and failure of a task that ended; `None` for a clean stop.
    fn failure(
        &mut self,
        joined: Result<(Id, Result<(), Failure>), JoinError>,
    ) -> Option<(usize, Failure)> {
        let (id, failure) = match joined {
            Ok((id, Ok(()))) => {
                self.slot_of.remove(&id);
                return None;
            }
            Ok((id, Err(failure))) => (id, failure),
            Err(e) => (e.id(), panic_failure(e)),
        };
        self.slot_of.remove(&id).map(|i| (i, failure))
    }

    async fn stop(mut self, token: &CancellationToken, slots: &[Slot]) {
        token.cancel();
        let drain = async {
            while let Some(joined) = self.set.join_next_with_id().await {
                if let Some((i, failure)) = self.failure(joined) {
                    let name = slots[i].component.name;
                    tracing::error!(component = name, %failure, "leader component failed while stopping");
                }
            }
        };
        if tokio::time::timeout(STOP_GRACE, drain).await.is_err() {
            let stuck: Vec<&str> = self
                .slot_of
                .values()
                .map(|i| slots[*i].component.name)
                .collect();
            tracing::error!(
                components = ?stuck,
                "leader components did not stop within {STOP_GRACE:?}; aborting them"
            );
            self.set.shutdown().await;
        }
    }
}

fn panic_failure(e: JoinError) -> Failure {
    match e.try_into_panic() {
        Ok(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "with a non-text payload".to_string());
            Failure::Panicked(msg)
        }
        Err(e) => Failure::Failed(e.to_string()),
    }
}
