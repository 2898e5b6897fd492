use super::*;
use types::{TaskStatus, UpdateStatus};

fn service(replicas: u64) -> Service {
    let mut s = Service {
        id: "s1".into(),
        spec_version: 2,
        ..Default::default()
    };
    s.spec.mode = ServiceMode::Replicated { replicas };
    s
}

fn task(id: &str, slot: u64, state: TaskState, version: u64, created: i64) -> Task {
    let mut t = Task {
        id: id.into(),
        service_id: "s1".into(),
        slot,
        spec_version: version,
        desired_state: TaskState::Running,
        status: TaskStatus {
            state,
            ..Default::default()
        },
        ..Default::default()
    };
    t.meta.created_at_ms = created;
    t
}

#[test]
fn bars_grow_with_state() {
    assert_eq!(bar(TaskState::Running), format!("[{}>]", "=".repeat(50)));
    assert_eq!(
        bar(TaskState::New),
        format!("[{}>{}]", "=".repeat(5), " ".repeat(45))
    );
}

#[test]
fn replicated_progress_per_slot() {
    let mut pending = task("c", 3, TaskState::Pending, 2, 1);
    pending.status.err =
        "no suitable node (scheduling constraints not satisfied on 2 nodes)".into();
    let mut old = task("a0", 1, TaskState::Running, 2, 0);
    old.desired_state = TaskState::Shutdown;
    old.status.state = TaskState::Shutdown;
    let tasks = vec![
        old,
        task("a", 1, TaskState::Running, 2, 1),
        task("b", 2, TaskState::Preparing, 2, 1),
        pending,
    ];
    let snap = snapshot(&service(3), &tasks, &BTreeMap::new());
    assert_eq!(snap.overall, "overall progress: 1 out of 3 tasks");
    assert_eq!(
        snap.lines[0],
        format!("1/3: running   [{}>]", "=".repeat(50))
    );
    assert!(
        snap.lines[1].starts_with("2/3: preparing [====="),
        "{}",
        snap.lines[1]
    );
    assert_eq!(
        snap.lines[2],
        "3/3: no suitable node (scheduling constraints not satisfied on 2 nodes)"
    );
    assert!(!snap.converged);
}

#[test]
fn converged_only_when_every_slot_runs_the_current_spec_and_nothing_else_runs() {
    let all = vec![
        task("a", 1, TaskState::Running, 2, 1),
        task("b", 2, TaskState::Running, 2, 1),
    ];
    assert!(snapshot(&service(2), &all, &BTreeMap::new()).converged);
    // An out-of-date task still counts as not converged.
    let stale = vec![
        task("a", 1, TaskState::Running, 1, 1),
        task("b", 2, TaskState::Running, 2, 1),
    ];
    assert!(!snapshot(&service(2), &stale, &BTreeMap::new()).converged);
    // Scaled down to 1: slot 2's task still running is not converged yet.
    let mut leaving = task("b", 2, TaskState::Running, 2, 1);
    leaving.desired_state = TaskState::Remove;
    let down = vec![task("a", 1, TaskState::Running, 2, 1), leaving];
    let snap = snapshot(&service(1), &down, &BTreeMap::new());
    assert_eq!(snap.overall, "overall progress: 1 out of 1 tasks");
    assert!(!snap.converged);
    assert!(snapshot(&service(0), &[], &BTreeMap::new()).converged);
}

#[test]
fn paused_update_is_a_failure() {
    let mut s = service(1);
    s.update_status = Some(UpdateStatus {
        state: UpdateState::Paused,
        message: "task a failed".into(),
        ..Default::default()
    });
    let snap = snapshot(&s, &[], &BTreeMap::new());
    assert_eq!(
        snap.failure.as_deref(),
        Some("update paused: task a failed")
    );
}

fn node(id: &str, state: NodeState, availability: types::NodeAvailability) -> Node {
    let mut n = Node {
        id: id.into(),
        ..Default::default()
    };
    n.status.state = state;
    n.spec.availability = availability;
    n
}

fn nodes(list: Vec<Node>) -> BTreeMap<String, Node> {
    list.into_iter().map(|n| (n.id.clone(), n)).collect()
}

fn global() -> Service {
    let mut s = service(0);
    s.spec.mode = ServiceMode::Global;
    s
}

fn on(node: &str, t: Task) -> Task {
    Task {
        slot: 0,
        node_id: node.into(),
        ..t
    }
}

#[test]
fn global_progress_waits_for_every_eligible_node_even_before_its_task_exists() {
    use types::NodeAvailability::{Active, Drain, Pause};
    let cluster = nodes(vec![
        node("node-a", NodeState::Ready, Active),
        node("node-b", NodeState::Ready, Active),
        node("node-down", NodeState::Down, Active),
        node("node-drained", NodeState::Ready, Drain),
        node("node-paused", NodeState::Ready, Pause),
    ]);
    let s = global();
    // Only a's task exists yet: b still counts, the nodes that take no new task do not.
    let a = on("node-a", task("a", 0, TaskState::Running, 2, 1));
    let snap = snapshot(&s, std::slice::from_ref(&a), &cluster);
    assert_eq!(snap.overall, "overall progress: 1 out of 2 tasks");
    assert_eq!(
        snap.lines,
        vec![
            format!("node-a: running   {}", bar(TaskState::Running)),
            format!("node-b: new       {}", bar(TaskState::New)),
        ]
    );
    assert!(!snap.converged);
    // Before the orchestrator created any task, nothing is converged either.
    assert!(!snapshot(&s, &[], &cluster).converged);
    let b = on("node-b", task("b", 0, TaskState::Running, 2, 1));
    let snap = snapshot(&s, &[a, b], &cluster);
    assert_eq!(snap.overall, "overall progress: 2 out of 2 tasks");
    assert!(snap.converged);
}

#[test]
fn global_progress_counts_only_nodes_the_constraints_admit() {
    let mut labelled = node("node-x", NodeState::Ready, types::NodeAvailability::Active);
    labelled.spec.labels.insert("zone".into(), "x".into());
    let cluster = nodes(vec![
        labelled,
        node("node-y", NodeState::Ready, types::NodeAvailability::Active),
    ]);
    let mut s = global();
    s.spec.task.placement.constraints = vec!["node.labels.zone==x".into()];
    let x = on("node-x", task("x", 0, TaskState::Running, 2, 1));
    let snap = snapshot(&s, &[x], &cluster);
    assert_eq!(snap.overall, "overall progress: 1 out of 1 tasks");
    assert!(snap.converged);
}

#[test]
fn a_task_last_seen_running_on_a_down_node_does_not_hold_convergence() {
    let cluster = nodes(vec![
        node("up", NodeState::Ready, types::NodeAvailability::Active),
        node("down", NodeState::Down, types::NodeAvailability::Active),
    ]);
    let mut lost = task("lost", 1, TaskState::Running, 2, 0);
    lost.node_id = "down".into();
    lost.desired_state = TaskState::Shutdown;
    let mut replacement = task("new", 1, TaskState::Running, 2, 1);
    replacement.node_id = "up".into();
    assert!(snapshot(&service(1), &[lost.clone(), replacement.clone()], &cluster).converged);
    // The same task on a node that is up is still stopping: not converged yet.
    lost.node_id = "up".into();
    assert!(!snapshot(&service(1), &[lost, replacement], &cluster).converged);
}
