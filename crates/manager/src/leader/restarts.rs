//! When to restart a failed component and when to give up: exponential backoff, and a count of
//! recent failures. Pure (time is passed in), so the policy is tested without time passing.

use std::collections::VecDeque;
use std::time::Duration;

use backoff::Backoff;
use tokio::time::Instant;

/// Wait before the first restart: long enough not to spin on a failure that repeats at once,
/// short enough that a one-off panic costs the leader almost nothing.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The wait doubles after each failure up to this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A run this long was healthy: the next failure starts the backoff over.
pub const HEALTHY_RUN: Duration = Duration::from_secs(10);
/// This many failures of one component within [`FAILURE_WINDOW`] mean restarting does not
/// help here: the leader gives up and steps down, so another manager takes over.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// What to do about a component that just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    RestartAfter(Duration),
    /// It failed `failures` times within [`FAILURE_WINDOW`].
    Escalate {
        failures: usize,
    },
}

/// One component's failure history.
#[derive(Debug)]
pub struct Restarts {
    backoff: Backoff,
    /// When it failed, oldest first, within the window.
    recent: VecDeque<Instant>,
}

impl Default for Restarts {
    fn default() -> Self {
        Restarts {
            backoff: Backoff::new(INITIAL_BACKOFF, MAX_BACKOFF),
            recent: VecDeque::new(),
        }
    }
}

impl Restarts {
    /// Records a failure at `now` of a run that lasted `ran_for`.
    pub fn failed(&mut self, now: Instant, ran_for: Duration) -> Verdict {
        if ran_for >= HEALTHY_RUN {
            self.backoff.reset();
        }
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_FAILURES {
            return Verdict::Escalate {
                failures: self.recent.len(),
            };
        }
        Verdict::RestartAfter(self.backoff.next_delay())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUICK: Duration = Duration::from_millis(1);

    #[test]
    fn the_backoff_doubles_up_to_the_cap() {
        let mut r = Restarts::default();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        // Failures far apart never reach MAX_FAILURES within the window.
        for _ in 0..8 {
            now += FAILURE_WINDOW;
            match r.failed(now, QUICK) {
                Verdict::RestartAfter(d) => waits.push(d.as_millis()),
                v => panic!("{v:?}"),
            }
        }
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[test]
    fn a_healthy_run_starts_the_backoff_over() {
        let mut r = Restarts::default();
        let now = Instant::now();
        assert_eq!(r.failed(now, QUICK), Verdict::RestartAfter(INITIAL_BACKOFF));
        assert_eq!(
            r.failed(now, QUICK),
            Verdict::RestartAfter(INITIAL_BACKOFF * 2)
        );
        assert_eq!(
            r.failed(now + HEALTHY_RUN, HEALTHY_RUN),
            Verdict::RestartAfter(INITIAL_BACKOFF)
        );
    }

    #[test]
    fn repeated_failures_within_the_window_escalate() {
        let mut r = Restarts::default();
        let start = Instant::now();
        for i in 1..MAX_FAILURES {
            let at = start + Duration::from_secs(i as u64);
            assert!(
                matches!(r.failed(at, QUICK), Verdict::RestartAfter(_)),
                "{i}"
            );
        }
        let last = start + Duration::from_secs(MAX_FAILURES as u64);
        assert_eq!(
            r.failed(last, QUICK),
            Verdict::Escalate {
                failures: MAX_FAILURES
            }
        );
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut r = Restarts::default();
        let start = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            r.failed(start + Duration::from_millis(i as u64), QUICK);
        }
        let later = start + FAILURE_WINDOW + Duration::from_secs(1);
        assert!(matches!(r.failed(later, QUICK), Verdict::RestartAfter(_)));
    }
}
