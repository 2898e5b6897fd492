//! [`RaftNode`]: a manager's part in consensus, as the daemon drives it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use api::raft::raft_server::RaftServer;
use openraft::{RaftMetrics, ServerState};
use tokio::sync::{watch, Mutex};
use tokio_util::sync::CancellationToken;

use super::batcher::Batcher;
use super::config::RaftConfig;
use super::core::NodeCore;
use super::db::RaftDb;
use super::error::RaftNodeError;
use super::membership::Member;
use super::network::{NetworkFactory, Rpc, Transport};
use super::peers::PeerHealth;
use super::proposer::RaftProposer;
use super::service::RaftService;
use super::state_machine::StateMachine;
use super::wire::{MembershipAnswer, MembershipRequest};
use super::{LogStore, ManagerNode, NodeId, Raft};
use crate::memory::MemoryStore;
use crate::store::Store;

/// openraft's tasks (a replication stream in a slow RPC, a snapshot being written) may
/// hold the database a little after the core stopped.
const DB_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who leads, as this manager sees it. Leader-only components start when `is_self` turns
/// true and stop when it turns false.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Leadership {
    pub term: u64,
    /// The leader's ID and address, once one is known.
    pub leader: Option<(NodeId, String)>,
    /// This manager is the leader.
    pub is_self: bool,
}

/// A running manager's Raft node. Cheap to share behind an `Arc`; stop it with
/// [`RaftNode::shutdown`].
pub struct RaftNode {
    core: Arc<NodeCore>,
    leadership: watch::Receiver<Leadership>,
    /// Resolves when openraft's tasks released the database file: shutdown waits for it so
    /// the same state directory can be opened again at once.
    db_closed: Mutex<Option<Pin<Box<dyn Future<Output = ()> + Send>>>>,
    /// Snapshots built since this process started (the state machine's counter).
    snapshots_built: Arc<AtomicU64>,
}

impl RaftNode {
    /// Opens the state in `config.dir` (creating it if empty) and starts Raft. A manager with
    /// existing state resumes its cluster; a new one waits to be initialized or added.
    pub async fn start(
        config: RaftConfig,
        memory: Arc<MemoryStore>,
    ) -> Result<RaftNode, RaftNodeError> {
        config.validate()?;
        let openraft_config = Arc::new(config.openraft()?);
        let db = RaftDb::open(&config.dir)?;
        let state_err = |e: &dyn std::fmt::Display| RaftNodeError::State {
            path: db.path().to_path_buf(),
            reason: e.to_string(),
        };
        let log = LogStore::new(db.clone());
        let sm = StateMachine::open(db.clone(), memory.clone()).map_err(|e| state_err(&e))?;
        let snapshots_built = sm.snapshots_built();
        // Silent for a few election timeouts = unreachable, for `node ls`.
        let peers = Arc::new(PeerHealth::new(config.election_timeout_max * 3));
        let transport = Transport::new(config.dial.clone());
        let network = NetworkFactory {
            id: config.id,
            transport: transport.clone(),
            peers: peers.clone(),
            backoff: config.heartbeat_interval * 2,
        };
        let raft = Raft::new(config.id, openraft_config, network, log, sm)
            .await
            .map_err(|e| state_err(&e))?;
        let db_closed = Mutex::new(Some(Box::pin(db.closed()) as Pin<Box<_>>));
        drop(db);
        let stopped = CancellationToken::new();
        let core = Arc::new(NodeCore {
            batcher: Batcher::start(raft.clone(), stopped.clone()),
            raft,
            config,
            transport,
            peers,
            memory,
            stopped,
        });
        let leadership = watch_leadership(&core);
        Ok(RaftNode {
            core,
            leadership,
            db_closed,
            snapshots_built,
        })
    }

    pub fn id(&self) -> NodeId {
        self.core.config.id
    }

    pub fn config(&self) -> &RaftConfig {
        &self.core.config
    }

    /// The gRPC service to add to this manager's server.
    pub fn service(&self) -> RaftServer<RaftService> {
        RaftService::new(self.core.clone()).into_server()
    }

    /// The proposer that commits writes through Raft.
    pub fn proposer(&self) -> Arc<RaftProposer> {
        Arc::new(RaftProposer::new(self.core.clone()))
    }

    /// The store components use: reads from local memory, writes through Raft.
    pub fn store(&self) -> Store {
        Store::new(self.core.memory.clone(), self.proposer())
    }

    /// Whether this manager belongs to a cluster (created one or was added to one).
    pub async fn is_initialized(&self) -> Result<bool, RaftNodeError> {
        self.core
            .raft
            .is_initialized()
            .await
            .map_err(|e| RaftNodeError::Stopped(e.to_string()))
    }

    /// Creates a new cluster with this manager as its only voter; it elects itself at once.
    pub async fn initialize_single(&self) -> Result<(), RaftNodeError> {
        if self.is_initialized().await? {
            return Err(RaftNodeError::AlreadyInitialized);
        }
        let c = &self.core.config;
        let members = BTreeMap::from([(c.id, ManagerNode::new(c.addr.clone()))]);
        self.core
            .raft
            .initialize(members)
            .await
            .map_err(|e| RaftNodeError::Membership(e.to_string()))
    }

