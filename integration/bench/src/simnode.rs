//! Simulated nodes for the scale section (h): admitted like real ones (each its own key, CSR
//! and certificate through `Membership.Join`), then only what the managers see of a node: a
//! dispatcher session over mutual TLS, heartbeats at the period the leader pushes, and each
//! assignment answered in one batched `UpdateTaskStatus`: every new task straight to Running,
//! every task the managers no longer want to Shutdown. No executor, worker or data plane, so
//! thousands fit in this process.
//!
//! Each node has its own TLS connection: the dispatcher takes the node's identity from the
//! client certificate of the connection and refuses a node speaking for another, so nodes
//! cannot share a channel the way a real proxy-less fleet cannot either.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::dispatcher as pb;
use api::dispatcher::dispatcher_client::DispatcherClient;
use api::objects::{NodeDescription, TaskState, TaskStatus};
use prost::Message;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

const RPC_TIMEOUT: Duration = Duration::from_secs(10);
const REPORT_ATTEMPTS: usize = 5;
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);
/// Metadata naming the leader in a non-leader's refusal (the dispatcher's `LEADER_METADATA`).
const LEADER_METADATA: &str = "swarm-leader";

/// What the whole fleet did, summed over its nodes.
#[derive(Debug, Default)]
pub struct Counters {
    /// Tasks reported Running in an acknowledged (committed) `UpdateTaskStatus`.
    pub running_acked: AtomicU64,
    /// Tasks reported Shutdown, acknowledged.
    pub shutdown_acked: AtomicU64,
    pub sessions_opened: AtomicU64,
    /// Nodes with a session open now.
    pub in_session: AtomicUsize,
    /// Sessions that ended (stream closed, heartbeat refused or timed out) while the node was
    /// not paused: after a leader kill, every node; otherwise a node the leader gave up on.
    pub sessions_lost: AtomicU64,
    pub reports_failed: AtomicU64,
    /// Tasks the nodes run now: in their latest assignment and wanted Running.
    pub running_now: AtomicUsize,
    /// Assignments received, and their encoded size: what the dispatcher's pushes cost.
    pub pushes: AtomicU64,
    pub pushed_bytes: AtomicU64,
    /// The longest heartbeat period a node was told, in ms.
    pub period_ms: AtomicU64,
    /// Why the last session was lost, to tell a run's failures apart.
    pub last_loss: Mutex<String>,
}

/// One simulated node's identity and how to reach the managers.
pub struct SimNode {
    pub node_id: String,
    pub hostname: String,
    pub dial: security::Dial,
    pub managers: Vec<String>,
}

/// A running simulated node: pause it to make it fall silent (no heartbeats, and no new
/// session until resumed), as a partitioned node would.
pub struct Handle {
    pub node_id: String,
    pause: watch::Sender<bool>,
}

impl Handle {
    pub fn pause(&self, paused: bool) {
        self.pause.send_replace(paused);
    }
}

enum SessionEnd {
    Redirect(String),
    Failed,
}

/// What the node has told the managers of each task, so a re-push asks nothing twice.
type Reported = Arc<Mutex<HashMap<String, i32>>>;

impl SimNode {
    /// Runs the node's sessions until `shutdown`.
    pub fn spawn(self, counters: Arc<Counters>, shutdown: CancellationToken) -> Handle {
        let (pause, paused) = watch::channel(false);
        let handle = Handle {
            node_id: self.node_id.clone(),
            pause,
        };
        tokio::spawn(self.run(counters, paused, shutdown));
        handle
    }

