//! The store replicated between managers with openraft, durable in redb.
//!
//! - `batcher`: groups concurrent writes on the leader into one log entry
//! - [`config`]: [`RaftConfig`], timings and snapshot policy, checked by `validate()`
//! - [`db`]: the one redb file (`DIR/raft.redb`) and its tables
//! - [`log_store`]: the Raft log, vote and committed index ([`LogStore`])
//! - [`state_machine`]: applies committed writes to the shared [`MemoryStore`](crate::MemoryStore);
//!   builds, stores and installs snapshots ([`StateMachine`])
//! - `core`: what the node, the service and the proposer share; routing to the leader
//! - [`wire`]: what travels inside `RaftBytes` between managers
//! - [`network`]: the client side of the transport (tonic channels to peers)
//! - [`service`]: the server side, [`RaftService`], to add to a manager's gRPC server
//! - [`peers`]: when each peer was last heard from (the "Reachable" of `node ls`)
//! - `recent`: the newest log entries kept decoded, so reading them back costs no JSON
//! - [`proposer`]: [`RaftProposer`], the [`Proposer`](crate::Proposer) that commits through Raft
//! - [`node`]: [`RaftNode`], the handle the daemon holds: start, membership, leadership, shutdown
//! - [`membership`]: adding and removing managers, on the leader
//! - [`error`]: what can go wrong running a node, [`RaftNodeError`]

mod batcher;
pub mod config;
mod core;
pub mod db;
pub mod error;
pub mod log_store;
pub mod membership;
pub mod network;
pub mod node;
pub mod peers;
pub mod proposer;
mod recent;
pub mod service;
pub mod state_machine;
pub mod wire;

use std::io::Cursor;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::action::StoreAction;
use crate::error::StoreError;

pub use config::RaftConfig;
pub use error::RaftNodeError;
pub use log_store::LogStore;
pub use membership::Member;
pub use network::Dial;
pub use node::{Leadership, RaftNode};
pub use peers::Reachability;
pub use proposer::RaftProposer;
pub use service::{serve, RaftService};
pub use state_machine::StateMachine;

/// A manager's Raft ID.
pub type NodeId = u64;

/// What the cluster knows about a manager: where its gRPC server listens (`host:port`).
pub type ManagerNode = openraft::BasicNode;

/// One log entry: writes proposed concurrently, committed together with one fsync and one
/// replication round, then applied one after the other, each all-or-nothing on its own.
/// (openraft 0.9 appends and fsyncs each entry separately, so batching happens here:
/// see [`batcher`].)
///
/// The writes are shared: openraft copies entries (the log keeps the newest in memory, each
/// replication stream takes its own), and a copy must not clone every object in them.
#[derive(Debug, Clone, PartialEq)]
pub struct Request(pub Arc<Vec<Vec<StoreAction>>>);

impl From<Vec<Vec<StoreAction>>> for Request {
    fn from(writes: Vec<Vec<StoreAction>>) -> Self {
        Request(Arc::new(writes))
    }
}

/// Encoded as the list of writes alone, as before the writes were shared.
impl Serialize for Request {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Request {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::deserialize(d).map(Request::from)
    }
}

/// The outcome of applying each write of a [`Request`], in order. A failed check (version
/// conflict, duplicate) is that writer's answer, not a failure of consensus: the entry stays
/// committed and the other writes in it apply normally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response(pub Vec<Result<(), StoreError>>);

openraft::declare_raft_types!(
    /// openraft's types for the swarm store.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = NodeId,
        Node = ManagerNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The openraft instance of a manager.
pub type Raft = openraft::Raft<TypeConfig>;
