//! (b) The scheduler alone: 10,000 tasks onto 1,000 nodes, through the manager crate's own
//! `scheduler_bench` example.

use anyhow::{Context, Result};

use crate::examples;
use crate::report::Report;

const SECTION: &str = "b. scheduler (10,000 tasks → 1,000 nodes)";

pub fn run(report: &mut Report) -> Result<()> {
    let lines = examples::run("manager", "scheduler_bench", &["10000", "1000"])?;
    let read = |marker: &str| {
        examples::figure(&lines, marker, "ms")
            .with_context(|| format!("scheduler_bench printed no `{marker}` figure"))
    };
    report.add(
        SECTION,
        "decision (pure plan, median of 5)",
        read("scheduler decision")?,
        "ms",
        "≤ 100 ms",
    );
    report.add(
        SECTION,
        "one tick: plan + commit to a local store",
        read("scheduler tick")?,
        "ms",
        "",
    );
    report.add(
        SECTION,
        "component: tasks created → all assigned",
        read("scheduler component")?,
        "ms",
        "",
    );
    report.note("SwarmKit published 1.8 s for this (2016 laptop)");
    Ok(())
}
