//! Cluster events, as `docker events` shows swarm events, on every manager.
//!
//! Every manager applies the same committed writes to its store, so each one turns its own
//! store's watch into events and serves them: no event travels between managers, and each
//! stamps an event when it applied the change (managers differ by their replication lag).
//! A manager's history starts when it starts. Nothing here writes to the store.
//!
//! - [`mapping`]: a store change → an event with docker's attributes (pure)
//! - [`ring`]: the bounded history that `--since` replays (pure)
//! - [`EventHistory`]: the history shared with the control API, plus the live feed
//! - [`EventRecorder`]: the task feeding it from the store's watch, run supervised

pub mod mapping;
pub mod ring;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::Store;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use types::event::{ClusterEvent, EventFilter};

use crate::leader::{Component, Exit, Supervisor};
pub use mapping::EventMapper;
pub use ring::{HistoryLimits, Ring, Window};

/// How many live events a slow `swarmctl events` may fall behind before its stream is cut.
const LIVE_BUFFER: usize = 4096;
/// After the recorder kept failing, how long before it is tried again.
const RECORDER_RETRY: Duration = Duration::from_secs(30);

/// The history and the live feed, shared by the recorder and the control API.
#[derive(Clone)]
pub struct EventHistory {
    shared: Arc<Shared>,
}

struct Shared {
    /// Locked while an event is recorded and while a subscriber copies the history and
    /// subscribes, so that a subscriber sees every event once: in the copy or live.
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<ClusterEvent>>,
}

impl EventHistory {
    pub fn new(limits: HistoryLimits) -> EventHistory {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        EventHistory {
            shared: Arc::new(Shared {
                ring: Mutex::new(Ring::new(limits)),
                live,
            }),
        }
    }

    pub fn record(&self, event: ClusterEvent) {
        let mut ring = self
            .shared
            .ring
            .lock()
            .expect("event history lock poisoned");
        let _ = self.shared.live.send(Arc::new(event.clone()));
        ring.push(event, now_ns());
    }

    /// The recorded events that pass (none without a `replay` window), and every later one.
    pub fn subscribe(
        &self,
        replay: Option<Window>,
        filter: &EventFilter,
    ) -> (Vec<ClusterEvent>, broadcast::Receiver<Arc<ClusterEvent>>) {
        let ring = self
            .shared
            .ring
            .lock()
            .expect("event history lock poisoned");
        let past = replay
            .map(|w| ring.replay(w, filter, now_ns()))
            .unwrap_or_default();
        (past, self.shared.live.subscribe())
    }

    /// How many events are kept.
    pub fn len(&self) -> usize {
        self.shared
            .ring
            .lock()
            .expect("event history lock poisoned")
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Feeds an [`EventHistory`] from the store's watch.
pub struct EventRecorder {
    store: Store,
    history: EventHistory,
}

impl EventRecorder {
    pub fn new(store: Store, history: EventHistory) -> EventRecorder {
        EventRecorder { store, history }
    }

    /// Records every committed change until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        let (mut mapper, mut rx) = self.store.view_and_watch(EventMapper::new);
        loop {
            let batch = tokio::select! {
                _ = token.cancelled() => return,
                batch = rx.recv() => batch,
            };
            match batch {
                Ok(batch) => {
                    for change in batch.iter() {
                        if let Some(event) = mapper.map(change, now_ns()) {
                            self.history.record(event);
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "event recorder fell behind the store; those changes have no events"
                    );
                    mapper = self.store.view(EventMapper::new);
                }
                // The store is gone: the manager is stopping.
                Err(RecvError::Closed) => return,
            }
        }
    }
}

/// Runs the recorder under a [`Supervisor`] until `shutdown`: restarted with backoff when it
/// fails, and tried again after [`RECORDER_RETRY`] when it keeps failing. Unlike a leader
/// component there is nothing to step down from: events are only read.
pub async fn run_supervised(store: Store, history: EventHistory, shutdown: CancellationToken) {
    let recorder = Component::infallible("event recorder", move |token| {
        EventRecorder::new(store.clone(), history.clone()).run(token)
    });
    loop {
        let Exit::Escalated(why) = Supervisor::new(vec![recorder.clone()])
            .run(shutdown.clone())
            .await
        else {
            return;
        };
        tracing::error!(%why, retry_in = ?RECORDER_RETRY, "no cluster events until the retry");
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RECORDER_RETRY) => {}
        }
    }
}

/// Wall-clock time in unix nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
