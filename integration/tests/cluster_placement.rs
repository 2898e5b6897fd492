//! Issue 3, scheduling on 3 managers + 2 workers (`m1..m3`, `w1`, `w2`): spread, constraints on
//! role and labels, unschedulable tasks, and role changes shown in `node ls`; issue 12, the
//! convergence wait of a global service.

use std::collections::BTreeSet;
use std::time::Duration;

use integration::{wait_until, Cluster, TaskRow};

const IMAGE: &str = "nginx";
const CONVERGE: Duration = Duration::from_secs(20);
const MANAGERS: [&str; 3] = ["m1", "m2", "m3"];

/// The hostnames the running tasks are on.
fn nodes_of(tasks: &[TaskRow]) -> Vec<String> {
    let mut nodes: Vec<String> = tasks.iter().map(|t| t.node.clone()).collect();
    nodes.sort();
    nodes
}

fn distinct(nodes: &[String]) -> BTreeSet<&str> {
    nodes.iter().map(String::as_str).collect()
}

#[test]
fn replicas_spread_one_per_node() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service("spread", &["--replicas", "3", IMAGE]);
    let three = nodes_of(&cluster.wait_running("spread", 3, CONVERGE));
    assert_eq!(
        distinct(&three).len(),
        3,
        "3 replicas share nodes: {three:?}"
    );

    cluster
        .ctl(&["service", "scale", "-d", "spread=5"])
        .expect_ok();
    let five = nodes_of(&cluster.wait_running("spread", 5, CONVERGE));
    assert_eq!(
        five,
        ["m1", "m2", "m3", "w1", "w2"],
        "5 replicas on 5 nodes are not one per node"
    );
}

#[test]
fn role_constraint_places_only_on_managers() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service(
        "on-managers",
        &[
            "--replicas",
            "6",
            "--constraint",
            "node.role==manager",
            IMAGE,
        ],
    );
    let nodes = nodes_of(&cluster.wait_running("on-managers", 6, CONVERGE));
    assert!(
        nodes.iter().all(|n| MANAGERS.contains(&n.as_str())),
        "a task of a node.role==manager service runs on a worker: {nodes:?}"
    );
    assert_eq!(
        distinct(&nodes).len(),
        3,
        "not spread over the managers: {nodes:?}"
    );
}

#[test]
fn label_constraints_select_and_exclude_labelled_nodes() {
    let mut cluster = Cluster::start(3, 2);
    cluster
        .ctl(&["node", "update", "--label-add", "zone=b", "w1"])
        .expect_ok();
    let inspect = cluster.ctl(&["node", "inspect", "w1"]).expect_ok();
    assert!(
        inspect.stdout.contains("\"zone\": \"b\""),
        "label not stored: {inspect}"
    );

    cluster.create_service(
        "in-b",
        &[
            "--replicas",
            "3",
            "--constraint",
            "node.labels.zone==b",
            IMAGE,
        ],
    );
    cluster.create_service(
        "not-b",
        &[
            "--replicas",
            "4",
            "--constraint",
            "node.labels.zone!=b",
            IMAGE,
        ],
    );
    let in_b = nodes_of(&cluster.wait_running("in-b", 3, CONVERGE));
    assert_eq!(
        in_b,
        ["w1", "w1", "w1"],
        "node.labels.zone==b ran elsewhere"
    );
    let not_b = nodes_of(&cluster.wait_running("not-b", 4, CONVERGE));
    assert!(
        !not_b.iter().any(|n| n == "w1"),
        "node.labels.zone!=b ran on w1: {not_b:?}"
    );
    assert_eq!(
        distinct(&not_b).len(),
        4,
        "not spread over the 4 other nodes: {not_b:?}"
    );
}

