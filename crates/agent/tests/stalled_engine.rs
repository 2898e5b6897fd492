//! The agent against a real dispatcher over gRPC, with an engine that takes 10 s to answer
//! every call (as a dockerd stuck in a pull does): heartbeats never wait on it, so the node
//! stays Ready, and no task is scheduled onto a node whose engine does not answer.

mod common;

use std::time::{Duration, Instant};

use agent::TestExecutor;
use common::{leader, start_agent, wait_until};
use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::{Node, NodeState, Task, TaskState};

fn node(store: &Store) -> Node {
    store.view(|t| t.nodes.get("n1").cloned().unwrap())
}

/// A task the scheduler placed on `n1`, as the store holds it.
async fn assign(store: &Store, id: &str) {
    let mut t = Task {
        id: id.into(),
        node_id: "n1".into(),
        desired_state: TaskState::Running,
        ..Default::default()
    };
    t.status.state = TaskState::Assigned;
    store
        .update(|_, tx| {
            tx.create(Object::Task(t.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_engine_stalls_10s_on_every_call_stays_ready() {
    let stop = CancellationToken::new();
    let (store, addr) = leader(&stop).await;
    let engine = TestExecutor::new("node1");
    engine.set_stall(Duration::from_secs(10));
    start_agent(addr, &engine, Default::default(), &stop);

    wait_until("node Ready", Duration::from_secs(8), || {
        node(&store).status.state == NodeState::Ready
    })
    .await;
    let n = node(&store);
    let why = n.description.engine_error.clone().unwrap_or_default();
    assert!(
        why.contains("did not answer"),
        "engine marked unavailable: {why:?}"
    );

    // Assignments keep coming (each one used to wait for a sweep of the stalled engine).
    for i in 0..5 {
        assign(&store, &format!("t{i}")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // 30 missed-heartbeat graces (300 ms each) later, the node has never been Down.
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(9) {
        let n = node(&store);
        assert_eq!(
            n.status.state,
            NodeState::Ready,
            "node left Ready after {:?}: {}",
            watched.elapsed(),
            n.status.message
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_answering_again_makes_the_node_available_and_sweeps_are_not_per_push() {
    let stop = CancellationToken::new();
    let (store, addr) = leader(&stop).await;
    let engine = TestExecutor::new("node1");
    engine.set_stall(Duration::from_secs(10));
    start_agent(addr, &engine, Default::default(), &stop);
    wait_until("engine marked unavailable", Duration::from_secs(8), || {
        node(&store).description.engine_error.is_some()
    })
    .await;

    engine.set_stall(Duration::ZERO);
    // The describer reads the node again every 5 s; its stalled call may still be running.
    wait_until("engine available again", Duration::from_secs(25), || {
        let n = node(&store);
        n.status.state == NodeState::Ready && n.description.engine_available()
    })
    .await;
    assert_eq!(node(&store).description.engine_version, "test");

    // Ten pushes (new tasks) cost no sweep each: one per session and one per 30 s at most.
    let before = engine.list_count();
    for i in 0..10 {
        assign(&store, &format!("s{i}")).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_until("10 tasks running", Duration::from_secs(10), || {
        engine.running().len() == 10
    })
    .await;
    let sweeps = engine.list_count() - before;
    assert!(sweeps <= 1, "{sweeps} sweeps for 10 pushes");
    stop.cancel();
}
