//! Node admission and manager membership.
//!
//! - [`join`]: the `Membership` RPCs: `Join` (a join token decides the role; the node object is
//!   created in the store and the node gets its certificate) and `RenewCertificate`
//! - [`issuer`]: signing certificates with the cluster CA held in the store
//! - [`roles`]: the leader-only role manager: makes Raft membership follow each node's
//!   desired role (join as manager, promote, demote, remove) and records who leads

pub mod issuer;
pub mod join;
pub mod roles;

use futures::future::BoxFuture;

/// A member of the Raft group as consensus sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftMember {
    pub raft_id: u64,
    pub addr: String,
    /// Voter (not learner).
    pub voter: bool,
    /// Whether the leader hears from it (meaningful on the leader only).
    pub reachable: bool,
}

/// What the role manager needs from consensus; the daemon implements it over openraft.
pub trait RaftMembership: Send + Sync + 'static {
    /// This manager's Raft ID.
    fn raft_id(&self) -> u64;
    /// Raft ID of the current leader, if known.
    fn leader_id(&self) -> Option<u64>;
    /// The group as the leader sees it.
    fn members(&self) -> BoxFuture<'_, Vec<RaftMember>>;
    /// Adds a manager: learner first, voter once it has caught up.
    fn add_voter(&self, raft_id: u64, addr: String) -> BoxFuture<'_, Result<(), String>>;
    /// Removes a manager from the voters and the group.
    fn remove(&self, raft_id: u64) -> BoxFuture<'_, Result<(), String>>;
}
