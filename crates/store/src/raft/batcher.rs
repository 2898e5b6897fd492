//! Group commit on the leader. openraft 0.9 appends (and fsyncs) every client write as its
//! own entry while its core waits, so throughput would be one write per fsync. Instead,
//! writes that arrive while earlier ones are in flight travel together in one entry.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;

use super::core::refusal;
use super::error::RaftNodeError;
use super::wire::{Committed, ProposeReply, Refusal};
use super::{Raft, Request};
use crate::action::StoreAction;

/// Entries being committed at once: the next one is appended while the previous replicates.
const MAX_IN_FLIGHT: usize = 2;
/// Writes per entry, so one entry stays a reasonable message for followers.
const MAX_WRITES: usize = 1024;
/// Queue of writes waiting for a slot; senders wait when it is full (backpressure).
const QUEUE: usize = 8192;

struct Pending {
    actions: Vec<StoreAction>,
    reply: oneshot::Sender<ProposeReply>,
}

pub(crate) struct Batcher {
    tx: mpsc::Sender<Pending>,
}

impl Batcher {
    /// Starts the batching task; it ends when `stopped` is cancelled.
    pub fn start(raft: Raft, stopped: CancellationToken) -> Batcher {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(raft, rx, stopped));
        Batcher { tx }
    }

    /// Commits `actions` as one write (all or nothing) and answers once it is applied here.
    pub async fn write(&self, actions: Vec<StoreAction>) -> ProposeReply {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending { actions, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> Refusal {
    Refusal::Failed(RaftNodeError::Stopped("manager shutting down".into()))
}

async fn run(raft: Raft, mut rx: mpsc::Receiver<Pending>, stopped: CancellationToken) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let first = tokio::select! {
            p = rx.recv() => p,
            _ = stopped.cancelled() => None,
        };
        let Some(first) = first else { break };
        // Waiting for a slot is what lets a batch grow: writes queue up meanwhile.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_WRITES {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let (writes, replies): (Vec<_>, Vec<_>) =
                batch.into_iter().map(|p| (p.actions, p.reply)).unzip();
            let result = raft.client_write(Request::from(writes)).await;
            drop(slot);
            match result {
                Ok(resp) => {
                    for (reply, outcome) in replies.into_iter().zip(resp.data.0) {
                        let _ = reply.send(Ok(Committed {
                            index: resp.log_id.index,
                            outcome,
                        }));
                    }
                }
                Err(e) => {
                    let refused = refusal(e);
                    for reply in replies {
                        let _ = reply.send(Err(refused.clone()));
                    }
                }
            }
        });
    }
}
