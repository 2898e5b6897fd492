//! The dispatcher against a local store: sessions, pushes, heartbeats, liveness.

use super::*;
use types::{Node, NodeRole, Task, TaskState};

fn period() -> Duration {
    Duration::from_millis(100)
}

async fn setup() -> (Store, Arc<Dispatcher>, CancellationToken) {
    let store = Store::local();
    store
        .update(|_, tx| {
            for id in ["n1", "n2"] {
                tx.create(Object::Node(Node {
                    id: id.into(),
                    role: NodeRole::Worker,
                    ..Default::default()
                }));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let d = Dispatcher::new(
        store.clone(),
        DispatcherConfig {
            heartbeat_period: period(),
            ..DispatcherConfig::default()
        },
    );
    let stop = CancellationToken::new();
    tokio::spawn(d.clone().run(stop.clone()));
    (store, d, stop)
}

async fn next(rx: &mut watch::Receiver<Option<Arc<Assignment>>>) -> Arc<Assignment> {
    tokio::time::timeout(Duration::from_secs(2), rx.changed())
        .await
        .expect("an assignment within 2 s")
        .unwrap();
    rx.borrow().clone().unwrap()
}

fn assigned_task(id: &str, node: &str) -> Task {
    let mut t = Task {
        id: id.into(),
        node_id: node.into(),
        desired_state: TaskState::Running,
        ..Default::default()
    };
    t.status.state = TaskState::Assigned;
    t
}

#[tokio::test]
async fn unknown_node_cannot_open_a_session() {
    let (_, d, stop) = setup().await;
    let err = d
        .open_session("nope", NodeDescription::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("join it first"), "{err}");
    stop.cancel();
}

#[tokio::test]
async fn session_marks_node_ready_and_streams_its_tasks() {
    let (store, d, stop) = setup().await;
    let desc = NodeDescription {
        hostname: "worker1".into(),
        ..Default::default()
    };
    let (_sid, mut rx) = d.open_session("n1", desc).await.unwrap();
    assert_eq!(store.view(|t| t.nodes["n1"].status.state), NodeState::Ready);
    assert_eq!(
        store.view(|t| t.nodes["n1"].description.hostname.clone()),
        "worker1"
    );
    let first = next(&mut rx).await;
    assert!(first.tasks.is_empty());

    store
        .update(|_, tx| {
            tx.create(Object::Task(assigned_task("t1", "n1")));
            tx.create(Object::Task(assigned_task("t2", "n2")));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let second = next(&mut rx).await;
    let ids: Vec<_> = second.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["t1"], "a node sees only its own tasks");
    stop.cancel();
}

#[tokio::test]
async fn status_updates_only_move_forward_and_only_for_own_tasks() {
    let (store, d, stop) = setup().await;
    let (sid, _rx) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    store
        .update(|_, tx| {
            tx.create(Object::Task(assigned_task("t1", "n1")));
            tx.create(Object::Task(assigned_task("t2", "n2")));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let status = |state| TaskStatus {
        state,
        ..Default::default()
    };
    d.update_task_status(
        "n1",
        &sid,
        vec![
            ("t1".into(), status(TaskState::Running)),
            ("t2".into(), status(TaskState::Running)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        store.view(|t| t.tasks["t1"].status.state),
        TaskState::Running
    );
    assert_eq!(
        store.view(|t| t.tasks["t2"].status.state),
        TaskState::Assigned
    );
    d.update_task_status("n1", &sid, vec![("t1".into(), status(TaskState::Starting))])
        .await
        .unwrap();
    assert_eq!(
        store.view(|t| t.tasks["t1"].status.state),
        TaskState::Running
    );
    let stale = d
        .update_task_status(
            "n1",
            "old-session",
            vec![("t1".into(), status(TaskState::Failed))],
        )
        .await;
    assert!(matches!(stale, Err(DispatchError::StaleSession(_))));
    stop.cancel();
}

#[tokio::test]
async fn a_node_that_stops_heartbeating_goes_down_and_a_live_one_stays_ready() {
    let (store, d, stop) = setup().await;
    let (s1, _rx1) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    let (_s2, _rx2) = d
        .open_session("n2", NodeDescription::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        d.heartbeat("n1", &s1).unwrap();
        if store.view(|t| t.nodes["n2"].status.state) == NodeState::Down {
            break;
        }
        assert!(Instant::now() < deadline, "n2 never went down");
        tokio::time::sleep(period() / 2).await;
    }
    assert_eq!(store.view(|t| t.nodes["n1"].status.state), NodeState::Ready);
    // Its session is gone: it must open a new one.
    assert!(d.heartbeat("n2", &_s2).is_err());
    stop.cancel();
}

#[tokio::test]
async fn a_node_that_connects_within_the_grace_period_is_never_marked_down() {
    let (store, d, stop) = setup().await;
    // n1 and n2 exist (joined) but have no session yet; n1 connects a little later.
    tokio::time::sleep(period()).await;
    let (s1, _rx) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while store.view(|t| t.nodes["n2"].status.state) != NodeState::Down {
        d.heartbeat("n1", &s1).unwrap();
        assert!(
            Instant::now() < deadline,
            "n2 never connected and must go down"
        );
        tokio::time::sleep(period() / 2).await;
    }
    assert_eq!(store.view(|t| t.nodes["n1"].status.state), NodeState::Ready);
    stop.cancel();
}

#[tokio::test]
async fn a_node_without_a_session_gets_twice_the_grace_of_a_silent_one() {
    let (store, d, stop) = setup().await;
    let (s1, _rx) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    let started = Instant::now();
    let grace = period() * liveness::GRACE_PERIODS;
    while store.view(|t| t.nodes["n2"].status.state) != NodeState::Down {
        d.heartbeat("n1", &s1).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "n2 never connected and must go down"
        );
        tokio::time::sleep(period() / 4).await;
    }
    let waited = started.elapsed();
    assert!(
        waited > grace * liveness::UNSEEN_GRACES,
        "n2 was marked down after {waited:?}, before {} graces of {grace:?}",
        liveness::UNSEEN_GRACES
    );
    stop.cancel();
}

#[tokio::test]
async fn a_growing_cluster_is_told_a_longer_heartbeat_period() {
    let (store, d, stop) = setup().await;
    let add_workers = |from: usize, to: usize| {
        let store = store.clone();
        async move {
            store
                .update(|_, tx| {
                    for i in from..to {
                        tx.create(Object::Node(Node {
                            id: format!("w{i}"),
                            role: NodeRole::Worker,
                            ..Default::default()
                        }));
                    }
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap()
        }
    };
    let (sid, mut rx) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await.heartbeat_period, period());
    assert_eq!(d.heartbeat("n1", &sid).unwrap(), period());

    // At 100 ms, one period carries 100 nodes within the budget: 250 nodes need three.
    add_workers(0, 248).await;
    let pushed = next(&mut rx).await;
    assert_eq!(pushed.heartbeat_period, period() * 3, "pushed to the node");
    assert_eq!(d.heartbeat("n1", &sid).unwrap(), period() * 3);

    // A node is judged by the period it was told: silent for longer than three of the old
    // periods, it is still Ready.
    tokio::time::sleep(period() * 5).await;
    assert_eq!(store.view(|t| t.nodes["n1"].status.state), NodeState::Ready);
    assert!(d.heartbeat("n1", &sid).is_ok());
    stop.cancel();
}
