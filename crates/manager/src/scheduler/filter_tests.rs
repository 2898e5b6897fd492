use super::*;
use crate::scheduler::fixtures::*;
use crate::scheduler::nodeinfo::{occupies_node, NodeInfo};
use types::Node;

/// Which filter (by index) rejects the node for the task, `None` when all pass.
fn verdict(node: &Node, on_node: &[Task], task: &Task) -> Option<usize> {
    let mut info = NodeInfo::new(node);
    for t in on_node.iter().filter(|t| occupies_node(t)) {
        info.add_task(t);
    }
    Pipeline::for_task(task).first_failure(&info, task)
}

/// Name, node, tasks already on it, the task to place, the filter expected to reject it.
type Case = (&'static str, Node, Vec<Task>, Task, Option<usize>);

const READY: Option<usize> = Some(0);
const RESOURCES: Option<usize> = Some(1);
const CONSTRAINTS: Option<usize> = Some(2);
const HOST_PORT: Option<usize> = Some(3);
const MAX_REPLICAS: Option<usize> = Some(4);

#[test]
fn filters_run_in_order_and_blame_the_first_failure() {
    use types::NodeAvailability::{Active, Drain, Pause};
    use types::NodeState::{Disconnected, Down, Ready, Unknown};
    let gib = 1i64 << 30;
    let worker = node("w1");
    let t = pending("s", 1);
    let cases: Vec<Case> = vec![
        (
            "plain task on ready node",
            worker.clone(),
            vec![],
            t.clone(),
            None,
        ),
        (
            "down",
            with_state(node("w"), Down, Active),
            vec![],
            t.clone(),
            READY,
        ),
        (
            "unknown",
            with_state(node("w"), Unknown, Active),
            vec![],
            t.clone(),
            READY,
        ),
        (
            "disconnected",
            with_state(node("w"), Disconnected, Active),
            vec![],
            t.clone(),
            READY,
        ),
        (
            "paused",
            with_state(node("w"), Ready, Pause),
            vec![],
            t.clone(),
            READY,
        ),
        (
            "drained",
            with_state(node("w"), Ready, Drain),
            vec![],
            t.clone(),
            READY,
        ),
        // Ready is checked before everything else.
        (
            "drained and unsatisfiable",
            with_state(node("w"), Ready, Drain),
            vec![],
            constrained(t.clone(), &["node.role==manager"]),
            READY,
        ),
        (
            "cpu fits exactly",
            worker.clone(),
            vec![],
            reserving(t.clone(), 4_000_000_000, 0),
            None,
        ),
        (
            "cpu too much",
            worker.clone(),
            vec![],
            reserving(t.clone(), 4_000_000_001, 0),
            RESOURCES,
        ),
        (
            "memory too much",
            worker.clone(),
            vec![],
            reserving(t.clone(), 0, 9 * gib),
            RESOURCES,
        ),
        (
            "memory used by others",
            worker.clone(),
            vec![reserving(running("o", 1, "w1"), 0, 6 * gib)],
            reserving(t.clone(), 0, 3 * gib),
            RESOURCES,
        ),
        (
            "memory freed by ended task",
            worker.clone(),
            vec![ended(reserving(running("o", 1, "w1"), 0, 6 * gib))],
            reserving(t.clone(), 0, 3 * gib),
            None,
        ),
        (
            "port freed by ended task",
            worker.clone(),
            vec![ended(host_port(running("o", 1, "w1"), 8080))],
            host_port(t.clone(), 8080),
            None,
        ),
        (
            "resources before constraints",
            worker.clone(),
            vec![],
            constrained(reserving(t.clone(), 0, 9 * gib), &["node.role==manager"]),
            RESOURCES,
        ),
        (
            "role==manager on worker",
            worker.clone(),
            vec![],
            constrained(t.clone(), &["node.role==manager"]),
            CONSTRAINTS,
        ),
        (
            "role==manager on manager",
            manager("m1"),
            vec![],
            constrained(t.clone(), &["node.role==manager"]),
            None,
        ),
        (
            "zone==b on b",
            labelled(node("w"), "zone", "b"),
            vec![],
            constrained(t.clone(), &["node.labels.zone==b"]),
            None,
        ),
        (
            "zone!=b on b",
            labelled(node("w"), "zone", "b"),
            vec![],
            constrained(t.clone(), &["node.labels.zone!=b"]),
            CONSTRAINTS,
        ),
        (
            "zone!=b unlabelled",
            worker.clone(),
            vec![],
            constrained(t.clone(), &["node.labels.zone!=b"]),
            None,
        ),
        (
            "broken constraint",
            worker.clone(),
            vec![],
            constrained(t.clone(), &["node.rol==manager"]),
            CONSTRAINTS,
        ),
        (
            "host port free",
            worker.clone(),
            vec![host_port(running("o", 1, "w1"), 8081)],
            host_port(t.clone(), 8080),
            None,
        ),
        (
            "host port taken",
            worker.clone(),
            vec![host_port(running("o", 1, "w1"), 8080)],
            host_port(t.clone(), 8080),
            HOST_PORT,
        ),
        (
            "constraints before ports",
            worker.clone(),
            vec![host_port(running("o", 1, "w1"), 8080)],
            constrained(host_port(t.clone(), 8080), &["node.role==manager"]),
            CONSTRAINTS,
        ),
        (
            "max 1 with one there",
            worker.clone(),
            vec![running("s", 2, "w1")],
            max_per_node(t.clone(), 1),
            MAX_REPLICAS,
        ),
        (
            "max 2 with one there",
            worker.clone(),
            vec![running("s", 2, "w1")],
            max_per_node(t.clone(), 2),
            None,
        ),
        (
            "max 1 other service there",
            worker.clone(),
            vec![running("o", 1, "w1")],
            max_per_node(t.clone(), 1),
            None,
        ),
    ];
    for (name, n, on_node, task, want) in cases {
        assert_eq!(verdict(&n, &on_node, &task), want, "{name}");
    }
}

#[test]
fn explanation_counts_nodes_per_first_failing_filter() {
    let m = manager("m1");
    let mut w1 = node("w1");
    w1.description.resources.memory_bytes = 1;
    let w2 = node("w2");
    let w3 = node("w3");
    let drained = with_state(
        node("w4"),
        types::NodeState::Ready,
        types::NodeAvailability::Drain,
    );
    let task = reserving(
        constrained(pending("s", 1), &["node.role==worker"]),
        0,
        1 << 20,
    );
    let nodes: Vec<Node> = vec![m, w1, w2, w3, drained];
    let infos: Vec<NodeInfo> = nodes.iter().map(NodeInfo::new).collect();
    let pipeline = Pipeline::for_task(&task);
    // w2 and w3 pass: they are simply not mentioned.
    assert_eq!(
        pipeline.explain(&infos, &task),
        "no suitable node (1 node not available for new tasks; insufficient resources on 1 node; \
         scheduling constraints not satisfied on 1 node)"
    );
    let two_managers = [manager("a"), manager("b")];
    let infos: Vec<NodeInfo> = two_managers.iter().map(NodeInfo::new).collect();
    assert_eq!(
        pipeline.explain(&infos, &task),
        "no suitable node (scheduling constraints not satisfied on 2 nodes)"
    );
    assert_eq!(
        pipeline.explain(&[], &task),
        "no suitable node (the cluster has no nodes)"
    );
}

#[test]
fn broken_constraint_explains_the_parse_error() {
    let task = constrained(pending("s", 1), &["node.rol==manager"]);
    let n = node("w1");
    let text = Pipeline::for_task(&task).explain(&[NodeInfo::new(&n)], &task);
    assert!(
        text.starts_with("no suitable node (scheduling constraints not satisfied on 1 node: ")
            && text.contains("unknown key `node.rol`"),
        "{text}"
    );
}

#[test]
fn each_filter_pluralises_its_count() {
    let task = pending("s", 1);
    let p = Pipeline::for_task(&task);
    for (i, f) in p.filters().iter().enumerate() {
        let one = f.explain(1);
        let many = f.explain(3);
        assert!(
            one.contains("1 node") && !one.contains("nodes"),
            "{i}: {one}"
        );
        assert!(many.contains("3 nodes"), "{i}: {many}");
    }
}
