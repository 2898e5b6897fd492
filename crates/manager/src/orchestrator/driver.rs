//! The level-triggered loop the leader-only components of this crate run: store events mark
//! objects dirty, a tick reconciles what is dirty, a periodic full resync catches anything
//! missed, and a watch that lagged behind simply makes everything dirty.
//!
//! Decisions are re-derived from the store on every pass, so the loop keeps no state that a
//! new leader would lack.

use std::future::Future;
use std::time::Duration;

use store::{Event, EventBatch, Store};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// How often the loop runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopTiming {
    /// Full resync period: everything is reconciled at least this often.
    pub resync: Duration,
    /// Pause after a wake-up so a burst of events is handled in one pass.
    pub tick: Duration,
    /// Delay before retrying after a failed write (no leader, storage error).
    pub retry: Duration,
}

impl Default for LoopTiming {
    fn default() -> Self {
        LoopTiming {
            resync: Duration::from_secs(2),
            tick: Duration::from_millis(10),
            retry: Duration::from_millis(250),
        }
    }
}

/// A component driven by [`drive`].
pub trait Reconciler: Send {
    /// Marks what the committed change makes dirty.
    fn observe(&mut self, event: &Event);
    /// Makes everything dirty (start, resync, lagged watch, a timer ran out).
    fn mark_all(&mut self);
    /// Reconciles what is dirty. Returns how soon to run again without any event (a restart
    /// delay, an update monitor, a retry), if at all.
    fn reconcile(&mut self) -> impl Future<Output = Option<Duration>> + Send;
}

/// Runs `r` until `shutdown` is cancelled or the store goes away.
pub async fn drive<R: Reconciler>(
    store: &Store,
    r: &mut R,
    shutdown: &CancellationToken,
    timing: &LoopTiming,
) {
    let ((), mut rx) = store.view_and_watch(|_| ());
    r.mark_all();
    let mut next_resync = Instant::now() + timing.resync;
    loop {
        let requeue = r.reconcile().await.map(|d| Instant::now() + d);
        let wake = requeue.map_or(next_resync, |q| q.min(next_resync));
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            got = rx.recv() => match got {
                Ok(batch) => observe(r, &batch),
                Err(RecvError::Lagged(_)) => r.mark_all(),
                Err(RecvError::Closed) => return,
            },
            _ = sleep_until(wake) => {}
        }
        let now = Instant::now();
        if now >= next_resync {
            next_resync = now + timing.resync;
            r.mark_all();
        } else if requeue.is_some_and(|q| now >= q) {
            r.mark_all();
        }
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = sleep(timing.tick) => {}
        }
        loop {
            match rx.try_recv() {
                Ok(batch) => observe(r, &batch),
                Err(TryRecvError::Lagged(_)) => r.mark_all(),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
    }
}

fn observe<R: Reconciler>(r: &mut R, batch: &EventBatch) {
    for event in batch.iter() {
        r.observe(event);
    }
}
