//! The agent: one session at a time with the leader's dispatcher, following leader changes;
//! reconciles task controllers and the data plane to each pushed assignment; reports status.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::dispatcher as pb;
use api::dispatcher::dispatcher_client::DispatcherClient;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use types::{NetworkView, Node, NodeDescription, Task, TaskStatus};

use crate::controller::{ControllerContext, ControllerHandle};
use crate::executor::Executor;
use crate::network::NodeNetwork;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RPC_TIMEOUT: Duration = Duration::from_secs(3);
const REPORT_FLUSH: Duration = Duration::from_millis(20);
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);
/// How often the node re-checks its own description (engine reachable? capacity?): a change
/// reopens the session so the managers see it on `node inspect`.
const DESCRIBE_EVERY: Duration = Duration::from_secs(5);
/// Metadata key a non-leader manager uses to name the leader.
const LEADER_METADATA: &str = "swarm-leader";

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
}

impl AgentConfig {
    /// Plaintext dialing, for in-process tests without certificates.
    pub fn plaintext_dial() -> security::Dial {
        security::Dial::plaintext(CONNECT_TIMEOUT)
    }
}

/// The session currently open, used by the status reporter.
#[derive(Clone)]
struct OpenSession {
    client: DispatcherClient<Channel>,
    session_id: String,
}

pub struct Agent {
    config: AgentConfig,
    executor: Arc<dyn Executor>,
    network: Arc<dyn NodeNetwork>,
    controllers: Mutex<HashMap<String, ControllerHandle>>,
    /// Latest assignment of every task, for the logs service.
    tasks: Mutex<BTreeMap<String, Task>>,
    managers: Mutex<Vec<String>>,
    session: Mutex<Option<OpenSession>>,
    reports_tx: mpsc::UnboundedSender<(String, TaskStatus)>,
    reports_rx: Mutex<Option<mpsc::UnboundedReceiver<(String, TaskStatus)>>>,
    /// Latest network view for the applier; only the newest matters.
    view_tx: watch::Sender<Option<(Node, NetworkView)>>,
    /// Manager addresses as the leader last listed them.
    managers_changed: watch::Sender<Vec<String>>,
    /// This node as the store has it (role changes show up here first).
    node_tx: watch::Sender<Option<Node>>,
}

