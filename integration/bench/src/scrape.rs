//! (m) `GET /metrics` on a leader holding 10,000 tasks: one manager (test executor) serving
//! metrics, one service of 10,000 replicas, then 20 scrapes timed from connect to the last
//! byte. Target: ≤ 50 ms.
//!
//! The replicas are constrained to a label no node has, so they stay `Pending` (as in section
//! x): a scrape reads every task whatever its state, and 10,000 tasks really running on one
//! node would measure that node's struggle with them rather than the scrape.

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use metrics::exposition::{parse, scrape};

use crate::control::{self, service_spec};
use crate::managers::{free_loopback_addr, poll, swarmctl, Binaries, Place, Swarmd};
use crate::report::{percentile, Report};

const SECTION: &str = "m. metrics scrape";
const TASKS: u64 = 10_000;
const SCRAPES: usize = 20;
const CREATE_LIMIT: Duration = Duration::from_secs(120);
const SCRAPE_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(report: &mut Report, bins: &Binaries) -> Result<()> {
    let root = tempfile::Builder::new().prefix("swb-m-").tempdir()?;
    let addr = free_loopback_addr();
    let flags = ["--metrics-addr".to_string(), addr.to_string()];
    let node = Swarmd::start(bins, root.path(), "m1", &Place::loopback(), &flags);
    let socket = node.socket();
    let up = poll(Duration::from_secs(30), || {
        let out = swarmctl(bins, &socket, &["node", "ls", "-q"], Duration::from_secs(5));
        out.status.success()
    });
    ensure!(
        up,
        "the manager never answered; its log:\n{}",
        node.log_tail(30)
    );

    let mut ctl = control::connect_socket(socket.clone()).await?;
    let started = Instant::now();
    let nowhere = ["node.labels.swb_nowhere==1"];
    control::create(
        &mut ctl,
        service_spec("big", "nginx", TASKS, None, &nowhere),
    )
    .await?;
    // Measured once the leader is idle: every task pending with the scheduler's reason.
    let pending = [("state", "pending")];
    let explained = [("outcome", "unschedulable")];
    let settled = poll(CREATE_LIMIT, || {
        let text = scrape(addr, SCRAPE_LIMIT).unwrap_or_default();
        parse(&text).is_ok_and(|e| {
            e.value("swarmd_tasks", &pending) == Some(TASKS as f64)
                && e.value("swarmd_scheduler_decisions_total", &explained) >= Some(TASKS as f64)
        })
    });
    ensure!(
        settled,
        "{TASKS} tasks never all pending; log:\n{}",
        node.log_tail(20)
    );
    println!(
        "  {TASKS} pending tasks, explained, after {:.1?}",
        started.elapsed()
    );

    let mut samples = Vec::with_capacity(SCRAPES);
    let mut size = 0;
    for _ in 0..SCRAPES {
        let t = Instant::now();
        let text = tokio::task::spawn_blocking(move || scrape(addr, SCRAPE_LIMIT))
            .await?
            .map_err(anyhow::Error::msg)?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        size = text.len();
        let e = parse(&text).map_err(anyhow::Error::msg)?;
        let tasks = e.value("swarmd_store_objects", &[("kind", "task")]);
        ensure!(
            tasks == Some(TASKS as f64),
            "a scrape shows {tasks:?} tasks"
        );
    }
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!("  {SCRAPES} scrapes of {size} bytes: p50 {p50:.1} ms, p99 {p99:.1} ms");
    println!("  each (ms): {samples:.1?}");
    let what = format!("GET /metrics, leader with {TASKS} tasks, {SCRAPES} scrapes");
    report.add(SECTION, &format!("{what}, p50"), p50, "ms", "≤ 50 ms");
    report.add(SECTION, &format!("{what}, p99"), p99, "ms", "≤ 50 ms");
    report.note(&format!("{size} bytes per scrape; the tasks pending"));
    Ok(())
}
