//! Errors of running a manager's Raft node (writes report [`StoreError`](crate::StoreError)).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::NodeId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RaftNodeError {
    #[error("invalid raft configuration: {0}")]
    Config(String),
    /// The state directory or database cannot be used; the message names the file.
    #[error("raft state {path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("this manager already belongs to a cluster; it cannot create another one")]
    AlreadyInitialized,
    #[error("no leader reachable: {0}")]
    NoLeader(String),
    #[error("manager {0} is not a member of the cluster")]
    UnknownMember(NodeId),
    /// Adding a manager timed out before it caught up; it stays a non-voting learner.
    #[error("manager {id} at {addr} did not catch up within {secs} s; is it reachable?")]
    CatchUpTimeout { id: NodeId, addr: String, secs: u64 },
    /// Refused by Raft (membership change in progress, quorum rules, ...).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// This manager cannot hand leadership over; the message says what is missing.
    #[error("cannot give up leadership: {0}")]
    StepDownRefused(String),
    /// Raft stopped (shut down or failed on a storage error).
    #[error("raft stopped: {0}")]
    Stopped(String),
    #[error("manager transport: {0}")]
    Transport(String),
}