impl Agent {
    pub fn new(
        config: AgentConfig,
        executor: Arc<dyn Executor>,
        network: Arc<dyn NodeNetwork>,
    ) -> Arc<Self> {
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let (view_tx, _) = watch::channel(None);
        let (managers_changed, _) = watch::channel(config.managers.clone());
        let (node_tx, _) = watch::channel(None);
        Arc::new(Agent {
            managers: Mutex::new(config.managers.clone()),
            config,
            executor,
            network,
            controllers: Mutex::new(HashMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
            session: Mutex::new(None),
            reports_tx,
            reports_rx: Mutex::new(Some(reports_rx)),
            view_tx,
            managers_changed,
            node_tx,
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
        let reporter = tokio::spawn(self.clone().report_loop(shutdown.clone()));
        let applier = tokio::spawn(self.clone().apply_loop(shutdown.clone()));
        let changes = tokio::spawn(self.clone().changes_loop(shutdown.clone()));
        let mut backoff = RECONNECT_MIN;
        let mut hint: Option<String> = None;
        while !shutdown.is_cancelled() {
            let candidates = self.candidates(hint.take());
            let mut connected = false;
            for addr in candidates {
                if shutdown.is_cancelled() {
                    break;
                }
                match self.clone().session(&addr, &shutdown).await {
                    Ok(()) => {
                        connected = true;
                        break;
                    }
                    Err(SessionEnd::Redirect(leader)) => {
                        hint = Some(leader);
                        break;
                    }
                    Err(SessionEnd::Failed(e)) => {
                        tracing::debug!(manager = %addr, error = %e, "session failed");
                    }
                }
            }
            *self.session.lock().expect("lock") = None;
            if connected {
                backoff = RECONNECT_MIN;
            } else if hint.is_none() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(RECONNECT_MAX);
            }
        }
        let _ = tokio::join!(reporter, applier, changes);
    }

    fn candidates(&self, hint: Option<String>) -> Vec<String> {
        let mut list: Vec<String> = hint.into_iter().collect();
        for m in self.managers.lock().expect("lock").iter() {
            if !list.contains(m) {
                list.push(m.clone());
            }
        }
        list
    }

    async fn describe(&self) -> NodeDescription {
        let mut d = NodeDescription {
            hostname: self.config.hostname.clone(),
            ..Default::default()
        };
        match self.executor.describe().await {
            Ok(info) => {
                d.platform.os = info.os;
                d.platform.arch = info.arch;
                d.resources = info.resources;
                d.engine_version = info.engine_version;
                d.engine_labels = info.engine_labels;
            }
            Err(e) => d
                .warnings
                .push(format!("container engine unreachable: {e}")),
        }
        d.warnings.extend(self.network.warnings());
        d.mesh_backend = self.network.backend();
        d
    }

    /// One session with one manager; returns when it ends.
    async fn session(
        self: Arc<Self>,
        addr: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionEnd> {
        let channel = self.config.dial.channel(addr).map_err(SessionEnd::Failed)?;
        let mut client = DispatcherClient::new(channel);
        let described = self.describe().await;
        let request = pb::SessionRequest {
            node_id: self.config.node_id.clone(),
            description: Some(described.clone().into()),
            listen_addr: self.config.listen_addr.clone(),
        };
        let mut stream = match client.session(request).await {
            Ok(r) => r.into_inner(),
            Err(status) => {
                if let Some(leader) = status
                    .metadata()
                    .get(LEADER_METADATA)
                    .and_then(|v| v.to_str().ok())
                {
                    if leader != addr {
                        return Err(SessionEnd::Redirect(leader.to_string()));
                    }
                }
                return Err(SessionEnd::Failed(status.to_string()));
            }
        };
        let mut period = Duration::from_millis(500);
        let mut heartbeat = tokio::time::interval(period);
        let mut session_id = String::new();
        // Describing the node asks the engine, which can stall (a slow pull holds dockerd): it
        // runs beside the session so heartbeats never wait on it.
        let (described_tx, mut described_rx) = tokio::sync::mpsc::channel(1);
        let describer = {
            let agent = self.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(DESCRIBE_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    if described_tx.send(agent.describe().await).await.is_err() {
                        return;
                    }
                }
            })
        };
        let _stop_describer = AbortOnDrop(describer);
        tracing::info!(manager = %addr, "session open");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                msg = stream.message() => match msg {
                    Ok(Some(m)) => {
                        if m.session_id != session_id {
                            session_id = m.session_id.clone();
                            *self.session.lock().expect("lock") = Some(OpenSession {
                                client: client.clone(),
                                session_id: session_id.clone(),
                            });
                        }
                        let p = Duration::from_millis(m.heartbeat_period_ms.max(50));
                        if p != period {
                            period = p;
                            heartbeat = tokio::time::interval(period);
                        }
                        self.handle(m).await;
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(SessionEnd::Failed(e.to_string())),
                },
                Some(now) = described_rx.recv() => {
                    if now != described {
                        tracing::info!("node description changed; reopening the session");
                        return Ok(());
                    }
                }
                _ = heartbeat.tick(), if !session_id.is_empty() => {
                    let req = pb::HeartbeatRequest {
                        node_id: self.config.node_id.clone(),
                        session_id: session_id.clone(),
                    };
                    match tokio::time::timeout(RPC_TIMEOUT, client.heartbeat(req)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(SessionEnd::Failed(e.to_string())),
                        Err(_) => return Err(SessionEnd::Failed("heartbeat timed out".into())),
                    }
                }
            }
        }
    }

    /// Reconciles to one pushed assignment.
    async fn handle(&self, m: pb::SessionMessage) {
        if !m.managers.is_empty() {
            *self.managers.lock().expect("lock") = m.managers.clone();
            self.managers_changed.send_if_modified(|cur| {
                if *cur == m.managers {
                    return false;
                }
                *cur = m.managers.clone();
                true
            });
        }
        let mut tasks = Vec::with_capacity(m.tasks.len());
        for t in m.tasks {
            match Task::try_from(t) {
                Ok(t) => tasks.push(t),
                Err(e) => tracing::warn!(error = %e, "ignoring a task this agent cannot read"),
            }
        }
        self.reconcile_tasks(tasks).await;
        if let (Some(node), Some(view)) = (m.node, m.network) {
            match (Node::try_from(node), NetworkView::try_from(view)) {
                (Ok(node), Ok(view)) => {
                    self.node_tx.send_if_modified(|cur| {
                        if cur.as_ref() == Some(&node) {
                            return false;
                        }
                        *cur = Some(node.clone());
                        true
                    });
                    self.view_tx.send_replace(Some((node, view)));
                }
                _ => tracing::warn!("ignoring a network view this agent cannot read"),
            }
        }
    }

