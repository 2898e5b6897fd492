//! The agent's worker: takes the latest assignment from the session and reconciles to it.
//!
//! - [`run`]: task controllers (one per assigned task; none of this awaits the engine: each
//!   controller drives its own container), the node object and the network view (handed to
//!   the data plane, which converges to it on its own).
//! - [`sweep_strays`]: containers this node made for tasks it is no longer assigned, found
//!   with one labelled `list` when a session's first assignment arrives and on a timer, never
//!   per push.
//! - [`forward_changes`]: the engine's container events, to the controller concerned.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use types::{NetworkView, Node, Task};

use crate::agent::{Agent, Received};
use crate::controller::{ControllerContext, ControllerHandle};

/// How often containers of unassigned tasks are looked for besides each new session.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Stop grace for a stray container: its task is gone, nothing waits for it.
const STRAY_STOP_GRACE_MS: u64 = 10_000;

pub(crate) async fn run(agent: Arc<Agent>, shutdown: CancellationToken) {
    let mut rx = agent.received.subscribe();
    let mut last_session = 0;
    let mut last_view: Option<Arc<NetworkView>> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.changed() => if r.is_err() { return },
        }
        let Some(received) = rx.borrow_and_update().clone() else {
            continue;
        };
        apply(&agent, &received);
        if let Some(view) = &received.network {
            if !last_view
                .as_ref()
                .is_some_and(|last| Arc::ptr_eq(last, view))
            {
                agent.network.set_view((**view).clone());
                last_view = Some(view.clone());
            }
        }
        if received.session != last_session {
            last_session = received.session;
            agent.sweep.notify_one();
        }
    }
}

fn apply(agent: &Agent, received: &Received) {
    let m = &received.message;
    let mut tasks = Vec::with_capacity(m.tasks.len());
    for t in &m.tasks {
        match Task::try_from(t.clone()) {
            Ok(t) => tasks.push(t),
            Err(e) => tracing::warn!(error = %e, "ignoring a task this agent cannot read"),
        }
    }
    reconcile_tasks(agent, tasks);
    let Some(node) = m.node.clone() else {
        return;
    };
    match Node::try_from(node) {
        Ok(node) => {
            agent.node_tx.send_if_modified(|cur| {
                if cur.as_ref() == Some(&node) {
                    return false;
                }
                *cur = Some(node.clone());
                true
            });
        }
        Err(e) => tracing::warn!(error = %e, "ignoring a node object this agent cannot read"),
    }
}

fn reconcile_tasks(agent: &Agent, tasks: Vec<Task>) {
    let ctx = Arc::new(ControllerContext {
        executor: agent.executor.clone(),
        network: agent.network.clone(),
        reports: agent.reports_tx.clone(),
        drain_delay: agent.config.drain_delay,
        files: agent.files.clone(),
        metrics: agent.config.metrics.clone(),
    });
    let assigned: BTreeMap<String, Task> = tasks.into_iter().map(|t| (t.id.clone(), t)).collect();
    let mut controllers = agent.controllers.lock().expect("lock");
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
    *agent.tasks.lock().expect("lock") = assigned;
}

pub(crate) async fn sweep_strays(agent: Arc<Agent>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Until a first assignment arrived, every container would look like a stray.
    let mut armed = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = agent.sweep.notified() => armed = true,
            _ = every.tick() => if !armed { continue },
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sweep_once(&agent) => {}
        }
    }
}

async fn sweep_once(agent: &Agent) {
    let containers = match agent.executor.owned().await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "stray sweep skipped");
            return;
        }
    };
    // Read after the list: a task assigned meanwhile is not taken for a stray.
    let strays: Vec<_> = {
        let assigned = agent.tasks.lock().expect("lock");
        containers
            .into_iter()
            .filter(|c| !assigned.contains_key(&c.task_id))
            .collect()
    };
    for c in strays {
        tracing::info!(task = %c.task_id, container = %c.container_id, "removing a container of an unassigned task");
        let _ = agent.executor.stop(&c.task_id, STRAY_STOP_GRACE_MS).await;
        let _ = agent.executor.remove(&c.task_id).await;
        let _ = agent.network.detach(&c.task_id).await;
    }
    // Files of tasks this node no longer runs (left while the agent was down, say).
    let assigned = agent.tasks.lock().expect("lock").clone();
    agent.files.retain(|id| assigned.contains_key(id));
}

pub(crate) async fn forward_changes(agent: Arc<Agent>, shutdown: CancellationToken) {
    let mut changes = agent.executor.changes();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            id = changes.next() => match id {
                Some(id) => {
                    if let Some(h) = agent.controllers.lock().expect("lock").get(&id) {
                        h.poke.notify_one();
                    }
                }
                None => return,
            },
        }
    }
}
