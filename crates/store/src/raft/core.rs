//! [`NodeCore`]: what the node handle, the gRPC service and the proposer share, and how a
//! request that only the leader may handle reaches it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::ServerState;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::batcher::Batcher;
use super::config::RaftConfig;
use super::error::RaftNodeError;
use super::network::{CallError, Rpc, Transport};
use super::peers::PeerHealth;
use super::wire::{ProposeReply, Refusal};
use super::{NodeId, Raft};
use crate::action::StoreAction;
use crate::memory::MemoryStore;

/// Pause between attempts while no leader is known (an election takes a few hundred ms).
const RETRY_PAUSE: Duration = Duration::from_millis(50);

pub(crate) struct NodeCore {
    pub raft: Raft,
    pub config: RaftConfig,
    pub transport: Transport,
    pub peers: Arc<PeerHealth>,
    pub memory: Arc<MemoryStore>,
    pub batcher: Batcher,
    /// Cancelled on shutdown: the service then answers "unavailable" so peers treat this
    /// manager as gone rather than as a failing one.
    pub stopped: CancellationToken,
}

impl NodeCore {
    /// The leader as this manager currently believes, with its address.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id)?.addr.clone();
        Some((id, addr))
    }

    pub fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.config.id)
    }

    /// Commits a write on this manager, if it leads (batched with concurrent ones). Answers
    /// once applied here.
    pub async fn write_here(&self, actions: Vec<StoreAction>) -> ProposeReply {
        self.batcher.write(actions).await
    }

    /// Waits until this manager's memory has applied `index`, so a write forwarded from here
    /// is visible to reads here when the writer gets its answer.
    pub async fn wait_applied(&self, index: u64, deadline: Instant) {
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let waited = self
            .raft
            .wait(Some(budget))
            .applied_index_at_least(Some(index), "forwarded write applied locally")
            .await;
        if let Err(e) = waited {
            // The write is committed; only this replica is slow. Reporting a failure would
            // make the writer retry a write that happened.
            tracing::warn!(index, error = %e, "forwarded write committed but not yet applied here");
        }
    }

    /// Runs `local` if this manager leads, else sends `req` to the leader over `rpc`; retries
    /// while no leader is known or it cannot be reached, until `budget` runs out.
    pub async fn to_leader<Req, T, F, Fut>(
        &self,
        rpc: Rpc,
        req: &Req,
        budget: Duration,
        local: F,
    ) -> Result<T, RaftNodeError>
    where
        Req: Serialize,
        T: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, Refusal>>,
    {
        let deadline = Instant::now() + budget;
        let mut hint: Option<(NodeId, String)> = None;
        let mut problem = "no leader elected".to_string();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let target = hint.take().or_else(|| self.leader());
            let reply = match target {
                Some((id, _)) if id == self.config.id => {
                    match tokio::time::timeout(remaining, local()).await {
                        Ok(reply) => reply,
                        Err(_) => return Err(unconfirmed(budget)),
                    }
                }
                Some((id, addr)) => {
                    let ttl = remaining.max(RETRY_PAUSE);
                    match self.transport.exchange(&addr, rpc, req, ttl).await {
                        Ok(reply) => reply,
                        Err(e @ CallError::Unreachable { .. }) => {
                            problem = format!("leader {id}: {e}");
                            Err(Refusal::NotLeader { leader: None })
                        }
                        Err(CallError::Timeout { .. }) => return Err(unconfirmed(budget)),
                        Err(e @ CallError::Failed { .. }) => {
                            return Err(RaftNodeError::Transport(e.to_string()))
                        }
                    }
                }
                None => Err(Refusal::NotLeader { leader: None }),
            };
            match reply {
                Ok(answer) => return Ok(answer),
                Err(Refusal::Failed(e)) => return Err(e),
                Err(Refusal::NotLeader { leader }) => hint = leader,
            }
            if Instant::now() >= deadline {
                return Err(RaftNodeError::NoLeader(problem));
            }
            // A fresh hint is worth trying at once, but not in a tight loop: two managers
            // that each name the other during an election would bounce the request.
            let pause = if hint.is_some() {
                RETRY_PAUSE / 5
            } else {
                RETRY_PAUSE
            };
            tokio::time::sleep(pause).await;
        }
    }
}

/// The request went to a leader that did not confirm it in time (no quorum?): it may
/// still commit later, so the caller must not assume either outcome.
fn unconfirmed(budget: Duration) -> RaftNodeError {
    RaftNodeError::NoLeader(format!(
        "not confirmed by a quorum within {budget:?}; it may still take effect"
    ))
}

/// Why this manager did not handle a client write or membership change.
pub(crate) fn refusal(
    e: RaftError<NodeId, ClientWriteError<NodeId, super::ManagerNode>>,
) -> Refusal {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => Refusal::NotLeader {
            leader: f.leader_id.zip(f.leader_node.map(|n| n.addr)),
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            Refusal::Failed(RaftNodeError::Membership(e.to_string()))
        }
        RaftError::Fatal(f) => Refusal::Failed(RaftNodeError::Stopped(f.to_string())),
    }
}
