//! The agent's reporter: task statuses from every controller, sent to the open session in
//! batches. Only the newest status of a task is kept; what could not be sent waits for the
//! next flush or the next session.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api::dispatcher as pb;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use types::TaskStatus;

use crate::agent::Agent;

const REPORT_FLUSH: Duration = Duration::from_millis(20);
const RPC_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) async fn run(
    agent: Arc<Agent>,
    mut rx: mpsc::UnboundedReceiver<(String, TaskStatus)>,
    shutdown: CancellationToken,
) {
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
        let Some(mut s) = agent.session.lock().expect("lock").clone() else {
            continue;
        };
        let sent: Vec<(String, TaskStatus)> = pending
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let req = pb::UpdateTaskStatusRequest {
            node_id: agent.config.node_id.clone(),
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
