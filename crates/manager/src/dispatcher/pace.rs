//! The heartbeat period told to agents, scaled with the size of the cluster.
//!
//! The leader answers every heartbeat, so a fixed period makes its load grow with the number of
//! nodes: at the LAN-fast 500 ms, 5,000 nodes would send it 10,000 heartbeats a second. The
//! period therefore grows with the node count so that the whole cluster sends about
//! [`HEARTBEATS_PER_SECOND`], in whole multiples of the configured period (which small
//! clusters keep: up to 500 nodes at 500 ms). SwarmKit, for comparison, keeps one period
//! whatever the size (5 s by default, each heartbeat answered with a random ±0.5 s around it),
//! which its 2,384-node test ran with: about 480 heartbeats a second.
//!
//! A change is pushed to every node, so the period moves in steps, and steps down only with a
//! margin below the boundary: nodes joining or leaving around a boundary cause no push storm.
//! After a step down, nodes still keeping the longer period (their push may be on its way) are
//! judged by it until one grace of it has passed.

use std::time::{Duration, Instant};

/// What the whole cluster's heartbeats may cost the leader, in heartbeats a second.
pub const HEARTBEATS_PER_SECOND: u64 = 1000;

/// Nodes one multiple of `base` carries within the budget (at least one).
fn per_step(base: Duration) -> u64 {
    (u128::from(HEARTBEATS_PER_SECOND) * base.as_millis() / 1000).max(1) as u64
}

fn steps_needed(base: Duration, nodes: usize) -> u32 {
    let per = per_step(base);
    (nodes as u64).div_ceil(per).clamp(1, u64::from(u32::MAX)) as u32
}

/// The period currently told, and the longer one nodes may still hold after a step down.
#[derive(Debug)]
pub struct Pace {
    base: Duration,
    steps: u32,
    /// The period before the last step down, and until when a node may still keep it.
    previous: Option<(Duration, Instant)>,
}

impl Pace {
    /// The pace for a cluster of `nodes`, `base` being the configured period.
    pub fn new(base: Duration, nodes: usize) -> Pace {
        Pace {
            base,
            steps: steps_needed(base, nodes),
            previous: None,
        }
    }

    pub fn period(&self) -> Duration {
        self.base * self.steps
    }

    /// Follows the cluster's size; answers whether the period changed (and must be pushed).
    /// `grace_periods` is how many periods a node may miss: how long an older, longer period
    /// may still be held after a step down.
    pub fn observe(&mut self, nodes: usize, grace_periods: u32, now: Instant) -> bool {
        let needed = steps_needed(self.base, nodes);
        let margin = per_step(self.base) / 4;
        let step_down = needed < self.steps
            && (nodes as u64).saturating_add(margin) <= u64::from(needed) * per_step(self.base);
        if needed <= self.steps && !step_down {
            return false;
        }
        if step_down {
            let old = self.period();
            self.previous = Some((old, now + old * grace_periods));
        }
        self.steps = needed;
        true
    }

    /// The longest period a node may be keeping at `now`: the grace is counted in it.
    pub fn longest_held(&self, now: Instant) -> Duration {
        match self.previous {
            Some((old, until)) if now < until => old.max(self.period()),
            _ => self.period(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_millis(500);

    fn scaled(base: Duration, nodes: usize) -> Duration {
        Pace::new(base, nodes).period()
    }

    #[test]
    fn small_clusters_keep_the_configured_period_and_large_ones_spread_out() {
        let ms = |nodes| scaled(BASE, nodes).as_millis();
        assert_eq!(ms(0), 500);
        assert_eq!(ms(3), 500);
        assert_eq!(ms(500), 500);
        assert_eq!(ms(501), 1000);
        assert_eq!(ms(2_384), 2500);
        assert_eq!(ms(5_003), 5500);
        // Whatever the size, the cluster's heartbeats stay within the budget.
        for nodes in [1, 499, 500, 501, 1_000, 2_384, 5_003, 100_000] {
            let per_second = nodes as f64 / scaled(BASE, nodes).as_secs_f64();
            assert!(
                per_second <= HEARTBEATS_PER_SECOND as f64,
                "{nodes}: {per_second}"
            );
        }
    }

    #[test]
    fn the_budget_does_not_depend_on_the_configured_period() {
        // A 50 ms cluster of 5,000 nodes ends at the same 5 s; a 30 s one stays at 30 s.
        assert_eq!(
            scaled(Duration::from_millis(50), 5_000),
            Duration::from_secs(5)
        );
        assert_eq!(
            scaled(Duration::from_secs(30), 5_000),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn it_steps_up_at_once_and_down_only_with_a_margin() {
        let now = Instant::now();
        let mut pace = Pace::new(BASE, 400);
        assert!(!pace.observe(500, 3, now));
        assert!(pace.observe(501, 3, now), "one node over: a longer period");
        assert_eq!(pace.period(), Duration::from_millis(1000));
        // Back to 500 and below: not yet, a node leaving and joining would flap the period.
        assert!(!pace.observe(500, 3, now));
        assert!(!pace.observe(376, 3, now));
        assert_eq!(pace.period(), Duration::from_millis(1000));
        assert!(
            pace.observe(375, 3, now),
            "a quarter of a step below the boundary"
        );
        assert_eq!(pace.period(), BASE);
    }

    #[test]
    fn after_a_step_down_the_longer_period_counts_for_one_grace_of_it() {
        let now = Instant::now();
        let mut pace = Pace::new(BASE, 5_000);
        assert_eq!(pace.period(), Duration::from_secs(5));
        assert!(pace.observe(10, 3, now));
        assert_eq!(pace.period(), BASE);
        assert_eq!(pace.longest_held(now), Duration::from_secs(5));
        let later = now + Duration::from_secs(14);
        assert_eq!(pace.longest_held(later), Duration::from_secs(5));
        assert_eq!(pace.longest_held(now + Duration::from_secs(15)), BASE);
        // Stepping up needs no such memory: the new period is the longer one.
        assert!(pace.observe(5_000, 3, later));
        assert_eq!(pace.longest_held(later), Duration::from_secs(5));
    }
}
