//! Exponential backoff: the wait before each retry doubles from a minimum up to a cap, and
//! goes back to the minimum once things work again. Every retry loop of swarmd (agent
//! sessions, engine connections and events, task controllers, the data plane, the leader's
//! supervisor) uses this one, so a change of policy is made once. Pure: no clock, no sleep;
//! the caller waits.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Waits of `min`, `2 × min`, ... up to `max`.
    pub const fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max,
            next: min,
        }
    }

    /// The wait before the next attempt; the one after it doubles (up to the cap).
    pub fn next_delay(&mut self) -> Duration {
        let now = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        now
    }

    /// After a success: the next wait is the minimum again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500));
        let waits: Vec<_> = (0..5).map(|_| b.next_delay()).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        b.reset();
        assert_eq!(b.next_delay(), ms(100));
    }

    #[test]
    fn a_huge_cap_never_overflows() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::MAX);
        for _ in 0..100 {
            b.next_delay();
        }
        assert_eq!(b.next_delay(), Duration::MAX);
    }
}