    async fn reconcile_tasks(&self, tasks: Vec<Task>) {
        let ctx = Arc::new(ControllerContext {
            executor: self.executor.clone(),
            network: self.network.clone(),
            reports: self.reports_tx.clone(),
            drain_delay: self.config.drain_delay,
        });
        let assigned: BTreeMap<String, Task> =
            tasks.into_iter().map(|t| (t.id.clone(), t)).collect();
        {
            let mut controllers = self.controllers.lock().expect("lock");
            controllers.retain(|id, handle| {
                let keep = assigned.contains_key(id);
                if !keep {
                    handle.task.send_replace(None);
                }
                keep
            });
            for (id, task) in &assigned {
                match controllers.get(id) {
                    Some(handle) => {
                        handle.task.send_if_modified(|cur| {
                            if cur.as_ref() == Some(task) {
                                return false;
                            }
                            *cur = Some(task.clone());
                            true
                        });
                    }
                    None => {
                        controllers.insert(
                            id.clone(),
                            ControllerHandle::spawn(ctx.clone(), task.clone()),
                        );
                    }
                }
            }
        }
        *self.tasks.lock().expect("lock") = assigned.clone();
        self.remove_strays(&assigned).await;
    }

    /// Containers this node made for tasks it is no longer assigned (e.g. removed while the
    /// agent was down) are stopped and removed.
    async fn remove_strays(&self, assigned: &BTreeMap<String, Task>) {
        let Ok(containers) = self.executor.list().await else {
            return;
        };
        for c in containers {
            if assigned.contains_key(&c.task_id) {
                continue;
            }
            tracing::info!(task = %c.task_id, container = %c.container_id, "removing a container of an unassigned task");
            let _ = self.executor.stop(&c.task_id, 10_000).await;
            let _ = self.executor.remove(&c.task_id).await;
            let _ = self.network.detach(&c.task_id).await;
        }
    }

    async fn apply_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut rx = self.view_tx.subscribe();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = rx.changed() => if r.is_err() { return },
            }
            let latest = rx.borrow_and_update().clone();
            if let Some((node, view)) = latest {
                if let Err(e) = self.network.apply(&node, &view).await {
                    tracing::warn!(error = %e, "could not apply the network view; will retry");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    rx.mark_changed();
                }
            }
        }
    }

    async fn changes_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut changes = self.executor.changes();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                id = changes.next() => match id {
                    Some(id) => {
                        if let Some(h) = self.controllers.lock().expect("lock").get(&id) {
                            h.poke.notify_one();
                        }
                    }
                    None => return,
                },
            }
        }
    }

    /// Sends task statuses in batches; keeps what could not be sent for the next session.
    async fn report_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let Some(mut rx) = self.reports_rx.lock().expect("lock").take() else {
            return;
        };
        let mut pending: BTreeMap<String, TaskStatus> = BTreeMap::new();
        let mut tick = tokio::time::interval(REPORT_FLUSH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                r = rx.recv() => match r {
                    Some((id, status)) => { pending.insert(id, status); continue; }
                    None => return,
                },
                _ = tick.tick() => {}
            }
            if pending.is_empty() {
                continue;
            }
            let Some(mut s) = self.session.lock().expect("lock").clone() else {
                continue;
            };
            let sent: Vec<(String, TaskStatus)> = pending
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let req = pb::UpdateTaskStatusRequest {
                node_id: self.config.node_id.clone(),
                session_id: s.session_id.clone(),
                updates: sent
                    .iter()
                    .map(|(id, st)| pb::TaskStatusUpdate {
                        task_id: id.clone(),
                        status: Some(st.clone().into()),
                    })
                    .collect(),
            };
            match tokio::time::timeout(RPC_TIMEOUT, s.client.update_task_status(req)).await {
                Ok(Ok(_)) => {
                    for (id, st) in sent {
                        if pending.get(&id) == Some(&st) {
                            pending.remove(&id);
                        }
                    }
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "status report failed; will resend"),
                Err(_) => tracing::debug!("status report timed out; will resend"),
            }
        }
    }
}

/// Stops a background task when the session that started it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum SessionEnd {
    /// The manager is not the leader and named it.
    Redirect(String),
    Failed(String),
}
