//! A manager's part: Raft, the replicated store, and the leader-only components
//! ([`LeaderComponents`], supervised in the manager crate), which start when this manager
//! becomes leader and stop when it loses leadership.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use manager::dispatcher::service::DispatcherSlot;
use manager::events::{EventHistory, HistoryLimits};
use manager::leader::LeaderComponents;
use store::raft::{Dial, RaftConfig, RaftNode};
use store::{MemoryStore, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::adapters::RaftGroup;
use crate::config::Identity;

pub const RAFT_DIR: &str = "raft";

pub struct ManagerRuntime {
    pub raft: Arc<RaftNode>,
    pub store: Store,
    /// The dispatcher while this manager leads; the gRPC face redirects otherwise.
    pub dispatcher: Arc<DispatcherSlot>,
    /// Where the Control API and the leader's components count events, for `GET /metrics`.
    pub metrics: metrics::Metrics,
    /// Cluster events recorded from this manager's store, served by its control API.
    pub events: EventHistory,
    stop: CancellationToken,
    leader_loop: JoinHandle<()>,
    /// The supervised event recorder; runs on every manager, leader or not.
    recorder: JoinHandle<()>,
}

impl ManagerRuntime {
    /// Opens (or creates) this manager's Raft state under `state_dir/raft` and starts Raft.
    pub async fn start(
        identity: &Identity,
        state_dir: &Path,
        snapshot_interval: u64,
        dial: Dial,
        metrics: &metrics::Metrics,
    ) -> Result<ManagerRuntime> {
        let mut config = RaftConfig::new(
            identity.raft_id,
            identity.advertise_addr.to_string(),
            state_dir.join(RAFT_DIR),
        );
        config.snapshot_interval = snapshot_interval;
        config.dial = dial;
        // The Raft files hold the cluster object, and with it the CA key: owner only.
        let raft_dir = state_dir.join(RAFT_DIR);
        std::fs::create_dir_all(&raft_dir)
            .and_then(|()| {
                std::fs::set_permissions(&raft_dir, std::fs::Permissions::from_mode(0o700))
            })
            .with_context(|| format!("creating {}", raft_dir.display()))?;
        let memory = Arc::new(MemoryStore::new());
        let raft = RaftNode::start(config, memory)
            .await
            .with_context(|| format!("starting raft in {}", state_dir.join(RAFT_DIR).display()))?;
        let raft = Arc::new(raft);
        let store = raft.store();
        let dispatcher = Arc::new(DispatcherSlot::default());
        let stop = CancellationToken::new();
        let events = EventHistory::new(HistoryLimits::default());
        let recorder = tokio::spawn(manager::events::run_supervised(
            store.clone(),
            events.clone(),
            stop.clone(),
        ));
        let leader_loop = tokio::spawn(follow_leadership(
            raft.clone(),
            store.clone(),
            dispatcher.clone(),
            stop.clone(),
            metrics.clone(),
        ));
        Ok(ManagerRuntime {
            raft,
            store,
            dispatcher,
            metrics: metrics.clone(),
            events,
            stop,
            leader_loop,
            recorder,
        })
    }

    /// Waits until some manager leads (this one, for a new cluster).
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<()> {
        let mut rx = self.raft.leadership();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if rx.borrow_and_update().leader.is_some() {
                return Ok(());
            }
            tokio::time::timeout_at(deadline, rx.changed())
                .await
                .context("no raft leader elected in time")?
                .context("raft stopped")?;
        }
    }

    /// Stops the leader-only components and Raft. The store's files stay for a restart.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.leader_loop.await;
        let _ = self.recorder.await;
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }
}

/// Starts the leader-only components on gaining leadership, stops them on losing it.
async fn follow_leadership(
    raft: Arc<RaftNode>,
    store: Store,
    slot: Arc<DispatcherSlot>,
    stop: CancellationToken,
    metrics: metrics::Metrics,
) {
    let mut leadership = raft.leadership();
    let mut running: Option<Leading> = None;
    loop {
        let leads = leadership.borrow_and_update().is_self;
        if leads && running.is_none() {
            // Entries committed under the previous leader may not be applied here yet; deciding
            // from that older state could create tasks twice.
            caught_up(&raft).await;
            tracing::info!("became leader: starting the leader components");
            let group = Arc::new(RaftGroup(raft.clone()));
            let components =
                LeaderComponents::new(store.clone(), group.clone(), group, slot.clone())
                    .with_metrics(metrics.clone());
            let token = CancellationToken::new();
            running = Some(Leading {
                handle: tokio::spawn(components.run(token.clone())),
                token,
            });
        } else if !leads {
            if let Some(leading) = running.take() {
                tracing::info!("lost leadership: stopping the leader components");
                leading.stop().await;
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            r = leadership.changed() => if r.is_err() { break },
        }
    }
    if let Some(leading) = running.take() {
        leading.stop().await;
    }
}

/// The leader components while this manager leads.
struct Leading {
    token: CancellationToken,
    handle: JoinHandle<()>,
}

impl Leading {
    /// Cancels the components and waits until every one has stopped.
    async fn stop(self) {
        self.token.cancel();
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "leader components ended abnormally");
        }
    }
}

/// Waits (bounded) until this manager has applied every entry in its log: as leader, its log
/// holds everything ever committed.
async fn caught_up(raft: &RaftNode) {
    let mut metrics = raft.metrics();
    let target = metrics.borrow().last_log_index.unwrap_or(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let applied = metrics.borrow().last_applied.map(|l| l.index).unwrap_or(0);
        if applied >= target {
            return;
        }
        match tokio::time::timeout_at(deadline, metrics.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                tracing::warn!(
                    applied,
                    target,
                    "starting leader components before catching up"
                );
                return;
            }
        }
    }
}
