use super::*;
use crate::scheduler::fixtures::*;
use types::{NodeAvailability, NodeState};

/// Runs the planner; returns task ID → node ID for assignments and task ID → err otherwise.
fn run(nodes: &[Node], tasks: &[Task]) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut assigned = BTreeMap::new();
    let mut pending = BTreeMap::new();
    for d in schedule(nodes, tasks) {
        match d {
            Decision::Assign { task_id, node_id } => assigned.insert(task_id, node_id),
            Decision::Unschedulable { task_id, err } => pending.insert(task_id, err),
        };
    }
    (assigned, pending)
}

fn nodes_of(assigned: &BTreeMap<String, String>) -> Vec<&str> {
    let mut v: Vec<&str> = assigned.values().map(String::as_str).collect();
    v.sort();
    v
}

#[test]
fn a_batch_of_three_lands_one_per_node() {
    let nodes = [node("n1"), node("n2"), node("n3")];
    let tasks = [pending("s", 1), pending("s", 2), pending("s", 3)];
    let (assigned, pending) = run(&nodes, &tasks);
    assert!(pending.is_empty());
    assert_eq!(nodes_of(&assigned), ["n1", "n2", "n3"]);
}

#[test]
fn only_pending_tasks_wanted_running_are_decided() {
    let nodes = [node("n1")];
    let mut removed = pending("s", 2);
    removed.desired_state = TaskState::Remove;
    let mut fresh = pending("s", 3);
    fresh.status.state = TaskState::New;
    let tasks = [pending("s", 1), removed, fresh, running("s", 4, "n1")];
    let (assigned, pending) = run(&nodes, &tasks);
    assert_eq!(assigned.keys().collect::<Vec<_>>(), ["s-t1"]);
    assert!(pending.is_empty());
}

/// Name, nodes, tasks, the nodes they should land on (sorted).
type Case = (&'static str, Vec<Node>, Vec<Task>, Vec<&'static str>);

#[test]
fn filters_shape_a_batch() {
    let workers = || vec![node("w1"), node("w2"), manager("m1")];
    let zones = || {
        vec![
            labelled(node("a"), "zone", "a"),
            labelled(node("b"), "zone", "b"),
            node("c"),
        ]
    };
    let down = || {
        vec![
            node("ok"),
            with_state(node("down"), NodeState::Down, NodeAvailability::Active),
            with_state(node("drain"), NodeState::Ready, NodeAvailability::Drain),
            with_state(node("pause"), NodeState::Ready, NodeAvailability::Pause),
        ]
    };
    let three = |f: &dyn Fn(Task) -> Task| (1..=3).map(|i| f(pending("s", i))).collect::<Vec<_>>();
    let cases: Vec<Case> = vec![
        (
            "role==manager",
            workers(),
            three(&|t| constrained(t, &["node.role==manager"])),
            vec!["m1", "m1", "m1"],
        ),
        (
            "role!=manager",
            workers(),
            three(&|t| constrained(t, &["node.role!=manager"])),
            vec!["w1", "w1", "w2"],
        ),
        (
            "zone==b",
            zones(),
            three(&|t| constrained(t, &["node.labels.zone==b"])),
            vec!["b", "b", "b"],
        ),
        (
            "zone!=b",
            zones(),
            three(&|t| constrained(t, &["node.labels.zone!=b"])),
            vec!["a", "a", "c"],
        ),
        (
            "unavailable nodes get nothing",
            down(),
            three(&|t| t),
            vec!["ok", "ok", "ok"],
        ),
        (
            "resources cap each node",
            workers(),
            three(&|t| reserving(t, 3_000_000_000, 0)),
            vec!["m1", "w1", "w2"],
        ),
        (
            "host port once per node",
            workers(),
            three(&|t| host_port(t, 8080)),
            vec!["m1", "w1", "w2"],
        ),
        (
            "max replicas",
            vec![node("w1"), node("w2")],
            three(&|t| max_per_node(t, 2)),
            vec!["w1", "w1", "w2"],
        ),
    ];
    for (name, nodes, tasks, want) in cases {
        let (assigned, pending) = run(&nodes, &tasks);
        assert!(pending.is_empty(), "{name}: {pending:?}");
        assert_eq!(nodes_of(&assigned), want, "{name}");
    }
}

