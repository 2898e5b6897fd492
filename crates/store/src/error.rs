//! Errors of the store.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum StoreError {
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: String, id: String },
    #[error("{kind} {id} not found")]
    NotFound { kind: String, id: String },
    /// Someone else changed the object since it was read; read again and retry.
    #[error("{kind} {id} was changed concurrently (version {expected} read, {actual} stored)")]
    Conflict {
        kind: String,
        id: String,
        expected: u64,
        actual: u64,
    },
    /// A name or published port another service holds: cluster-wide invariants checked when
    /// the write is applied, so two concurrent writes can never both take the same one.
    #[error("{0}")]
    Taken(String),
    /// No leader is known or the leader cannot be reached: the write was not committed.
    #[error("no leader reachable: {0}")]
    NoLeader(String),
    /// This node cannot take part in consensus (not a manager, shutting down, ...).
    #[error("write refused: {0}")]
    Unavailable(String),
    #[error("storage failure: {0}")]
    Storage(String),
}
