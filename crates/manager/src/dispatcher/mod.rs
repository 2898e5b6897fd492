//! The dispatcher (leader only): keeps a session with every node's agent, streams each node
//! its assignments and the network view, takes heartbeats and task status, and declares nodes
//! that stop heartbeating DOWN so the orchestrator replaces their tasks.
//!
//! - [`view`]: what a node is told, as pure functions over the store; `overlays`: its user
//!   networks part
//! - [`assignment`]: what one push holds, and whether it is news to the node (its own status
//!   reports are not echoed back)
//! - `liveness`: nodes that stop heartbeating become DOWN
//! - `pace`: the heartbeat period told to agents, longer as the cluster grows
//! - `publisher`: follows the store's events so that a push pass costs what changed
//! - [`service`]: the gRPC face, which also redirects agents to the leader

pub mod assignment;
mod data;
mod liveness;
mod overlays;
mod pace;
mod publisher;
#[cfg(test)]
mod push_tests;
pub mod service;
#[cfg(test)]
mod tests;
pub mod view;
pub mod view_log;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store::{Object, Store, StoreError, Tables};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use types::{NodeDescription, NodeState, TaskStatus};

pub use assignment::Assignment;
use pace::Pace;
use publisher::Publisher;

/// Coalesces bursts of store writes into one push to agents.
const PUBLISH_DEBOUNCE: Duration = Duration::from_millis(15);

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How often agents heartbeat in a small cluster (LAN-fast by default); a large one is told
    /// a multiple of it (see `pace`).
    pub heartbeat_period: Duration,
    /// Where nodes declared down for missed heartbeats are counted, for `GET /metrics`.
    pub metrics: metrics::Metrics,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            heartbeat_period: Duration::from_millis(500),
            metrics: metrics::Metrics::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("node {0} is not part of the cluster; join it first")]
    UnknownNode(String),
    #[error("session {0} is not current (the node reconnected or was declared down); open a new session")]
    StaleSession(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Session {
    id: String,
    last_seen: Instant,
    tx: watch::Sender<Option<Arc<Assignment>>>,
}

pub struct Dispatcher {
    store: Store,
    config: DispatcherConfig,
    sessions: Mutex<HashMap<String, Session>>,
    /// Wakes the publisher when a session opens.
    kick: tokio::sync::Notify,
    /// When each node without a session was first noticed; it is DOWN after a grace period.
    unseen_since: Mutex<HashMap<String, Instant>>,
    /// What the last push pass knew, so the next one does only what changed.
    publisher: Mutex<Publisher>,
    /// A session opened since the last push pass, which must then look at every session.
    opened: AtomicBool,
    /// The heartbeat period told to agents. Its own lock: heartbeats must not wait for a
    /// push pass.
    pace: Mutex<Pace>,
}

impl Dispatcher {
    pub fn new(store: Store, config: DispatcherConfig) -> Arc<Self> {
        // Sized from the start: after a leader change, every node is judged by this pace
        // before the first push pass.
        let pace = Pace::new(config.heartbeat_period, store.view(|t| t.nodes.len()));
        Arc::new(Dispatcher {
            config,
            pace: Mutex::new(pace),
            sessions: Mutex::new(HashMap::new()),
            kick: tokio::sync::Notify::new(),
            unseen_since: Mutex::new(HashMap::new()),
            publisher: Mutex::new(Publisher::new(&store)),
            opened: AtomicBool::new(false),
            store,
        })
    }

    /// Registers a node's session (replacing an older one of the same node) and marks the
    /// node READY with the description it reported.
    pub async fn open_session(
        &self,
        node_id: &str,
        description: NodeDescription,
    ) -> Result<(String, watch::Receiver<Option<Arc<Assignment>>>), DispatchError> {
        self.store
            .update(|t, tx| {
                let Some(node) = t.nodes.get(node_id) else {
                    return Err(DispatchError::UnknownNode(node_id.to_string()));
                };
                let mut node = node.clone();
                node.description = description.clone();
                node.status.state = NodeState::Ready;
                node.status.message = String::new();
                tx.update(Object::Node(node));
                Ok(())
            })
            .await?;
        let session_id = types::new_id();
        let (tx, rx) = watch::channel(None);
        self.sessions.lock().expect("sessions lock").insert(
            node_id.to_string(),
            Session {
                id: session_id.clone(),
                last_seen: Instant::now(),
                tx,
            },
        );
        // After the insert: a pass that takes the flag sees the session.
        self.opened.store(true, Ordering::Release);
        self.kick.notify_one();
        Ok((session_id, rx))
    }

    fn check_session(&self, node_id: &str, session_id: &str) -> Result<(), DispatchError> {
        let mut sessions = self.sessions.lock().expect("sessions lock");
        match sessions.get_mut(node_id) {
            Some(s) if s.id == session_id => {
                s.last_seen = Instant::now();
                Ok(())
            }
            _ => Err(DispatchError::StaleSession(session_id.to_string())),
        }
    }

    /// Records a heartbeat; answers the period the agent should keep.
    pub fn heartbeat(&self, node_id: &str, session_id: &str) -> Result<Duration, DispatchError> {
        self.check_session(node_id, session_id)?;
        Ok(self.heartbeat_period())
    }

    /// How many nodes have a session open now.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    /// The period agents are told now.
    pub fn heartbeat_period(&self) -> Duration {
        self.pace.lock().expect("pace lock").period()
    }

    /// Writes the statuses an agent reports, in one store write. Only tasks placed on that
    /// node are touched, and a state never moves backwards.
    pub async fn update_task_status(
        &self,
        node_id: &str,
        session_id: &str,
        updates: Vec<(String, TaskStatus)>,
    ) -> Result<(), DispatchError> {
        self.check_session(node_id, session_id)?;
        self.store
            .update(|t, tx| {
                for (task_id, status) in &updates {
                    let Some(task) = t.tasks.get(task_id) else {
                        continue; // deleted meanwhile: nothing to record
                    };
                    if task.node_id != node_id || status.state < task.status.state {
                        continue;
                    }
                    if task.status == *status {
                        continue;
                    }
                    let mut task = task.clone();
                    task.status = status.clone();
                    tx.update(Object::Task(task));
                }
                Ok::<_, DispatchError>(())
            })
            .await
    }

    /// Pushes assignments to sessions and declares silent nodes down, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut events = self.store.watch();
        let mut liveness = tokio::time::interval(self.config.heartbeat_period / 2);
        let mut dirty = true;
        loop {
            if dirty {
                tokio::time::sleep(PUBLISH_DEBOUNCE).await;
                // Drain what arrived during the debounce: one publish covers it all.
                while let Ok(_) | Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) =
                    events.try_recv()
                {}
                self.publish();
                dirty = false;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                ev = events.recv() => {
                    match ev {
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => dirty = true,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
                _ = self.kick.notified() => dirty = true,
                _ = liveness.tick() => {
                    if let Err(e) = self.expire_silent_nodes().await {
                        tracing::warn!(error = %e, "could not mark silent nodes down");
                    }
                }
            }
        }
        // Dropping the senders ends every session stream: agents reconnect to the next leader.
        self.sessions.lock().expect("sessions lock").clear();
    }

    /// Sends every session whose assignment has news for it (see [`Assignment::is_news_after`])
    /// the latest one; [`Dispatcher::run`] calls it after each burst of store writes. Answers
    /// how many sessions were sent one.
    pub fn publish(&self) -> usize {
        let opened = self.opened.swap(false, Ordering::Acquire);
        let mut publisher = self.publisher.lock().expect("publisher lock");
        self.store.view(|t| {
            publisher.catch_up(t);
            let (period, paced) = {
                let mut pace = self.pace.lock().expect("pace lock");
                let changed = pace.observe(t.nodes.len(), liveness::GRACE_PERIODS, Instant::now());
                (pace.period(), changed)
            };
            if paced {
                tracing::info!(nodes = t.nodes.len(), ?period, "heartbeat period changed");
            }
            let sessions = self.sessions.lock().expect("sessions lock");
            let push = |(node_id, session): (&String, &Session)| {
                usize::from(self.push_news(t, &publisher, node_id, session, period))
            };
            if opened || paced || publisher.all_due() {
                sessions.iter().map(push).sum()
            } else {
                publisher
                    .touched()
                    .filter_map(|id| sessions.get_key_value(id))
                    .map(push)
                    .sum()
            }
        })
    }

    /// Refreshes one session's assignment from `t`; answers whether that was news to the node
    /// (and so sent).
    fn push_news(
        &self,
        t: &Tables,
        publisher: &Publisher,
        node_id: &str,
        session: &Session,
        heartbeat_period: Duration,
    ) -> bool {
        let known = session.tx.borrow().clone();
        let Some(next) =
            publisher.next_for(t, node_id, &session.id, known.as_deref(), heartbeat_period)
        else {
            return false;
        };
        // Kept even when it is no news, so that the next push (and a `Shared` rebuild, which
        // starts from it) carries the latest store state.
        session.tx.send_if_modified(|current| {
            let news = current
                .as_ref()
                .is_none_or(|known| next.is_news_after(known));
            *current = Some(Arc::new(next));
            news
        })
    }
}
