//! The task controller against the in-memory executor.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use types::{Task, TaskState, TaskStatus};

use crate::controller::{ControllerContext, ControllerHandle};
use crate::executor::Executor;
use crate::network::RecordingNetwork;
use crate::test_executor::TestExecutor;

struct Rig {
    exec: TestExecutor,
    net: Arc<RecordingNetwork>,
    reports: mpsc::UnboundedReceiver<(String, TaskStatus)>,
    ctx: Arc<ControllerContext>,
}

fn rig() -> Rig {
    let exec = TestExecutor::new("node1");
    let net = Arc::new(RecordingNetwork::default());
    let (tx, reports) = mpsc::unbounded_channel();
    let ctx = Arc::new(ControllerContext {
        executor: Arc::new(exec.clone()),
        network: net.clone(),
        reports: tx,
        drain_delay: Duration::from_millis(10),
        files: Arc::new(crate::files::TaskFiles::new(None)),
        metrics: metrics::Metrics::default(),
    });
    Rig {
        exec,
        net,
        reports,
        ctx,
    }
}

fn task(id: &str, image: &str) -> Task {
    let mut t = Task {
        id: id.into(),
        node_id: "node1".into(),
        desired_state: TaskState::Running,
        ..Default::default()
    };
    t.spec.container.image = image.into();
    t.status.state = TaskState::Assigned;
    t
}

/// Waits for the controller to report `state`; returns that status.
async fn until(rig: &mut Rig, state: TaskState) -> TaskStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let next = tokio::time::timeout_at(deadline, rig.reports.recv())
            .await
            .unwrap_or_else(|_| panic!("no {state:?} report within 5 s"))
            .expect("reports open");
        if next.1.state == state {
            return next.1;
        }
    }
}

#[tokio::test]
async fn drives_a_task_to_running_and_plumbs_it() {
    let mut rig = rig();
    let _h = ControllerHandle::spawn(rig.ctx.clone(), task("t1", "busybox"));
    for s in [
        TaskState::Accepted,
        TaskState::Preparing,
        TaskState::Ready,
        TaskState::Starting,
    ] {
        until(&mut rig, s).await;
    }
    let running = until(&mut rig, TaskState::Running).await;
    assert_eq!(running.container_id, "c-t1");
    assert_eq!(rig.exec.running(), ["t1"]);
    assert_eq!(rig.net.attached.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_killed_container_fails_the_task_with_its_exit_code() {
    let mut rig = rig();
    let h = ControllerHandle::spawn(rig.ctx.clone(), task("t1", "busybox"));
    until(&mut rig, TaskState::Running).await;
    assert!(rig.exec.kill("t1", 137));
    h.poke.notify_one();
    let failed = until(&mut rig, TaskState::Failed).await;
    assert_eq!(failed.exit_code, 137);
    assert!(failed.err.contains("non-zero exit (137)"), "{}", failed.err);
    assert!(
        rig.net.attached.lock().unwrap().is_empty(),
        "detached on exit"
    );
}

#[tokio::test]
async fn an_unknown_image_is_rejected() {
    let mut rig = rig();
    let _h = ControllerHandle::spawn(rig.ctx.clone(), task("t1", "unknown/image:1"));
    let rejected = until(&mut rig, TaskState::Rejected).await;
    assert!(rejected.err.contains("No such image"), "{}", rejected.err);
}

#[tokio::test]
async fn desired_shutdown_stops_the_container() {
    let mut rig = rig();
    let mut t = task("t1", "busybox");
    let h = ControllerHandle::spawn(rig.ctx.clone(), t.clone());
    until(&mut rig, TaskState::Running).await;
    t.desired_state = TaskState::Shutdown;
    h.task.send_replace(Some(t));
    until(&mut rig, TaskState::Shutdown).await;
    assert!(rig.exec.running().is_empty());
}

#[tokio::test]
async fn unassigning_removes_the_container() {
    let mut rig = rig();
    let h = ControllerHandle::spawn(rig.ctx.clone(), task("t1", "busybox"));
    until(&mut rig, TaskState::Running).await;
    h.task.send_replace(None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while rig
        .exec
        .list()
        .await
        .unwrap()
        .iter()
        .any(|c| c.task_id == "t1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "container not removed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_running_container_is_adopted_not_restarted() {
    let mut rig = rig();
    let mut t = task("t1", "busybox");
    rig.exec.prepare(&t).await.unwrap();
    rig.exec.start("t1").await.unwrap();
    assert_eq!(rig.exec.start_count(), 1);
    // The store remembers the task as running, as it would after an agent restart.
    t.status.state = TaskState::Running;
    t.status.container_id = "c-t1".into();
    let _h = ControllerHandle::spawn(rig.ctx.clone(), t);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rig.exec.start_count(), 1, "no second start");
    assert_eq!(rig.exec.running(), ["t1"]);
    assert_eq!(rig.net.attached.lock().unwrap().len(), 1, "re-plumbed");
    while let Ok((_, s)) = rig.reports.try_recv() {
        assert!(
            s.state >= TaskState::Running,
            "no state went backwards: {s:?}"
        );
    }
}
