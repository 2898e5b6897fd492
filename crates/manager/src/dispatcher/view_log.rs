//! The network view at its latest version, with the diffs that led to it, so that each session
//! is sent what changed since the version it last sent rather than the whole view (see
//! [`types::netview_diff`] for why). The publisher computes each diff once per change, for
//! every node; a session that fell further behind than the log keeps is sent the view whole.

use std::collections::VecDeque;
use std::sync::Arc;

use types::{NetworkView, ViewDiff};

/// How many versions back a session can be sent a diff from.
const KEPT: usize = 64;

#[derive(Debug, Default, PartialEq)]
pub struct ViewLog {
    /// Counts the view's changes under this leader; a new session starts from the whole view.
    pub version: u64,
    pub view: NetworkView,
    /// `diffs[i]` takes the view from version `version - diffs.len() + i` to the next.
    diffs: VecDeque<Arc<ViewDiff>>,
}

impl ViewLog {
    /// The log after the view became `next`; `None` when it did not change.
    pub fn advanced(&self, next: NetworkView) -> Option<ViewLog> {
        let diff = self.view.diff(&next);
        if diff.is_empty() {
            return None;
        }
        let mut diffs = self.diffs.clone();
        if diffs.len() == KEPT {
            diffs.pop_front();
        }
        diffs.push_back(Arc::new(diff));
        Some(ViewLog {
            version: self.version + 1,
            view: next,
            diffs,
        })
    }

    /// What turns the view of version `base` into this one; `None` when `base` is not one this
    /// log can reach (too old, or not of this log).
    pub fn since(&self, base: u64) -> Option<ViewDiff> {
        let behind = usize::try_from(self.version.checked_sub(base)?).ok()?;
        if behind > self.diffs.len() {
            return None;
        }
        let first = self.diffs.len() - behind;
        Some(
            self.diffs
                .range(first..)
                .fold(ViewDiff::default(), |acc, d| acc.then(d)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::NodePeer;

    fn view_with_peers(n: usize) -> NetworkView {
        NetworkView {
            peers: (0..n)
                .map(|i| NodePeer {
                    node_id: format!("n{i:03}"),
                    underlay_addr: format!("192.168.0.{i}"),
                    ingress_addr: format!("10.255.0.{i}"),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_session_behind_by_some_versions_gets_one_diff_to_the_latest() {
        let mut logs = vec![ViewLog::default()];
        for n in 1..=5 {
            let next = logs.last().unwrap().advanced(view_with_peers(n)).unwrap();
            logs.push(next);
        }
        let latest = logs.last().unwrap();
        assert_eq!(latest.version, 5);
        for old in &logs {
            let mut view = old.view.clone();
            view.apply(&latest.since(old.version).expect("within the log"));
            assert_eq!(view, latest.view, "from version {}", old.version);
        }
        assert!(latest.since(6).is_none(), "a version this log never had");
    }

    #[test]
    fn an_unchanged_view_is_no_new_version() {
        let log = ViewLog::default().advanced(view_with_peers(2)).unwrap();
        assert!(log.advanced(view_with_peers(2)).is_none());
    }

    #[test]
    fn a_session_further_behind_than_the_log_keeps_gets_the_whole_view() {
        let mut log = ViewLog::default();
        for n in 1..=KEPT + 2 {
            log = log.advanced(view_with_peers(n)).unwrap();
        }
        assert!(log.since(1).is_none());
        assert!(log.since(2).is_some());
    }
}
