//! The agent, in four parts that each run on their own task, as SwarmKit's agent is split, so
//! that nothing that waits on the engine or the data plane can delay a heartbeat:
//!
//! - [`crate::session`]: one session at a time with the leader's dispatcher (connect,
//!   heartbeat, follow redirects); it only hands each received assignment on.
//! - [`crate::worker`]: reconciles task controllers and the data plane to the latest
//!   assignment, and sweeps containers of unassigned tasks on session open and on a timer.
//! - [`crate::reporter`]: batches the controllers' status reports to the session.
//! - [`crate::describe`]: keeps the node's description (engine facts) current in the
//!   background, with a time limit on every engine call.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::dispatcher as pb;
use api::dispatcher::dispatcher_client::DispatcherClient;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use types::{NetworkView, Node, NodeDescription, Task, TaskStatus};

use crate::controller::ControllerHandle;
use crate::executor::Executor;
use crate::network::NodeNetwork;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node_id: String,
    /// host:port of managers to try, in order.
    pub managers: Vec<String>,
    pub hostname: String,
    /// Where this node's `Agent` gRPC service answers (told to the managers).
    pub listen_addr: String,
    /// Time between a task leaving the mesh and its container being stopped.
    pub drain_delay: Duration,
    /// How to reach a manager's dispatcher: the daemon's mutual TLS (plaintext in tests).
    pub dial: security::Dial,
    /// The tmpfs tasks' secret and config files are written to; `None` writes none (an
    /// in-memory executor runs no real container to see them).
    pub files_root: Option<std::path::PathBuf>,
    /// Where task starts and failures are counted, for `GET /metrics`.
    pub metrics: metrics::Metrics,
}

impl AgentConfig {
    /// Plaintext dialing, for in-process tests without certificates.
    pub fn plaintext_dial() -> security::Dial {
        security::Dial::plaintext(CONNECT_TIMEOUT)
    }
}

/// The session currently open, used by the status reporter.
#[derive(Clone)]
pub(crate) struct OpenSession {
    pub client: DispatcherClient<Channel>,
    pub session_id: String,
}

/// One assignment as the session received it. `session` counts sessions, so the worker knows
/// when a new one opened (the moment to sweep strays: the first assignment of a session is
/// the node's whole truth).
pub(crate) struct Received {
    pub session: u64,
    pub message: pb::SessionMessage,
    /// The network view as of this message (the message carries it whole or as a change, see
    /// [`crate::session`]); `None` when this session has not sent one this agent can read.
    pub network: Option<Arc<NetworkView>>,
}

pub struct Agent {
    pub(crate) config: AgentConfig,
    pub(crate) executor: Arc<dyn Executor>,
    pub(crate) network: Arc<dyn NodeNetwork>,
    pub(crate) controllers: Mutex<HashMap<String, ControllerHandle>>,
    /// Latest assignment of every task, for the logs service and the stray sweep.
    pub(crate) tasks: Mutex<BTreeMap<String, Task>>,
    pub(crate) managers: Mutex<Vec<String>>,
    pub(crate) session: Mutex<Option<OpenSession>>,
    pub(crate) reports_tx: mpsc::UnboundedSender<(String, TaskStatus)>,
    reports_rx: Mutex<Option<mpsc::UnboundedReceiver<(String, TaskStatus)>>>,
    /// Latest assignment from the session to the worker; only the newest matters.
    pub(crate) received: watch::Sender<Option<Arc<Received>>>,
    /// Manager addresses as the leader last listed them.
    pub(crate) managers_changed: watch::Sender<Vec<String>>,
    /// This node as the store has it (role changes show up here first).
    pub(crate) node_tx: watch::Sender<Option<Node>>,
    /// The node's description as last read; `None` until the first reading.
    pub(crate) description: watch::Sender<Option<NodeDescription>>,
    /// Asks the sweeper for one pass over the engine's containers.
    pub(crate) sweep: Notify,
    /// Secrets and configs received, and the tasks' files.
    pub(crate) files: Arc<crate::files::TaskFiles>,
}

impl Agent {
    pub fn new(
        config: AgentConfig,
        executor: Arc<dyn Executor>,
        network: Arc<dyn NodeNetwork>,
    ) -> Arc<Self> {
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        Arc::new(Agent {
            files: Arc::new(crate::files::TaskFiles::new(config.files_root.clone())),
            managers: Mutex::new(config.managers.clone()),
            managers_changed: watch::channel(config.managers.clone()).0,
            config,
            executor,
            network,
            controllers: Mutex::new(HashMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
            session: Mutex::new(None),
            reports_tx,
            reports_rx: Mutex::new(Some(reports_rx)),
            received: watch::channel(None).0,
            node_tx: watch::channel(None).0,
            description: watch::channel(None).0,
            sweep: Notify::new(),
        })
    }

    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }

    pub fn network(&self) -> &Arc<dyn NodeNetwork> {
        &self.network
    }

    pub fn hostname(&self) -> &str {
        &self.config.hostname
    }

    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// The latest known assignment of a task.
    pub fn task(&self, id: &str) -> Option<Task> {
        self.tasks.lock().expect("lock").get(id).cloned()
    }

    /// Manager addresses as last told by the leader (for the daemon to persist).
    pub fn watch_managers(&self) -> watch::Receiver<Vec<String>> {
        self.managers_changed.subscribe()
    }

    /// This node as the leader last described it.
    pub fn watch_node(&self) -> watch::Receiver<Option<Node>> {
        self.node_tx.subscribe()
    }

    /// Runs until `shutdown`. Containers keep running when the agent stops: a restarted agent
    /// adopts them.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(reports) = self.reports_rx.lock().expect("lock").take() else {
            tracing::error!("an agent runs once");
            return;
        };
        let parts = [
            tokio::spawn(crate::describe::run(self.clone(), shutdown.clone())),
            tokio::spawn(crate::reporter::run(
                self.clone(),
                reports,
                shutdown.clone(),
            )),
            tokio::spawn(crate::worker::run(self.clone(), shutdown.clone())),
            tokio::spawn(crate::worker::sweep_strays(self.clone(), shutdown.clone())),
            tokio::spawn(crate::worker::forward_changes(
                self.clone(),
                shutdown.clone(),
            )),
            tokio::spawn(crate::session::run(self.clone(), shutdown.clone())),
        ];
        for part in parts {
            if let Err(e) = part.await {
                tracing::error!(error = %e, "an agent part ended abnormally");
            }
        }
    }
}
