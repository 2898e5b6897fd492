//! Task IDs whose container changed, from Docker's event stream.
//!
//! The stream is filtered by the engine to this node's containers, and never ends while it is
//! consumed: when the connection drops (dockerd restarted, socket gone) it reconnects with
//! backoff and asks Docker to replay what happened since the last event it saw, so a short
//! outage loses nothing Docker still remembers. The agent also polls, so a lost event is
//! only slower, never missed for good.

use backoff::Backoff;
use bollard::query_parameters::EventsOptions;
use bollard::Docker;
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::labels;

/// The container events that can change what the agent reports for a task.
const ACTIONS: [&str; 5] = ["start", "die", "oom", "health_status", "destroy"];

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Changes from the moment of this call on, even those that happen before the stream is
/// first polled (a stream connects lazily; Docker replays from `since`).
pub fn task_changes(docker: Docker, node_id: String) -> impl Stream<Item = String> {
    // Docker's `since`: where every (re)connection resumes.
    let mut since = since_now();
    async_stream::stream! {
        let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
        loop {
            let mut events = docker.events(Some(EventsOptions {
                since: Some(since.clone()),
                until: None,
                filters: Some(filters(&node_id)),
            }));
            let mut delivered = false;
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(err) => {
                        tracing::debug!(error = %err, "docker event stream failed");
                        break;
                    }
                };
                delivered = true;
                if let Some(time_nano) = event.time_nano {
                    since = format_since(time_nano);
                }
                let action = event.action.as_deref().unwrap_or_default();
                // health_status events carry the new status: "health_status: healthy".
                let action = action.split(':').next().unwrap_or_default();
                if !ACTIONS.contains(&action) {
                    continue;
                }
                let task_id = event
                    .actor
                    .and_then(|actor| actor.attributes)
                    .and_then(|mut attributes| attributes.remove(labels::TASK_ID));
                if let Some(task_id) = task_id {
                    yield task_id;
                }
            }
            if delivered {
                backoff.reset();
            }
            let wait = backoff.next_delay();
            tracing::debug!(?wait, "docker event stream ended; reconnecting");
            tokio::time::sleep(wait).await;
        }
    }
}

fn filters(node_id: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        ("label".to_string(), vec![labels::node_filter(node_id)]),
        (
            "event".to_string(),
            ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ])
}

/// Docker's `since` accepts `<seconds>.<nanoseconds>` since the epoch.
fn format_since(time_nano: i64) -> String {
    format!(
        "{}.{:09}",
        time_nano.div_euclid(1_000_000_000),
        time_nano.rem_euclid(1_000_000_000)
    )
}

fn since_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", now.as_secs(), now.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_keeps_nanosecond_precision() {
        assert_eq!(
            format_since(1_714_557_600_000_000_042),
            "1714557600.000000042"
        );
        assert_eq!(format_since(5), "0.000000005");
    }

    #[test]
    fn filters_select_this_nodes_containers() {
        let filters = filters("n1");
        assert_eq!(filters["label"], vec!["com.swarmd.node.id=n1".to_string()]);
        assert_eq!(filters["type"], vec!["container".to_string()]);
        assert!(filters["event"].contains(&"health_status".to_string()));
    }
}
