//! (n) Issue 14's resolver: answer latency at 5,000 queries/s from one client, through the dns
//! crate's own `resolver_bench` example (real UDP on loopback, 100 services in the zone).

use anyhow::{Context, Result};

use crate::examples;
use crate::report::Report;

const SECTION: &str = "n. embedded DNS (5,000 queries/s, 100 services)";

pub fn run(report: &mut Report, quick: bool) -> Result<()> {
    let secs = if quick { "1" } else { "5" };
    let lines = examples::run("dns", "resolver_bench", &["5000", secs, "100"])?;
    let p99 = examples::figure(&lines, "resolver p99", "ms")
        .context("resolver_bench printed no `resolver p99` figure")?;
    report.add(SECTION, "answer latency p99", p99, "ms", "≤ 1 ms");
    let lost = examples::after(&lines, "resolver unanswered", "unanswered")
        .context("resolver_bench printed no `unanswered` count")?;
    report.add(SECTION, "unanswered queries", lost, "", "0");
    report
        .note("in process over loopback; section v measures it from a container, beside Docker's");
    Ok(())
}
