//! Polling with a deadline: the cluster converges asynchronously, so tests wait for a
//! condition instead of sleeping a guessed time.

use std::time::{Duration, Instant};

/// How often conditions are re-checked: fast enough to measure sub-second convergence.
pub const POLL: Duration = Duration::from_millis(100);

/// Polls `check` until it returns `Some`, and returns that value. Panics naming `what` and the
/// last observation when `timeout` passes.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Deadline::after(timeout);
    loop {
        match check() {
            Ok(value) => return value,
            Err(last) if deadline.passed() => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// A point in time after which waiting stops.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(timeout: Duration) -> Deadline {
        Deadline(Instant::now() + timeout)
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.0
    }
}
