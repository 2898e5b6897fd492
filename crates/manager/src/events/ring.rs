//! The bounded history behind `--since`: the latest events, no more than a count and no
//! older than an age, oldest first.

use std::collections::VecDeque;
use std::time::Duration;

use types::event::{ClusterEvent, EventFilter};

/// How much history a manager keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// The most events kept; the oldest go first.
    pub max_events: usize,
    /// Events older than this are dropped.
    pub max_age: Duration,
}

impl Default for HistoryLimits {
    /// About 2 MB of events, and an hour: enough for `--since 10m` on a busy cluster.
    fn default() -> Self {
        HistoryLimits {
            max_events: 10_000,
            max_age: Duration::from_secs(3600),
        }
    }
}

/// The times an event must fall between (unix ms, both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since_ms: i64,
    pub until_ms: Option<i64>,
}

impl Window {
    pub fn contains(&self, time_ms: i64) -> bool {
        time_ms >= self.since_ms && self.until_ms.is_none_or(|u| time_ms <= u)
    }
}

/// Events in arrival order, within the limits.
#[derive(Debug)]
pub struct Ring {
    events: VecDeque<ClusterEvent>,
    limits: HistoryLimits,
}

impl Ring {
    pub fn new(limits: HistoryLimits) -> Ring {
        Ring {
            events: VecDeque::new(),
            limits,
        }
    }

    /// Keeps `event`, dropping what no longer fits.
    pub fn push(&mut self, event: ClusterEvent, now_ns: i64) {
        self.prune(now_ns);
        if self.limits.max_events == 0 {
            return;
        }
        if self.events.len() == self.limits.max_events {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The kept events inside `window` that `filter` passes, oldest first.
    pub fn replay(&self, window: Window, filter: &EventFilter, now_ns: i64) -> Vec<ClusterEvent> {
        let oldest = self.oldest_kept_ns(now_ns);
        self.events
            .iter()
            .filter(|e| e.time_ns >= oldest && window.contains(e.time_ms()) && filter.matches(e))
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn oldest_kept_ns(&self, now_ns: i64) -> i64 {
        let age = i64::try_from(self.limits.max_age.as_nanos()).unwrap_or(i64::MAX);
        now_ns.saturating_sub(age)
    }

    /// Drops expired events from the front. Should the clock step back, an expired event
    /// behind a younger one waits for it; `replay` never returns it.
    fn prune(&mut self, now_ns: i64) {
        let oldest = self.oldest_kept_ns(now_ns);
        while self.events.front().is_some_and(|e| e.time_ns < oldest) {
            self.events.pop_front();
        }
    }
}