    async fn run(
        self,
        counters: Arc<Counters>,
        mut paused: watch::Receiver<bool>,
        shutdown: CancellationToken,
    ) {
        let reported: Reported = Arc::default();
        let mut running = 0usize;
        let mut hint: Option<String> = None;
        let mut backoff = RECONNECT_MIN;
        while !shutdown.is_cancelled() {
            if *paused.borrow() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = paused.wait_for(|p| !p) => {}
                }
            }
            let mut candidates: Vec<String> = hint.take().into_iter().collect();
            candidates.extend(self.managers.iter().cloned());
            let mut connected = false;
            for addr in candidates {
                let ended = self
                    .session(
                        &addr,
                        &counters,
                        &reported,
                        &mut running,
                        &mut paused,
                        &shutdown,
                    )
                    .await;
                match ended {
                    Ok(()) => {
                        connected = true;
                        break;
                    }
                    Err(SessionEnd::Redirect(leader)) => {
                        hint = Some(leader);
                        break;
                    }
                    Err(SessionEnd::Failed) => {}
                }
            }
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
        counters.running_now.fetch_sub(running, Ordering::Relaxed);
    }

    /// One session with one manager, until it ends.
    async fn session(
        &self,
        addr: &str,
        counters: &Arc<Counters>,
        reported: &Reported,
        running: &mut usize,
        paused: &mut watch::Receiver<bool>,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionEnd> {
        let channel = self.dial.channel(addr).map_err(|_| SessionEnd::Failed)?;
        let mut client = DispatcherClient::new(channel);
        let request = pb::SessionRequest {
            node_id: self.node_id.clone(),
            description: Some(NodeDescription {
                hostname: self.hostname.clone(),
                ..Default::default()
            }),
            listen_addr: String::new(),
        };
        let mut stream = match tokio::time::timeout(RPC_TIMEOUT, client.session(request)).await {
            Ok(Ok(r)) => r.into_inner(),
            Ok(Err(status)) => return Err(refused(addr, &status)),
            Err(_) => return Err(SessionEnd::Failed),
        };
        counters.sessions_opened.fetch_add(1, Ordering::Relaxed);
        let _open = InSession::new(counters);
        let mut period = Duration::from_millis(500);
        let mut heartbeat = tokio::time::interval(period);
        let mut session_id = String::new();
        let lost = |why: String| {
            counters.sessions_lost.fetch_add(1, Ordering::Relaxed);
            *counters.last_loss.lock().expect("loss lock") = why;
            SessionEnd::Failed
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                msg = stream.message() => match msg {
                    Ok(Some(m)) => {
                        counters.pushes.fetch_add(1, Ordering::Relaxed);
                        counters.pushed_bytes.fetch_add(m.encoded_len() as u64, Ordering::Relaxed);
                        session_id = m.session_id.clone();
                        counters.period_ms.fetch_max(m.heartbeat_period_ms, Ordering::Relaxed);
                        let p = Duration::from_millis(m.heartbeat_period_ms.max(50));
                        if p != period {
                            period = p;
                            heartbeat = tokio::time::interval(period);
                        }
                        let now = wanted_running(&m);
                        if now >= *running {
                            counters.running_now.fetch_add(now - *running, Ordering::Relaxed);
                        } else {
                            counters.running_now.fetch_sub(*running - now, Ordering::Relaxed);
                        }
                        *running = now;
                        let updates = answers(&m, reported);
                        if !updates.is_empty() {
                            tokio::spawn(report(
                                client.clone(),
                                self.node_id.clone(),
                                session_id.clone(),
                                updates,
                                reported.clone(),
                                counters.clone(),
                            ));
                        }
                    }
                    Ok(None) if *paused.borrow() => return Ok(()),
                    Ok(None) => return Err(lost("the manager ended the session".into())),
                    Err(_) if *paused.borrow() => return Err(SessionEnd::Failed),
                    Err(e) => return Err(lost(e.to_string())),
                },
                _ = heartbeat.tick(), if !session_id.is_empty() && !*paused.borrow() => {
                    let req = pb::HeartbeatRequest {
                        node_id: self.node_id.clone(),
                        session_id: session_id.clone(),
                    };
                    match tokio::time::timeout(RPC_TIMEOUT, client.heartbeat(req)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(lost(e.to_string())),
                        Err(_) => return Err(lost("heartbeat timed out".into())),
                    }
                }
            }
        }
    }
}

/// Counts the node in [`Counters::in_session`] while it lives.
struct InSession<'a>(&'a Counters);

impl<'a> InSession<'a> {
    fn new(counters: &'a Counters) -> Self {
        counters.in_session.fetch_add(1, Ordering::Relaxed);
        InSession(counters)
    }
}