    /// Adds manager `id` listening at `addr`: first as a learner that receives the log (or a
    /// snapshot), then, once caught up, as a voter. Works from any manager.
    pub async fn add_voter(
        &self,
        id: NodeId,
        addr: impl Into<String>,
    ) -> Result<(), RaftNodeError> {
        let req = MembershipRequest::AddVoter {
            id,
            addr: addr.into(),
        };
        let budget = self.core.config.catch_up_timeout + self.core.config.write_timeout;
        self.membership(req, budget).await.map(|_| ())
    }

    /// Removes manager `id` (a down manager included) from the cluster. Works from any manager.
    pub async fn remove_node(&self, id: NodeId) -> Result<(), RaftNodeError> {
        let budget = self.core.config.write_timeout;
        self.membership(MembershipRequest::Remove { id }, budget)
            .await
            .map(|_| ())
    }

    async fn membership(
        &self,
        req: MembershipRequest,
        budget: std::time::Duration,
    ) -> Result<MembershipAnswer, RaftNodeError> {
        let core = &self.core;
        core.to_leader(Rpc::ChangeMembership, &req, budget, || {
            core.membership_here(req.clone())
        })
        .await
    }

    /// Makes another manager the leader, if this one leads, by leaving the Raft group: it
    /// keeps its log and becomes a voter again when the next leader's role manager adds it
    /// back. Until then this manager is outside the quorum. Refused ([`RaftNodeError::StepDownRefused`]) when no other manager could
    /// lead or the others would lose the quorum. On `Ok` leadership has moved or is moving
    /// (the others elect within an election timeout).
    pub async fn step_down(&self) -> Result<(), RaftNodeError> {
        self.core.step_down_here().await
    }

    /// The managers with their reachability, as the leader sees them; this manager's own view
    /// when no leader answers (then peers it has not heard from are `Unknown`/`Unreachable`).
    pub async fn members(&self) -> Vec<Member> {
        let budget = self.core.config.heartbeat_interval * 5;
        match self.membership(MembershipRequest::List, budget).await {
            Ok(MembershipAnswer::Members(members)) => members,
            _ => self.core.members_here(),
        }
    }

    /// The leader's ID and address, if one is known.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        self.core.leader()
    }

    pub fn is_leader(&self) -> bool {
        self.core.is_leader()
    }

    /// Leadership changes, starting with the current state.
    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// openraft's metrics (log, applied and snapshot positions, replication) for diagnostics.
    pub fn metrics(&self) -> watch::Receiver<RaftMetrics<NodeId, ManagerNode>> {
        self.core.raft.metrics()
    }

    /// Snapshots of the state this manager built since it started.
    pub fn snapshots_built(&self) -> u64 {
        self.snapshots_built.load(Ordering::Relaxed)
    }

    /// Stops Raft and releases the state directory. Idempotent.
    pub async fn shutdown(&self) -> Result<(), RaftNodeError> {
        self.core.stopped.cancel();
        let stopped = self.core.raft.shutdown().await;
        // openraft's worker tasks drop their storage handles shortly after the core stops.
        let closed = self.db_closed.lock().await.take();
        if let Some(closed) = closed {
            if tokio::time::timeout(DB_RELEASE_TIMEOUT, closed)
                .await
                .is_err()
            {
                tracing::warn!("raft storage still in use {DB_RELEASE_TIMEOUT:?} after shutdown");
            }
        }
        stopped.map_err(|e| RaftNodeError::Stopped(e.to_string()))
    }
}

/// Follows openraft's metrics and publishes only leadership changes.
fn watch_leadership(core: &Arc<NodeCore>) -> watch::Receiver<Leadership> {
    let (tx, rx) = watch::channel(leadership_of(core, &core.raft.metrics().borrow()));
    let mut metrics = core.raft.metrics();
    let core = Arc::downgrade(core);
    tokio::spawn(async move {
        while metrics.changed().await.is_ok() {
            let Some(core) = core.upgrade() else { break };
            if core.stopped.is_cancelled() {
                break;
            }
            let now = leadership_of(&core, &metrics.borrow_and_update());
            tx.send_if_modified(|l| {
                let changed = *l != now;
                *l = now;
                changed
            });
        }
        // Stopped: whoever watches must stop leader-only work.
        tx.send_if_modified(|l| std::mem::replace(&mut l.is_self, false));
    });
    rx
}

fn leadership_of(core: &NodeCore, m: &RaftMetrics<NodeId, ManagerNode>) -> Leadership {
    let leader = m.current_leader.and_then(|id| {
        let node = m.membership_config.membership().get_node(&id)?;
        Some((id, node.addr.clone()))
    });
    Leadership {
        term: m.current_term,
        is_self: m.state == ServerState::Leader && m.current_leader == Some(core.config.id),
        leader,
    }
}
