//! Adding and removing managers and listing them, as the leader does it. Other managers
//! forward these requests to the leader ([`NodeCore::to_leader`]).

use std::collections::BTreeSet;

use openraft::ChangeMembers;
use serde::{Deserialize, Serialize};

use super::core::{refusal, NodeCore};
use super::error::RaftNodeError;
use super::peers::Reachability;
use super::wire::{MembershipAnswer, MembershipReply, MembershipRequest, Refusal};
use super::{ManagerNode, NodeId};

/// One manager of the cluster as `node ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: NodeId,
    pub addr: String,
    /// Voters make up the quorum; a manager being added is a learner until it catches up.
    pub voter: bool,
    pub leader: bool,
    /// As seen from the manager that answered (the leader when one is reachable).
    pub reachability: Reachability,
}

impl NodeCore {
    /// Handles a membership request if this manager leads.
    pub async fn membership_here(&self, req: MembershipRequest) -> MembershipReply {
        if !self.is_leader() {
            return Err(Refusal::NotLeader {
                leader: self.leader(),
            });
        }
        match req {
            MembershipRequest::AddVoter { id, addr } => self.add_voter_here(id, addr).await,
            MembershipRequest::Remove { id } => self.remove_here(id).await,
            MembershipRequest::List => Ok(MembershipAnswer::Members(self.members_here())),
        }
    }

    async fn add_voter_here(&self, id: NodeId, addr: String) -> MembershipReply {
        let (voters, _) = self.membership_sets();
        if voters.contains(&id) {
            return Ok(MembershipAnswer::Changed);
        }
        // A learner receives the log (or a snapshot) but is outside the quorum. openraft's
        // "blocking" add only waits until the learner is within the lag threshold, which an
        // unreachable newcomer to a short log already is; promoting such a node would leave
        // the cluster unable to commit. So wait for the learner to acknowledge the entry that
        // added it: everything before it has then reached it too.
        let timeout = self.config.catch_up_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || {
            Refusal::Failed(RaftNodeError::CatchUpTimeout {
                id,
                addr: addr.clone(),
                secs: timeout.as_secs(),
            })
        };
        // Re-adding a learner left by an attempt that timed out keeps it (same address).
        let add = self
            .raft
            .add_learner(id, ManagerNode::new(addr.clone()), false);
        let added = match tokio::time::timeout(timeout, add).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => return Err(refusal(e)),
            Ok(Ok(resp)) => resp.log_id.index,
        };
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.raft
            .wait(Some(remaining))
            .metrics(
                |m| {
                    let matched = m.replication.as_ref().and_then(|r| r.get(&id));
                    matched.is_some_and(|l| l.is_some_and(|l| l.index >= added))
                },
                "new manager caught up",
            )
            .await
            .map_err(|_| timed_out())?;
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(refusal)?;
        Ok(MembershipAnswer::Changed)
    }

    async fn remove_here(&self, id: NodeId) -> MembershipReply {
        let (voters, nodes) = self.membership_sets();
        let change = if voters.contains(&id) {
            // retain = false: the removed manager does not stay behind as a learner.
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else if nodes.contains(&id) {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        } else {
            return Err(Refusal::Failed(RaftNodeError::UnknownMember(id)));
        };
        self.raft
            .change_membership(change, false)
            .await
            .map_err(refusal)?;
        Ok(MembershipAnswer::Changed)
    }

    /// Voter IDs and all node IDs (voters and learners) of the effective membership.
    fn membership_sets(&self) -> (BTreeSet<NodeId>, BTreeSet<NodeId>) {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        (
            membership.voter_ids().collect(),
            membership.nodes().map(|(id, _)| *id).collect(),
        )
    }

    /// The managers as this manager sees them.
    pub fn members_here(&self) -> Vec<Member> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| {
                let leader = m.current_leader == Some(*id);
                let reachability = if *id == self.config.id {
                    Reachability::Reachable
                } else {
                    self.peers.reachability(*id)
                };
                Member {
                    id: *id,
                    addr: node.addr.clone(),
                    voter: voters.contains(id),
                    leader,
                    reachability,
                }
            })
            .collect()
    }
}