#[test]
fn a_task_that_fits_nowhere_stays_pending_with_an_explanation() {
    let mut cluster = Cluster::start(3, 2);
    cluster.create_service(
        "nowhere",
        &[
            "--replicas",
            "2",
            "--constraint",
            "node.labels.zone==mars",
            IMAGE,
        ],
    );
    let explained = |tasks: &[TaskRow]| {
        tasks.len() == 2
            && tasks.iter().all(|t| {
                t.state() == "Pending" && t.node.is_empty() && t.error.contains("no suitable node")
            })
    };
    let tasks = wait_until("2 pending tasks with an explanation", CONVERGE, || {
        let tasks = cluster.service_ps("nowhere")?;
        if explained(&tasks) {
            Ok(tasks)
        } else {
            Err(format!("{tasks:?}"))
        }
    });
    println!("unschedulable: {}", tasks[0].error);
    assert!(
        tasks[0].error.contains("constraint"),
        "the explanation does not name the constraints: {}",
        tasks[0].error
    );
    // Still pending a while later: the scheduler retries but never places them.
    std::thread::sleep(Duration::from_secs(2));
    let later = cluster.service_ps("nowhere").expect("service ps");
    assert!(explained(&later), "unschedulable tasks moved: {later:?}");
}

#[test]
fn creating_a_global_service_waits_for_every_eligible_node() {
    let mut cluster = Cluster::start(1, 3);
    cluster
        .ctl(&["node", "update", "--availability", "drain", "w3"])
        .expect_ok();
    // Not detached: the command returns once the service has converged.
    let out = cluster
        .ctl(&[
            "service",
            "create",
            "--name",
            "agent",
            "--mode",
            "global",
            "--constraint",
            "node.role==worker",
            IMAGE,
        ])
        .expect_ok();
    assert!(
        out.stdout.contains("overall progress: 2 out of 2 tasks")
            && out.stdout.contains("verify: Service converged"),
        "w1 and w2 (w3 is drained, m1 is no worker) were not both waited for: {out}"
    );
    // Converged means running there already, not soon.
    let tasks = cluster.service_ps("agent").expect("service ps");
    let mut running: Vec<&str> = tasks
        .iter()
        .filter(|t| t.is_running())
        .map(|t| t.node.as_str())
        .collect();
    running.sort_unstable();
    assert_eq!(running, ["w1", "w2"], "{tasks:?}");
}

/// MANAGER STATUS of `name` in `node ls`.
fn manager_status(cluster: &Cluster, name: &str) -> Result<String, String> {
    let rows = cluster.try_node_ls()?;
    rows.iter()
        .find(|r| r.hostname == name)
        .map(|r| r.manager_status.clone())
        .ok_or_else(|| format!("{name} missing from {rows:?}"))
}

#[test]
fn promote_and_demote_change_manager_status() {
    let mut cluster = Cluster::start(3, 2);
    assert_eq!(manager_status(&cluster, "w1").expect("node ls"), "");
    cluster.ctl(&["node", "promote", "w1"]).expect_ok();
    wait_until(
        "w1 to be a reachable manager",
        CONVERGE,
        || match manager_status(&cluster, "w1")?.as_str() {
            "Reachable" | "Leader" => Ok(()),
            other => Err(format!("w1 is `{other}`")),
        },
    );
    cluster.ctl(&["node", "demote", "w1"]).expect_ok();
    wait_until(
        "w1 to be a worker again",
        CONVERGE,
        || match manager_status(&cluster, "w1")?.as_str() {
            "" => Ok(()),
            other => Err(format!("w1 is `{other}`")),
        },
    );
    let leader = cluster.wait_leader(Duration::from_secs(5));
    let follower = (0..3).find(|&i| i != leader).expect("a follower");
    let name = cluster.nodes[follower].name.clone();
    cluster.ctl(&["node", "demote", &name]).expect_ok();
    cluster.nodes[follower].manager = false;
    wait_until(
        &format!("{name} to be a worker"),
        CONVERGE,
        || match manager_status(&cluster, &name)?.as_str() {
            "" => Ok(()),
            other => Err(format!("{name} is `{other}`")),
        },
    );
    // The two remaining managers still commit.
    cluster.create_service("after-demote", &[IMAGE]);
}
