//! The agent's session with the leader: connect (following redirects to the leader), send
//! heartbeats, receive assignments. Nothing here awaits the container engine or the data
//! plane: assignments are handed to the worker through a watch channel, and the node's
//! description is the one [`crate::describe`] last read. A slow engine therefore never delays
//! a heartbeat, and a node whose engine is stuck stays Ready for the cluster.

use std::sync::Arc;
use std::time::Duration;

use api::dispatcher as pb;
use api::dispatcher::dispatcher_client::DispatcherClient;
use backoff::Backoff;
use tokio_util::sync::CancellationToken;
use types::NodeDescription;

use crate::agent::{Agent, OpenSession, Received};
use crate::followed_view::FollowedView;

const RPC_TIMEOUT: Duration = Duration::from_secs(3);
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(2);
/// Metadata key a non-leader manager uses to name the leader.
const LEADER_METADATA: &str = "swarm-leader";

enum SessionEnd {
    /// The manager is not the leader and named it.
    Redirect(String),
    Failed(String),
}

/// Keeps one session open at a time until `shutdown`.
pub(crate) async fn run(agent: Arc<Agent>, shutdown: CancellationToken) {
    let Some(mut described) = first_description(&agent, &shutdown).await else {
        return;
    };
    let mut backoff = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
    let mut hint: Option<String> = None;
    // The leader a redirect named last: a follower that still names a dead leader must not
    // make the agent reconnect in a tight loop (it follows a new name at once, and the same
    // name again only after the backoff).
    let mut followed: Option<String> = None;
    let mut sessions = 0u64;
    while !shutdown.is_cancelled() {
        let mut connected = false;
        if hint.is_some() {
            followed = hint.clone();
        }
        for addr in candidates(&agent, hint.take()) {
            if shutdown.is_cancelled() {
                break;
            }
            sessions += 1;
            match session(&agent, &addr, sessions, &mut described, &shutdown).await {
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
        *agent.session.lock().expect("lock") = None;
        if connected {
            backoff.reset();
            followed = None;
        } else if hint.is_none() || hint == followed {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }
}

/// The describer's first reading (it is bounded in time, so this is too).
async fn first_description(agent: &Agent, shutdown: &CancellationToken) -> Option<NodeDescription> {
    let mut rx = agent.description.subscribe();
    loop {
        if let Some(d) = rx.borrow_and_update().clone() {
            return Some(d);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            r = rx.changed() => r.ok()?,
        }
    }
}

fn candidates(agent: &Agent, hint: Option<String>) -> Vec<String> {
    let mut list: Vec<String> = hint.into_iter().collect();
    for m in agent.managers.lock().expect("lock").iter() {
        if !list.contains(m) {
            list.push(m.clone());
        }
    }
    list
}

/// One session with one manager; returns when it ends. A change of the node's description
/// ends it too, so the next session tells the managers (`described` is then the new one).
async fn session(
    agent: &Arc<Agent>,
    addr: &str,
    number: u64,
    described: &mut NodeDescription,
    shutdown: &CancellationToken,
) -> Result<(), SessionEnd> {
    let channel = agent
        .config
        .dial
        .channel(addr)
        .map_err(SessionEnd::Failed)?;
    let mut client = DispatcherClient::new(channel);
    let mut descriptions = agent.description.subscribe();
    if let Some(now) = descriptions.borrow_and_update().clone() {
        *described = now;
    }
    let request = pb::SessionRequest {
        node_id: agent.config.node_id.clone(),
        description: Some(described.clone().into()),
        listen_addr: agent.config.listen_addr.clone(),
    };
    let mut stream = match tokio::time::timeout(RPC_TIMEOUT, client.session(request)).await {
        Ok(Ok(r)) => r.into_inner(),
        Ok(Err(status)) => return Err(refused(addr, &status)),
        Err(_) => return Err(SessionEnd::Failed("opening the session timed out".into())),
    };
    let mut period = Duration::from_millis(500);
    let mut heartbeat = tokio::time::interval(period);
    let mut session_id = String::new();
    let mut view = FollowedView::default();
    tracing::info!(manager = %addr, "session open");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            msg = stream.message() => match msg {
                Ok(Some(mut m)) => {
                    let network = view.take_in(&mut m).map_err(SessionEnd::Failed)?;
                    if m.session_id != session_id {
                        session_id = m.session_id.clone();
                        *agent.session.lock().expect("lock") = Some(OpenSession {
                            client: client.clone(),
                            session_id: session_id.clone(),
                        });
                    }
                    let p = Duration::from_millis(m.heartbeat_period_ms.max(50));
                    if p != period {
                        period = p;
                        heartbeat = tokio::time::interval(period);
                    }
                    remember_managers(agent, &m.managers);
                    // Taken here, from every message: the worker sees only the newest one.
                    if m.data_sent {
                        let payloads = std::mem::take(&mut m.data)
                            .into_iter()
                            .filter_map(|p| types::DataPayload::try_from(p).ok())
                            .collect();
                        agent.files.replace(payloads);
                    }
                    agent.received.send_replace(Some(Arc::new(Received {
                        session: number,
                        message: m,
                        network,
                    })));
                }
                Ok(None) => return Ok(()),
                Err(e) => return Err(SessionEnd::Failed(e.to_string())),
            },
            r = descriptions.changed() => {
                if r.is_err() {
                    return Ok(());
                }
                let now = descriptions.borrow_and_update().clone();
                if now.as_ref().is_some_and(|d| d != described) {
                    tracing::info!("node description changed; reopening the session");
                    return Ok(());
                }
            }
            _ = heartbeat.tick(), if !session_id.is_empty() => {
                let req = pb::HeartbeatRequest {
                    node_id: agent.config.node_id.clone(),
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

/// A manager that is not the leader names it in the refusal.
fn refused(addr: &str, status: &tonic::Status) -> SessionEnd {
    if let Some(leader) = status
        .metadata()
        .get(LEADER_METADATA)
        .and_then(|v| v.to_str().ok())
    {
        if leader != addr {
            return SessionEnd::Redirect(leader.to_string());
        }
    }
    SessionEnd::Failed(status.to_string())
}

fn remember_managers(agent: &Agent, managers: &[String]) {
    if managers.is_empty() {
        return;
    }
    *agent.managers.lock().expect("lock") = managers.to_vec();
    agent.managers_changed.send_if_modified(|cur| {
        if cur.as_slice() == managers {
            return false;
        }
        *cur = managers.to_vec();
        true
    });
}
