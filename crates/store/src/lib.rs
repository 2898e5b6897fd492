//! The replicated cluster state.
//!
//! - [`tables`]: the state as plain maps, and how a write applies to it (all-or-nothing,
//!   optimistic concurrency by version)
//! - [`memory`]: the in-memory state every manager reads, with `view_and_watch`
//! - [`store`]: [`Store`], the handle components use: local reads, writes through a [`Proposer`]
//! - [`proposer`]: the seam between the store and consensus; [`LocalProposer`] for tests
//! - [`claims`]: the index that keeps service names and ingress ports unique without a scan
//! - [`lookup`]: ID / prefix / name resolution as docker does it
//! - [`raft`]: openraft on redb, and the gRPC transport between managers

pub mod action;
pub mod claims;
pub mod error;
pub mod lookup;
pub mod memory;
pub mod proposer;
pub mod raft;
pub mod store;
pub mod tables;

pub use action::{Event, Kind, Object, StoreAction};
pub use claims::Claims;
pub use error::StoreError;
pub use lookup::LookupError;
pub use memory::{EventBatch, MemoryStore};
pub use proposer::{LocalProposer, Proposer};
pub use raft::{RaftConfig, RaftNode, RaftNodeError};
pub use store::{Store, Tx};
pub use tables::Tables;