impl Drop for InSession<'_> {
    fn drop(&mut self) {
        self.0.in_session.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Tasks of the assignment the node runs: the ones the managers want running.
fn wanted_running(m: &pb::SessionMessage) -> usize {
    m.tasks
        .iter()
        .filter(|t| t.desired_state == TaskState::Running as i32)
        .count()
}

/// The reports an assignment calls for, recorded in `reported` as sent: new tasks Running,
/// tasks no longer wanted Shutdown (unless they already ended).
fn answers(m: &pb::SessionMessage, reported: &Reported) -> Vec<pb::TaskStatusUpdate> {
    let running = TaskState::Running as i32;
    let shutdown = TaskState::Shutdown as i32;
    let mut told = reported.lock().expect("reported lock");
    let mut updates = Vec::new();
    for task in &m.tasks {
        let state = task.status.as_ref().map_or(0, |s| s.state);
        let want = if task.desired_state == running && state < running {
            running
        } else if task.desired_state > running && state <= running {
            shutdown
        } else {
            continue;
        };
        if told.get(&task.id).is_some_and(|&t| t >= want) {
            continue;
        }
        told.insert(task.id.clone(), want);
        updates.push(pb::TaskStatusUpdate {
            task_id: task.id.clone(),
            status: Some(TaskStatus {
                state: want,
                message: "simulated".into(),
                ..Default::default()
            }),
        });
    }
    // Tasks the managers forgot are forgotten here too.
    let listed: std::collections::HashSet<&str> = m.tasks.iter().map(|t| t.id.as_str()).collect();
    told.retain(|id, _| listed.contains(id.as_str()));
    updates
}

/// Sends one batch, again while the manager is only slow or between leaders; given up, it is
/// forgotten as sent, so the next session's assignment asks for it again.
async fn report(
    mut client: DispatcherClient<Channel>,
    node_id: String,
    session_id: String,
    updates: Vec<pb::TaskStatusUpdate>,
    reported: Reported,
    counters: Arc<Counters>,
) {
    let count = |state: TaskState| {
        updates
            .iter()
            .filter(|u| u.status.as_ref().is_some_and(|s| s.state == state as i32))
            .count() as u64
    };
    let (to_running, to_shutdown) = (count(TaskState::Running), count(TaskState::Shutdown));
    let ids: Vec<String> = updates.iter().map(|u| u.task_id.clone()).collect();
    let req = pb::UpdateTaskStatusRequest {
        node_id,
        session_id,
        updates,
    };
    for _ in 0..REPORT_ATTEMPTS {
        match tokio::time::timeout(RPC_TIMEOUT, client.update_task_status(req.clone())).await {
            Ok(Ok(_)) => {
                counters
                    .running_acked
                    .fetch_add(to_running, Ordering::Relaxed);
                counters
                    .shutdown_acked
                    .fetch_add(to_shutdown, Ordering::Relaxed);
                return;
            }
            // A stale session: the next one is sent the whole assignment.
            Ok(Err(s)) if s.code() == tonic::Code::FailedPrecondition => break,
            _ => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    counters.reports_failed.fetch_add(1, Ordering::Relaxed);
    let mut told = reported.lock().expect("reported lock");
    for id in ids {
        told.remove(&id);
    }
}

/// A non-leader names the leader in its refusal.
fn refused(addr: &str, status: &tonic::Status) -> SessionEnd {
    match status
        .metadata()
        .get(LEADER_METADATA)
        .and_then(|v| v.to_str().ok())
    {
        Some(leader) if leader != addr => SessionEnd::Redirect(leader.to_string()),
        _ => SessionEnd::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::objects::Task;

    fn task(id: &str, desired: TaskState, state: TaskState) -> Task {
        Task {
            id: id.into(),
            desired_state: desired as i32,
            status: Some(TaskStatus {
                state: state as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn pushed(tasks: Vec<Task>) -> pb::SessionMessage {
        pb::SessionMessage {
            tasks,
            ..Default::default()
        }
    }

    fn states(updates: &[pb::TaskStatusUpdate]) -> Vec<(String, i32)> {
        updates
            .iter()
            .map(|u| (u.task_id.clone(), u.status.as_ref().map_or(0, |s| s.state)))
            .collect()
    }

    #[test]
    fn new_tasks_run_and_unwanted_ones_stop_each_asked_once() {
        use TaskState::*;
        let reported = Reported::default();
        let m = pushed(vec![
            task("new", Running, Assigned),
            task("up", Running, Running),
            task("stop", Shutdown, Running),
            task("over", Shutdown, Failed),
        ]);
        assert_eq!(
            states(&answers(&m, &reported)),
            [
                ("new".into(), Running as i32),
                ("stop".into(), Shutdown as i32)
            ]
        );
        assert_eq!(wanted_running(&m), 2);
        // The same assignment again (the store not yet caught up): nothing twice.
        assert!(answers(&m, &reported).is_empty());
        // `new` wanted stopped before its report landed: now Shutdown.
        let m = pushed(vec![task("new", Shutdown, Assigned)]);
        assert_eq!(
            states(&answers(&m, &reported)),
            [("new".into(), Shutdown as i32)]
        );
    }

    #[test]
    fn a_task_the_managers_forgot_is_forgotten() {
        use TaskState::*;
        let reported = Reported::default();
        answers(&pushed(vec![task("a", Running, Assigned)]), &reported);
        answers(&pushed(vec![]), &reported);
        assert!(reported.lock().unwrap().is_empty());
        // Pushed again later (a new session after a leader change, say), it is asked again.
        let again = answers(&pushed(vec![task("a", Running, Assigned)]), &reported);
        assert_eq!(states(&again), [("a".into(), Running as i32)]);
    }
}
