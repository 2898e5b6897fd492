//! Issue 3, tasks following nodes on 3 managers + 2 workers: drain, a killed worker, a leader
//! killed in the middle of a scale-up, and a global service on a joining node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use integration::{wait_until, Cluster, TaskRow};

const IMAGE: &str = "nginx";
const CONVERGE: Duration = Duration::from_secs(20);

/// Running tasks of `service`, none of them on `avoid`, once there are exactly `n`.
fn wait_running_off(cluster: &Cluster, service: &str, n: usize, avoid: &str) -> Vec<TaskRow> {
    wait_until(
        &format!("{n} running tasks of {service}, none on {avoid}"),
        CONVERGE,
        || {
            let running: Vec<TaskRow> = cluster
                .service_ps(service)?
                .into_iter()
                .filter(TaskRow::is_running)
                .collect();
            if running.len() == n && running.iter().all(|t| t.node != avoid) {
                Ok(running)
            } else {
                Err(format!("{running:?}"))
            }
        },
    )
}

#[test]
fn drain_moves_tasks_away() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service("web", &["--replicas", "5", IMAGE]);
    let before = cluster.wait_running("web", 5, CONVERGE);
    assert!(
        before.iter().any(|t| t.node == "w1"),
        "nothing on w1 to drain: {before:?}"
    );
    cluster
        .ctl(&["node", "update", "--availability", "drain", "w1"])
        .expect_ok();
    wait_running_off(&cluster, "web", 5, "w1");
    let rows = cluster.try_node_ls().expect("node ls");
    let w1 = rows.iter().find(|r| r.hostname == "w1").expect("w1 listed");
    assert_eq!(w1.availability, "Drain");
}

#[test]
fn a_killed_workers_tasks_come_back_running_elsewhere() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service("web", &["--replicas", "5", IMAGE]);
    let before = cluster.wait_running("web", 5, CONVERGE);
    let lost: Vec<&str> = before
        .iter()
        .filter(|t| t.node == "w2")
        .map(|t| t.slot())
        .collect();
    assert_eq!(
        lost.len(),
        1,
        "w2 should hold one of 5 spread replicas: {before:?}"
    );
    let w2 = cluster.index("w2");
    let killed_at = Instant::now();
    cluster.nodes[w2].kill9();
    let after = wait_running_off(&cluster, "web", 5, "w2");
    let took = killed_at.elapsed();
    println!(
        "node loss: w2 killed, its slot {lost:?} running elsewhere after {} ms",
        took.as_millis()
    );
    let mut slots: Vec<&str> = after.iter().map(TaskRow::slot).collect();
    slots.sort();
    assert_eq!(
        slots,
        ["1", "2", "3", "4", "5"],
        "slots after node loss: {after:?}"
    );
    wait_until("w2 to be Down", CONVERGE, || {
        let rows = cluster.try_node_ls()?;
        match rows.iter().find(|r| r.hostname == "w2") {
            Some(r) if r.status == "Down" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

#[test]
fn a_leader_killed_during_scale_up_still_ends_with_exactly_n_tasks() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service("big", &["--replicas", "2", IMAGE]);
    cluster.wait_running("big", 2, CONVERGE);
    let leader = cluster.wait_leader(Duration::from_secs(5));
    cluster.nodes[leader]
        .ctl(&["service", "scale", "-d", "big=20"])
        .expect_ok();
    cluster.nodes[leader].kill9();
    let dead = cluster.nodes[leader].name.clone();
    let new = cluster.wait_leader(Duration::from_secs(10));
    println!(
        "scale-up failover: {dead} killed, {} leads",
        cluster.nodes[new].name
    );

    let running = wait_running_off(&cluster, "big", 20, &dead);
    // Settled: no late duplicate appears once the new leader has reconciled.
    std::thread::sleep(Duration::from_secs(2));
    let tasks = cluster.service_ps("big").expect("service ps");
    let mut per_slot: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks.iter().filter(|t| t.desired_state == "Running") {
        *per_slot.entry(task.slot().to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = (1..=20).map(|s| (s.to_string(), 1)).collect();
    assert_eq!(
        per_slot, expected,
        "slots with desired Running after failover (want 1..20 once each): {tasks:?}"
    );
    let still = tasks.iter().filter(|t| t.is_running()).count();
    assert_eq!(
        still, 20,
        "running tasks changed after settling: {running:?} then {tasks:?}"
    );
}

#[test]
fn a_global_service_follows_a_joining_node() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service("agent", &["--mode", "global", IMAGE]);
    let five = cluster.wait_running("agent", 5, CONVERGE);
    let mut nodes: Vec<&str> = five.iter().map(|t| t.node.as_str()).collect();
    nodes.sort();
    assert_eq!(nodes, ["m1", "m2", "m3", "w1", "w2"], "one task per node");

    cluster.spawn_node("w3", false, &[]);
    cluster.wait_joined(&["w3".to_string()]);
    let six = cluster.wait_running("agent", 6, CONVERGE);
    assert!(
        six.iter().any(|t| t.node == "w3"),
        "no task on the new node: {six:?}"
    );
}
