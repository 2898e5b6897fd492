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

    /// Gives up leadership by leaving the group. openraft 0.9 has no leader transfer (it came
    /// in 0.10), and a leader it keeps as a learner goes on leading (openraft leaders need not
    /// be voters); a leader removed from the membership steps down once the change is
    /// committed, and the remaining voters elect a leader among themselves. Its log stays on
    /// disk: the next leader's role manager adds it back (learner, then voter, as for any
    /// manager whose node wants the manager role) and it catches up from where it was.
    ///
    /// Refused when the remaining voters could not carry on: there are none, one of them is
    /// unreachable (the smaller group needs every one of them), or a manager is still being
    /// added. Succeeds at once if this manager does not lead.
    pub async fn step_down_here(&self) -> Result<(), RaftNodeError> {
        if !self.is_leader() {
            return Ok(());
        }
        let me = self.config.id;
        let (voters, nodes) = self.membership_sets();
        let others: Vec<NodeId> = voters.iter().copied().filter(|id| *id != me).collect();
        let refused = |why: String| Err(RaftNodeError::StepDownRefused(why));
        if others.is_empty() {
            return refused("this is the only manager; add managers so another can lead".into());
        }
        let joining: Vec<NodeId> = nodes.difference(&voters).copied().collect();
        if !joining.is_empty() {
            return refused(format!(
                "managers {joining:?} are still being added; retry once they vote"
            ));
        }
        let unreachable: Vec<NodeId> = others
            .iter()
            .copied()
            .filter(|id| self.peers.reachability(*id) != Reachability::Reachable)
            .collect();
        if !unreachable.is_empty() {
            return refused(format!(
                "managers {unreachable:?} are unreachable; without this manager the others \
                 would have no quorum"
            ));
        }
        let change = ChangeMembers::RemoveVoters(BTreeSet::from([me]));
        let changed = self.raft.change_membership(change, false);
        match tokio::time::timeout(self.config.write_timeout, changed).await {
            Err(_) => refused(format!(
                "leaving the voters was not committed within {:?}",
                self.config.write_timeout
            )),
            Ok(Err(e)) => match refusal(e) {
                Refusal::NotLeader { .. } => Ok(()),
                Refusal::Failed(e) => Err(e),
            },
            Ok(Ok(_)) => Ok(()),
        }
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
