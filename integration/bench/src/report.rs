//! What one run measured: rows for the markdown table and `bench.json`, the raw latency samples
//! for the plot, and the conditions of the run (machine, load average).

use std::time::Duration;

use serde::Serialize;

/// One figure. `value` is `None` when the section was skipped or failed; `note` says why.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub section: String,
    pub metric: String,
    pub value: Option<f64>,
    pub unit: String,
    pub target: String,
    pub note: String,
}

/// Raw latencies in milliseconds, for the plot and for anyone re-analysing `bench.json`.
#[derive(Debug, Default, Serialize)]
pub struct Samples {
    /// Control API writes to the leader, one at a time (each acknowledged after commit).
    pub raft_commit_ms: Vec<f64>,
    /// HTTP requests from the lab's client through a node without a task (routing mesh).
    pub mesh_ms: Vec<f64>,
    /// The same requests straight to the task (a 1:1 DNAT alias on its node, no mesh).
    pub direct_ms: Vec<f64>,
}

/// One point of the scale curve (h): a cluster of `agents` simulated nodes running `tasks`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScalePoint {
    pub agents: usize,
    pub tasks: usize,
    /// First join → every node Ready (the same for every point of one cluster).
    pub ready_ms: f64,
    /// Services created → every task RUNNING; `None` when the point's limit passed first.
    pub running_ms: Option<f64>,
    /// Services removed → no task on any node nor in the store (before the next point).
    pub teardown_ms: Option<f64>,
    /// The largest peak `VmRSS` of the 3 managers during the point (the leader's, as long as
    /// it kept leading).
    pub manager_rss_mib: f64,
    /// Nodes the managers marked Down so far, though none was stopped.
    pub nodes_down: usize,
    /// Sessions the nodes lost so far (ended by the manager, heartbeat refused or late).
    pub sessions_lost: u64,
    /// The heartbeat period the nodes were told.
    pub heartbeat_ms: u64,
    /// Assignments the nodes received during the point, and their encoded size.
    pub pushes: u64,
    pub pushed_mib: f64,
    pub note: String,
}

impl ScalePoint {
    pub fn summary(&self) -> String {
        format!(
            "manager RSS peak {:.0} MiB, {} pushes ({:.0} MiB) to the nodes, {} nodes marked Down, {} sessions lost, heartbeat {} ms{}",
            self.manager_rss_mib,
            self.pushes,
            self.pushed_mib,
            self.nodes_down,
            self.sessions_lost,
            self.heartbeat_ms,
            if self.note.is_empty() { String::new() } else { format!("; {}", self.note) }
        )
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: String,
    pub quick: bool,
    /// `/proc/loadavg` at the start and the end of the run.
    pub load_start: String,
    pub load_end: String,
    pub rows: Vec<Row>,
    pub samples: Samples,
    pub scale: Vec<ScalePoint>,
}

impl Report {
    pub fn add(&mut self, section: &str, metric: &str, value: f64, unit: &str, target: &str) {
        self.push(section, metric, Some(value), unit, target, "");
    }

    pub fn add_ms(&mut self, section: &str, metric: &str, d: Duration, target: &str) {
        self.add(section, metric, d.as_secs_f64() * 1e3, "ms", target);
    }

    /// A row with no figure: the section was skipped or failed, `note` says why.
    pub fn missing(&mut self, section: &str, metric: &str, note: &str) {
        self.push(section, metric, None, "", "", note);
    }

    /// Attaches a note to the last row.
    pub fn note(&mut self, note: &str) {
        if let Some(row) = self.rows.last_mut() {
            row.note = note.to_string();
        }
    }

    fn push(
        &mut self,
        section: &str,
        metric: &str,
        value: Option<f64>,
        unit: &str,
        target: &str,
        note: &str,
    ) {
        let row = Row {
            section: section.to_string(),
            metric: metric.to_string(),
            value,
            unit: unit.to_string(),
            target: target.to_string(),
            note: note.to_string(),
        };
        println!("  {}", row_line(&row));
        self.rows.push(row);
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "machine: {}\nload average: start {} / end {}{}\n\n",
            self.machine,
            self.load_start,
            self.load_end,
            if self.quick { " (--quick)" } else { "" }
        );
        out.push_str("| section | metric | value | target | note |\n|---|---|---|---|---|\n");
        for row in &self.rows {
            out.push_str(&row_line(row));
            out.push('\n');
        }
        out
    }
}

fn row_line(row: &Row) -> String {
    let value = match row.value {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0} {}", row.unit),
        Some(v) => format!("{v:.2} {}", row.unit),
        None => "—".to_string(),
    };
    format!(
        "| {} | {} | {} | {} | {} |",
        row.section, row.metric, value, row.target, row.note
    )
}

/// The `p` quantile (0..=1) of `samples` in ms, nearest rank.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `/proc/loadavg`'s first three fields.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Cores, memory and kernel of this machine, read from /proc.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores, {:.1} GiB, kernel {}",
        mem_kib as f64 / (1 << 20) as f64,
        kernel.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&s, 0.5), 50.0);
        assert_eq!(percentile(&s, 0.99), 99.0);
        assert_eq!(percentile(&s, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
