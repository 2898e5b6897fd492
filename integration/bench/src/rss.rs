//! Resident memory of the managers, sampled in the background so that a point reports its
//! peak and not only what is left when it ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::managers::rss_kib;

const EVERY: Duration = Duration::from_millis(500);

/// The largest `VmRSS` (KiB) of each process since the last [`RssWatch::take_peaks`].
pub struct RssWatch {
    peaks: Arc<Mutex<Vec<u64>>>,
    stop: CancellationToken,
}

impl RssWatch {
    pub fn start(pids: Vec<u32>) -> RssWatch {
        let peaks = Arc::new(Mutex::new(vec![0; pids.len()]));
        let stop = CancellationToken::new();
        let (p, s) = (peaks.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                for (i, pid) in pids.iter().enumerate() {
                    let now = rss_kib(*pid).unwrap_or(0);
                    let mut peaks = p.lock().expect("rss lock");
                    peaks[i] = peaks[i].max(now);
                }
                tokio::select! {
                    _ = s.cancelled() => return,
                    _ = tokio::time::sleep(EVERY) => {}
                }
            }
        });
        RssWatch { peaks, stop }
    }

    /// The peaks so far, starting the next ones from zero.
    pub fn take_peaks(&self) -> Vec<u64> {
        let mut peaks = self.peaks.lock().expect("rss lock");
        let taken = peaks.clone();
        peaks.iter_mut().for_each(|p| *p = 0);
        taken
    }

    /// The peak of process `i` since the last [`RssWatch::take_peaks`].
    pub fn peak_of(&self, i: usize) -> u64 {
        self.peaks
            .lock()
            .expect("rss lock")
            .get(i)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
