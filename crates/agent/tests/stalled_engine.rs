//! The agent against a real dispatcher over gRPC, with an engine that takes 10 s to answer
//! every call (as a dockerd stuck in a pull does): heartbeats never wait on it, so the node
//! stays Ready, and no task is scheduled onto a node whose engine does not answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Agent, AgentConfig, RecordingNetwork, TestExecutor};
use api::dispatcher::dispatcher_server::DispatcherServer;
use manager::dispatcher::service::{DispatcherService, DispatcherSlot, LeaderHint};
use manager::dispatcher::{Dispatcher, DispatcherConfig};
use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::{Node, NodeRole, NodeState, Task, TaskState};

const HEARTBEAT: Duration = Duration::from_millis(100);

struct NoOtherLeader;

impl LeaderHint for NoOtherLeader {
    fn leader_addr(&self) -> Option<String> {
        None
    }
}

/// A store holding node `n1`, a dispatcher leading over it, served on 127.0.0.1.
async fn leader(stop: &CancellationToken) -> (Store, SocketAddr) {
    let store = Store::local();
    store
        .update(|_, tx| {
            tx.create(Object::Node(Node {
                id: "n1".into(),
                role: NodeRole::Worker,
                ..Default::default()
            }));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let dispatcher = Dispatcher::new(
        store.clone(),
        DispatcherConfig {
            heartbeat_period: HEARTBEAT,
        },
    );
    tokio::spawn(dispatcher.clone().run(stop.clone()));
    let slot = Arc::new(DispatcherSlot::default());
    slot.set(Some(dispatcher));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = DispatcherService::new(slot, Arc::new(NoOtherLeader));
    let stopped = stop.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(DispatcherServer::new(service))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async move { stopped.cancelled().await },
            ),
    );
    (store, addr)
}

fn start_agent(addr: SocketAddr, engine: &TestExecutor, stop: &CancellationToken) {
    let agent = Agent::new(
        AgentConfig {
            node_id: "n1".into(),
            managers: vec![addr.to_string()],
            hostname: "node1".into(),
            listen_addr: "127.0.0.1:1".into(),
            drain_delay: Duration::from_millis(10),
            dial: AgentConfig::plaintext_dial(),
        },
        Arc::new(engine.clone()),
        Arc::new(RecordingNetwork::default()),
    );
    tokio::spawn(agent.run(stop.clone()));
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

fn node(store: &Store) -> Node {
    store.view(|t| t.nodes.get("n1").cloned().unwrap())
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_engine_stalls_10s_on_every_call_stays_ready() {
    let stop = CancellationToken::new();
    let (store, addr) = leader(&stop).await;
    let engine = TestExecutor::new("node1");
    engine.set_stall(Duration::from_secs(10));
    start_agent(addr, &engine, &stop);

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
    start_agent(addr, &engine, &stop);
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
