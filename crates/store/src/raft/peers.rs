//! When each peer manager was last heard from: the "Reachable / Unreachable" of `node ls`.
//! Fed by the transport (a reply to our RPC) and by the service (a request from the leader).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::NodeId;

/// Whether this manager can talk to another one right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reachability {
    Reachable,
    Unreachable,
    /// No exchange with it yet (followers only talk to the leader).
    Unknown,
}

#[derive(Default, Clone, Copy)]
struct Contact {
    ok: Option<Instant>,
    failed: Option<Instant>,
}

pub struct PeerHealth {
    /// A peer silent for longer than this is unreachable (a few heartbeats).
    window: Duration,
    contacts: Mutex<HashMap<NodeId, Contact>>,
}

impl PeerHealth {
    pub fn new(window: Duration) -> Self {
        PeerHealth {
            window,
            contacts: Mutex::new(HashMap::new()),
        }
    }

    pub fn heard_from(&self, id: NodeId) {
        self.contacts
            .lock()
            .expect("peer lock")
            .entry(id)
            .or_default()
            .ok = Some(Instant::now());
    }

    pub fn failed(&self, id: NodeId) {
        self.contacts
            .lock()
            .expect("peer lock")
            .entry(id)
            .or_default()
            .failed = Some(Instant::now());
    }

    pub fn reachability(&self, id: NodeId) -> Reachability {
        let contact = self
            .contacts
            .lock()
            .expect("peer lock")
            .get(&id)
            .copied()
            .unwrap_or_default();
        match (contact.ok, contact.failed) {
            (None, None) => Reachability::Unknown,
            (None, Some(_)) => Reachability::Unreachable,
            (Some(ok), failed) if failed.is_some_and(|f| f > ok) => Reachability::Unreachable,
            (Some(ok), _) if ok.elapsed() <= self.window => Reachability::Reachable,
            (Some(_), _) => Reachability::Unreachable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_contact_decides() {
        let peers = PeerHealth::new(Duration::from_millis(50));
        assert_eq!(peers.reachability(2), Reachability::Unknown);
        peers.heard_from(2);
        assert_eq!(peers.reachability(2), Reachability::Reachable);
        std::thread::sleep(Duration::from_millis(2));
        peers.failed(2);
        assert_eq!(peers.reachability(2), Reachability::Unreachable);
        std::thread::sleep(Duration::from_millis(2));
        peers.heard_from(2);
        assert_eq!(peers.reachability(2), Reachability::Reachable);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            peers.reachability(2),
            Reachability::Unreachable,
            "silent too long"
        );
    }
}
