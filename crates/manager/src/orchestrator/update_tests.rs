//! Table tests of the monitor window: which failures count against an update.

use super::*;
use crate::orchestrator::replicated;
use types::{Node, NodeState, ServiceMode};

const START: i64 = 1_000_000;
const MONITOR: u64 = 1_000;

/// Slot 1 already runs the new template; slot 2 still waits for the update, so the update is
/// in progress and every pass looks at its failures.
fn fixture(monitor_ms: u64) -> (Tables, Service) {
    let mut s = Service {
        id: "s".into(),
        spec_version: 2,
        ..Default::default()
    };
    s.spec.mode = ServiceMode::Replicated { replicas: 2 };
    s.spec.task.container.image = "new".into();
    s.spec.update.parallelism = 1;
    s.spec.update.monitor_ms = monitor_ms;
    s.spec.update.failure_action = FailureAction::Pause;
    s.spec.update.max_failure_ratio = 0.0;
    s.update_status = Some(status(UpdateState::Updating, START, "updating".into()));
    let mut tables = Tables::default();
    let mut node = Node {
        id: "n".into(),
        ..Default::default()
    };
    node.status.state = NodeState::Ready;
    tables.nodes.insert("n".into(), node);
    let mut old = Task {
        id: "old".into(),
        service_id: "s".into(),
        slot: 2,
        node_id: "n".into(),
        spec_version: 1,
        desired_state: TaskState::Running,
        ..Default::default()
    };
    old.spec.container.image = "old".into();
    old.status.state = TaskState::Running;
    let mut fresh = Task {
        id: "fresh".into(),
        spec: s.spec.task.clone(),
        spec_version: 2,
        slot: 1,
        ..old.clone()
    };
    fresh.meta.created_at_ms = START + 1;
    fresh.status.timestamp_ms = START + 1;
    for t in [old, fresh] {
        tables.tasks.insert(t.id.clone(), t);
    }
    (tables, s)
}

fn paused(w: &Working) -> bool {
    w.service
        .as_ref()
        .and_then(|s| s.update_status.as_ref())
        .is_some_and(|u| u.state == UpdateState::Paused)
}

/// Runs the fresh task for `ran_ms` (`None`: it never runs), with a pass when it stops
/// running, then fails it: whether the update pauses.
fn fails_after(monitor_ms: u64, ran_ms: Option<i64>, state: TaskState) -> bool {
    let (mut tables, service) = fixture(monitor_ms);
    let fresh = tables.tasks.get_mut("fresh").expect("fixture");
    let failed_at = match ran_ms {
        None => {
            fresh.status.state = TaskState::Assigned;
            START + 1
        }
        Some(ran) => START + 1 + ran,
    };
    let passed = {
        let w = replicated::reconcile(&tables, &service, failed_at);
        assert!(!paused(&w), "a running task is no failure");
        w.indices()
            .any(|i| w.task(i).id == "fresh" && w.task(i).monitor_passed)
    };
    let fresh = tables.tasks.get_mut("fresh").expect("fixture");
    fresh.monitor_passed = passed;
    fresh.status.state = state;
    fresh.status.timestamp_ms = failed_at;
    paused(&replicated::reconcile(&tables, &service, failed_at + 1))
}

#[test]
fn only_failures_inside_the_monitor_window_count() {
    use TaskState::{Failed, Rejected};
    // (case, monitor, ran for, how it ended, counts)
    let cases = [
        ("never ran", MONITOR, None, Rejected, true),
        (
            "failed half-way through the window",
            MONITOR,
            Some(500),
            Failed,
            true,
        ),
        (
            "failed just before the window closed",
            MONITOR,
            Some(999),
            Failed,
            true,
        ),
        (
            "failed as the window closed",
            MONITOR,
            Some(1_000),
            Failed,
            false,
        ),
        (
            "failed long after the window",
            MONITOR,
            Some(60_000),
            Failed,
            false,
        ),
        // Docker's --update-monitor 0: once running, a task is the update's no more.
        ("no window at all, ran", 0, Some(1), Failed, false),
        ("no window at all, never ran", 0, None, Failed, true),
    ];
    for (name, monitor, ran, state, counts) in cases {
        assert_eq!(fails_after(monitor, ran, state), counts, "{name}");
    }
}

#[test]
fn the_window_is_recorded_on_the_task_once_it_has_run_through_it() {
    let at = |tables: &Tables, service: &Service, now| {
        let w = replicated::reconcile(tables, service, now);
        let i = w.indices().find(|&i| w.task(i).id == "fresh").unwrap();
        (w.task(i).monitor_passed, w.requeue_at_ms)
    };
    let (mut tables, service) = fixture(MONITOR);
    let (passed, wake) = at(&tables, &service, START + 500);
    assert!(!passed);
    let closes = START + 1 + MONITOR as i64;
    assert!(wake.is_some_and(|t| t <= closes), "{wake:?}");
    assert!(at(&tables, &service, closes).0);
    // A task that is not running is not through its window, whatever the time.
    tables.tasks.get_mut("fresh").unwrap().status.state = TaskState::Starting;
    assert!(!at(&tables, &service, START + 10 * MONITOR as i64).0);
}
