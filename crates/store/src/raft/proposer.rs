//! [`RaftProposer`]: commits store writes through Raft, from any manager.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::core::NodeCore;
use super::error::RaftNodeError;
use super::network::Rpc;
use super::wire::Committed;
use crate::action::StoreAction;
use crate::error::StoreError;
use crate::proposer::Proposer;

/// Writes on the leader directly; on a follower, forwards to the leader and then waits until
/// this manager has applied the write, so whoever wrote reads it here.
pub struct RaftProposer {
    core: Arc<NodeCore>,
}

impl RaftProposer {
    pub(crate) fn new(core: Arc<NodeCore>) -> Self {
        RaftProposer { core }
    }
}

impl Proposer for RaftProposer {
    fn propose(&self, actions: Vec<StoreAction>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let core = &self.core;
            if core.stopped.is_cancelled() {
                return Err(StoreError::Unavailable(
                    "this manager is shutting down".into(),
                ));
            }
            let budget = core.config.write_timeout;
            let deadline = Instant::now() + budget;
            let committed: Committed = core
                .to_leader(Rpc::Propose, &actions, budget, || {
                    core.write_here(actions.clone())
                })
                .await
                .map_err(store_error)?;
            if core.memory.applied_index() < committed.index {
                core.wait_applied(committed.index, deadline).await;
            }
            committed.outcome
        })
    }
}

fn store_error(e: RaftNodeError) -> StoreError {
    match e {
        RaftNodeError::NoLeader(why) => StoreError::NoLeader(why),
        other => StoreError::Unavailable(other.to_string()),
    }
}
