//! Declaring nodes DOWN: a node whose session went silent, or that never opened one with
//! this leader, for a whole grace period. The orchestrator then replaces its tasks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use store::{Object, StoreError};
use types::NodeState;

use super::Dispatcher;

/// How many heartbeat periods a node may miss before it is DOWN.
pub(super) const GRACE_PERIODS: u32 = 3;

/// A node that has no session with this leader yet gets this many graces, as SwarmKit gives
/// "unknown" nodes twice the grace: after a leader change every agent must notice, back off,
/// redial and open a session while the new leader is busiest, and a healthy node must not be
/// declared DOWN (its tasks rescheduled) for being late to reconnect.
pub(super) const UNSEEN_GRACES: u32 = 2;

impl Dispatcher {
    /// Counted in the longest period a node may be keeping (see `pace`).
    fn grace(&self, now: Instant) -> Duration {
        self.pace.lock().expect("pace lock").longest_held(now) * GRACE_PERIODS
    }

    /// Nodes whose session went silent for a grace period, and nodes that have had no session
    /// with this leader for [`UNSEEN_GRACES`] of them (a leader change, a node that never came
    /// up), become DOWN.
    pub(super) async fn expire_silent_nodes(&self) -> Result<(), StoreError> {
        let now = Instant::now();
        let grace = self.grace(now);
        let expired: HashSet<String> = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            let gone: HashSet<String> = sessions
                .iter()
                .filter(|(_, s)| now.duration_since(s.last_seen) > grace)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &gone {
                sessions.remove(id);
            }
            gone
        };
        // A set: after a leader change every node is unseen, and each is looked up in it.
        let candidates: HashSet<String> = self.store.view(|t| {
            t.nodes
                .values()
                .filter(|n| n.status.state != NodeState::Down)
                .map(|n| n.id.clone())
                .collect()
        });
        let down: Vec<String> = {
            let sessions = self.sessions.lock().expect("sessions lock");
            let mut unseen = self.unseen_since.lock().expect("unseen lock");
            unseen.retain(|id, _| candidates.contains(id) && !sessions.contains_key(id));
            candidates
                .into_iter()
                .filter(|id| !sessions.contains_key(id))
                .filter(|id| {
                    let since = *unseen.entry(id.clone()).or_insert(now);
                    expired.contains(id) || now.duration_since(since) > grace * UNSEEN_GRACES
                })
                .collect()
        };
        if down.is_empty() {
            return Ok(());
        }
        tracing::info!(nodes = ?down, "nodes missed their heartbeats: marking them down");
        let marked = self
            .store
            .update(|t, tx| {
                // A node may have opened a session since the list was made.
                let sessions = self.sessions.lock().expect("sessions lock");
                let mut marked = 0;
                for id in &down {
                    if sessions.contains_key(id) {
                        continue;
                    }
                    if let Some(n) = t.nodes.get(id) {
                        if n.status.state == NodeState::Down {
                            continue;
                        }
                        let mut n = n.clone();
                        n.status.state = NodeState::Down;
                        n.status.message = "heartbeat failure".into();
                        n.status.down_since_ms = types::now_ms();
                        tx.update(Object::Node(n));
                        marked += 1;
                    }
                }
                Ok::<_, StoreError>(marked)
            })
            .await?;
        self.config.metrics.missed_heartbeats(marked);
        Ok(())
    }
}
