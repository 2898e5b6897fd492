//! The node's description (engine version, capacity, labels, warnings), read in the
//! background and kept in the agent's `description` watch for the session to send.
//!
//! Every engine call here has a time limit: an engine that does not answer in time is
//! reported as unavailable (`NodeDescription::engine_error`), which keeps new tasks off the
//! node, while the node itself stays Ready. When the engine answers again the description
//! changes back and the session reopens to tell the managers.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use types::NodeDescription;

use crate::agent::Agent;

/// How often the node re-reads its own description.
const DESCRIBE_EVERY: Duration = Duration::from_secs(5);
/// ... and while its engine is unavailable, so a starting dockerd is put to use at once.
const DESCRIBE_UNAVAILABLE_EVERY: Duration = Duration::from_millis(500);
/// How long the engine may take to describe itself before it counts as unavailable.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(3);

pub(crate) async fn run(agent: Arc<Agent>, shutdown: CancellationToken) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let now = tokio::select! {
            _ = shutdown.cancelled() => return,
            d = describe(&agent) => d,
        };
        wait = if now.engine_available() {
            DESCRIBE_EVERY
        } else {
            DESCRIBE_UNAVAILABLE_EVERY
        };
        agent.description.send_if_modified(|cur| {
            if cur.as_ref() == Some(&now) {
                return false;
            }
            if let Some(e) = &now.engine_error {
                tracing::warn!(error = %e, "the container engine cannot run tasks");
            }
            *cur = Some(now);
            true
        });
    }
}

async fn describe(agent: &Agent) -> NodeDescription {
    let mut d = NodeDescription {
        hostname: agent.config.hostname.clone(),
        ..Default::default()
    };
    match tokio::time::timeout(DESCRIBE_TIMEOUT, agent.executor.describe()).await {
        Ok(Ok(info)) => {
            d.platform.os = info.os;
            d.platform.arch = info.arch;
            d.resources = info.resources;
            d.engine_version = info.engine_version;
            d.engine_labels = info.engine_labels;
        }
        Ok(Err(e)) => d.engine_error = Some(format!("container engine unreachable: {e}")),
        Err(_) => {
            d.engine_error = Some(format!(
                "container engine did not answer within {} s",
                DESCRIBE_TIMEOUT.as_secs()
            ))
        }
    }
    d.warnings.extend(agent.network.warnings());
    d.mesh_backend = agent.network.backend();
    d
}
