//! Issue 3, rolling update with `--update-parallelism 1` on 3 managers + 2 workers: watching
//! `service ps` through the update, at most one slot is ever without its running task, and the
//! new image arrives task by task.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use integration::{Cluster, Deadline, TaskRow};

const OLD: &str = "nginx:1";
const NEW: &str = "nginx:2";
const REPLICAS: usize = 4;

/// What one look at `service ps` saw.
#[derive(Debug)]
struct Observation {
    /// Slots with no running task (their old task stopped, the new one not yet up).
    unfilled: usize,
    /// Running tasks of the new image.
    updated: usize,
    /// Running tasks of the old image.
    outdated: usize,
}

fn observe(tasks: &[TaskRow]) -> Observation {
    let running: Vec<&TaskRow> = tasks.iter().filter(|t| t.is_running()).collect();
    let filled: BTreeSet<&str> = running.iter().map(|t| t.slot()).collect();
    Observation {
        unfilled: REPLICAS - filled.len().min(REPLICAS),
        updated: running.iter().filter(|t| t.image == NEW).count(),
        outdated: running.iter().filter(|t| t.image == OLD).count(),
    }
}

#[test]
fn parallelism_one_replaces_tasks_one_at_a_time() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service(
        "roll",
        &[
            "--replicas",
            "4",
            "--update-parallelism",
            "1",
            "--update-delay",
            "500ms",
            OLD,
        ],
    );
    cluster.wait_running("roll", REPLICAS, Duration::from_secs(20));

    let started = Instant::now();
    cluster
        .ctl(&["service", "update", "-d", "--image", NEW, "roll"])
        .expect_ok();
    let deadline = Deadline::after(Duration::from_secs(40));
    let mut seen = Vec::new();
    loop {
        let tasks = cluster.service_ps("roll").expect("service ps");
        let now = observe(&tasks);
        assert!(
            now.unfilled <= 1,
            "{} slots without a running task at once (parallelism 1): {tasks:?}",
            now.unfilled
        );
        let done = now.updated == REPLICAS;
        seen.push(now);
        if done {
            break;
        }
        assert!(!deadline.passed(), "the update did not finish: {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    let partial: BTreeSet<usize> = seen
        .iter()
        .filter(|o| o.updated > 0 && o.outdated > 0)
        .map(|o| o.updated)
        .collect();
    println!(
        "rolling update of {REPLICAS} tasks took {} ms; {} observations; mixed states with {partial:?} updated",
        took.as_millis(),
        seen.len()
    );
    assert!(
        partial.len() >= 2,
        "the update was not seen progressing task by task (mixed states: {partial:?}): {seen:?}"
    );
    // One batch per task, 500 ms apart: at least 3 delays.
    assert!(
        took >= Duration::from_millis(1500),
        "4 tasks updated in {took:?}: the 500 ms delay between batches was not applied"
    );
}
