//! [`LeaderComponents`]: what a leader runs (dispatcher, allocator, orchestrator, scheduler,
//! role manager), and what it does when one of them keeps failing: step down so that another
//! manager leads, or, when no other manager can, run without them for a while and try again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use store::Store;
use tokio_util::sync::CancellationToken;
use types::{Node, NodeRole};

use super::supervisor::{Component, Escalation, Exit, Supervisor};
use super::StepDown;
use crate::allocator::Allocator;
use crate::dispatcher::service::DispatcherSlot;
use crate::dispatcher::{Dispatcher, DispatcherConfig};
use crate::membership::roles::RoleManager;
use crate::membership::{RaftMember, RaftMembership};
use crate::orchestrator::Orchestrator;
use crate::scheduler::Scheduler;

/// After stepping down, how long to wait for the leadership to move (the others elect within
/// an election timeout) before running the components again.
pub const STEP_DOWN_PATIENCE: Duration = Duration::from_secs(10);
/// When stepping down is refused (the only manager, or the others could not form a quorum
/// without this one), how long this leader runs without components before trying them all
/// again. Long: they just failed repeatedly, and each try ends the same way until the cause is
/// fixed.
pub const ESCALATION_RETRY: Duration = Duration::from_secs(30);

/// The leader-only components of one manager, over its store and Raft group.
pub struct LeaderComponents {
    store: Store,
    /// The Raft group, for the role manager and to check that stepping down leaves voters.
    raft: Arc<dyn RaftMembership>,
    step_down: Arc<dyn StepDown>,
    /// Where the dispatcher's gRPC face finds the running dispatcher.
    dispatcher: Arc<DispatcherSlot>,
    /// Where the components count their events, for `GET /metrics`.
    metrics: metrics::Metrics,
}

impl LeaderComponents {
    pub fn new(
        store: Store,
        raft: Arc<dyn RaftMembership>,
        step_down: Arc<dyn StepDown>,
        dispatcher: Arc<DispatcherSlot>,
    ) -> LeaderComponents {
        LeaderComponents {
            store,
            raft,
            step_down,
            dispatcher,
            metrics: metrics::Metrics::default(),
        }
    }

    /// The components count their events (decisions, restarts, missed heartbeats) into
    /// `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: metrics::Metrics) -> LeaderComponents {
        self.metrics = metrics;
        self
    }

    /// The components, by name. Each start is a fresh run over the store.
    pub fn components(&self) -> Vec<Component> {
        let store = &self.store;
        vec![
            self.dispatcher_component(),
            Component::infallible("allocator", {
                let store = store.clone();
                move |token| Allocator::new(store.clone()).run(token)
            }),
            Component::infallible("orchestrator", {
                let store = store.clone();
                let metrics = self.metrics.clone();
                move |token| {
                    Orchestrator::new(store.clone())
                        .with_metrics(metrics.clone())
                        .run(token)
                }
            }),
            Component::infallible("scheduler", {
                let store = store.clone();
                let metrics = self.metrics.clone();
                move |token| {
                    Scheduler::new(store.clone())
                        .with_metrics(metrics.clone())
                        .run(token)
                }
            }),
            Component::infallible("role manager", {
                let store = store.clone();
                let raft = self.raft.clone();
                move |token| RoleManager::new(store.clone(), raft.clone()).run(token)
            }),
        ]
    }

    /// Runs the components until `shutdown` (leadership lost, or the manager stopping).
    pub async fn run(self, shutdown: CancellationToken) {
        let components = self.components();
        self.supervise(components, shutdown).await
    }

    pub(super) async fn supervise(&self, components: Vec<Component>, shutdown: CancellationToken) {
        loop {
            let exit = Supervisor::new(components.clone())
                .run(shutdown.clone())
                .await;
            let Exit::Escalated(why) = exit else { return };
            let pause = self.give_up(&why).await;
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            tracing::warn!("still the leader: starting the leader components again");
        }
    }

    /// Steps down after `why`; answers how long to wait before running the components again.
    async fn give_up(&self, why: &Escalation) -> Duration {
        tracing::error!(%why, "stepping down so that another manager leads");
        match self.hand_over().await {
            Ok(()) => STEP_DOWN_PATIENCE,
            Err(reason) => {
                tracing::error!(
                    %reason, retry_in = ?ESCALATION_RETRY,
                    "cannot step down: leading without components until the retry"
                );
                ESCALATION_RETRY
            }
        }
    }

    async fn hand_over(&self) -> Result<(), String> {
        let members = self.raft.members().await;
        let waiting = self.store.view(|t| managers_not_voting(&t.nodes, &members));
        if !waiting.is_empty() {
            // One at a time: a manager that stepped down is out of the voters until the next
            // leader adds it back; stepping down meanwhile would shrink the voters again.
            return Err(format!(
                "managers {waiting:?} are not voters yet; the others need them first"
            ));
        }
        self.step_down.step_down().await
    }

    /// A fresh dispatcher per run, so the sessions of a failed one end and agents open new
    /// ones. The slot is emptied when the run ends (a panic included): agents are then told
    /// to retry rather than served by a dispatcher that no longer publishes.
    fn dispatcher_component(&self) -> Component {
        let store = self.store.clone();
        let slot = self.dispatcher.clone();
        let metrics = self.metrics.clone();
        Component::infallible("dispatcher", move |token| {
            let config = DispatcherConfig {
                heartbeat_period: heartbeat_period(&store),
                metrics: metrics.clone(),
            };
            let dispatcher = Dispatcher::new(store.clone(), config);
            slot.set(Some(dispatcher.clone()));
            let vacate = Vacate(slot.clone());
            async move {
                let _vacate = vacate;
                dispatcher.run(token).await
            }
        })
    }
}

/// Empties the dispatcher slot when dropped.
struct Vacate(Arc<DispatcherSlot>);

impl Drop for Vacate {
    fn drop(&mut self) {
        self.0.set(None);
    }
}

/// The cluster's heartbeat period (at least 50 ms), the default before a cluster exists.
fn heartbeat_period(store: &Store) -> Duration {
    store.view(|t| {
        t.cluster()
            .map(|c| Duration::from_millis(c.spec.heartbeat_period_ms.max(50)))
            .unwrap_or_else(|| DispatcherConfig::default().heartbeat_period)
    })
}

/// Hostnames of the nodes that should be managers but are not Raft voters (yet).
pub(super) fn managers_not_voting(
    nodes: &BTreeMap<String, Node>,
    members: &[RaftMember],
) -> Vec<String> {
    nodes
        .values()
        .filter(|n| n.spec.desired_role == NodeRole::Manager)
        .filter(|n| {
            let raft_id = n.manager_status.as_ref().map(|s| s.raft_id);
            !members
                .iter()
                .any(|m| m.voter && Some(m.raft_id) == raft_id)
        })
        .map(|n| match n.description.hostname.as_str() {
            "" => n.id.clone(),
            hostname => hostname.to_string(),
        })
        .collect()
}