#[test]
fn reservations_are_never_oversubscribed_within_a_batch() {
    let nodes = [node("n1"), node("n2")];
    // 4 CPUs per node, 1.5 per task: two per node fit, the fifth does not.
    let tasks: Vec<Task> = (1..=5)
        .map(|i| reserving(pending("s", i), 1_500_000_000, 0))
        .collect();
    let (assigned, pending) = run(&nodes, &tasks);
    assert_eq!(nodes_of(&assigned), ["n1", "n1", "n2", "n2"]);
    assert_eq!(
        pending.values().collect::<Vec<_>>(),
        ["no suitable node (insufficient resources on 2 nodes)"]
    );
}

#[test]
fn unschedulable_tasks_are_explained_once() {
    let mut small_manager = manager("m1");
    small_manager.description.resources.nano_cpus = 1_000_000_000;
    let nodes = [node("w1"), node("w2"), small_manager];
    let task = reserving(
        constrained(pending("s", 1), &["node.role==manager"]),
        2_000_000_000,
        0,
    );
    let (assigned, pending) = run(&nodes, std::slice::from_ref(&task));
    assert!(assigned.is_empty());
    let err = &pending["s-t1"];
    assert_eq!(
        err,
        "no suitable node (insufficient resources on 1 node; \
         scheduling constraints not satisfied on 2 nodes)"
    );
    // Already showing this explanation: nothing to write.
    let mut shown = task.clone();
    shown.status.err = err.clone();
    shown.status.message = PENDING_MESSAGE.into();
    assert!(schedule(&nodes, &[shown.clone()]).is_empty());
    // The cluster changed: the explanation changes, so it is written again.
    let (_, pending) = run(&nodes[..2], &[shown]);
    assert_eq!(
        pending["s-t1"],
        "no suitable node (scheduling constraints not satisfied on 2 nodes)"
    );
}

#[test]
fn global_tasks_are_checked_on_their_own_node_only() {
    let nodes = [
        node("n1"),
        with_state(node("n2"), NodeState::Ready, NodeAvailability::Drain),
        manager("n3"),
    ];
    let tasks = [
        global("g", "n1"),
        global("g", "n2"),
        constrained(global("g", "n3"), &["node.role==worker"]),
        global("g", "gone"),
    ];
    let (assigned, pending) = run(&nodes, &tasks);
    assert_eq!(assigned, BTreeMap::from([("g-n1".into(), "n1".into())]));
    assert_eq!(
        pending["g-n2"],
        "no suitable node (1 node not available for new tasks)"
    );
    assert_eq!(
        pending["g-n3"],
        "no suitable node (scheduling constraints not satisfied on 1 node)"
    );
    assert_eq!(
        pending["g-gone"],
        "no suitable node (node gone is not in the cluster)"
    );
}

#[test]
fn global_and_replicated_tasks_share_a_host_port_fairly() {
    // The global task takes n1's port 8080 first; the replicated one must go to n2.
    let nodes = [node("n1"), node("n2")];
    let tasks = [
        host_port(global("g", "n1"), 8080),
        host_port(pending("s", 1), 8080),
    ];
    let (assigned, _) = run(&nodes, &tasks);
    assert_eq!(assigned["g-n1"], "n1");
    assert_eq!(assigned["s-t1"], "n2");
}

#[test]
fn services_spread_against_each_other_and_across_spec_versions() {
    let nodes = [node("n1"), node("n2")];
    let mut v2 = pending("s", 2);
    v2.spec_version = 2;
    v2.spec.container.image = "new".into();
    let tasks = [running("o", 1, "n1"), pending("s", 1), v2];
    let (assigned, _) = run(&nodes, &tasks);
    // Fewest tasks overall breaks the tie: n2 first; then v2 sees s already on n2.
    assert_eq!(assigned["s-t1"], "n2");
    assert_eq!(assigned["s-t2"], "n1");
}

#[test]
fn plans_are_reproducible() {
    let nodes: Vec<Node> = (0..20).map(|i| node(&format!("n{i:02}"))).collect();
    let tasks: Vec<Task> = (1..=50).map(|i| pending("s", i)).collect();
    let reversed: Vec<Task> = tasks.iter().rev().cloned().collect();
    assert_eq!(schedule(&nodes, &tasks), schedule(&nodes, &reversed));
}
