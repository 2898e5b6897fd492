//! The leader's components under supervision on a local store: a panic in the scheduler does
//! not stop scheduling, and a component that keeps failing makes the leader step down.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::{
    Cluster, ClusterSpec, ManagerStatus, Node, NodeRole, NodeState, Service, ServiceMode,
    ServiceSpec, TaskState,
};

use super::components::{managers_not_voting, ESCALATION_RETRY};
use super::restarts::MAX_FAILURES;
use super::{Component, LeaderComponents, StepDown};
use crate::dispatcher::service::DispatcherSlot;
use crate::membership::{RaftMember, RaftMembership};

/// A Raft group of this manager alone.
struct OneManager;

impl RaftMembership for OneManager {
    fn raft_id(&self) -> u64 {
        1
    }
    fn leader_id(&self) -> Option<u64> {
        Some(1)
    }
    fn members(&self) -> BoxFuture<'_, Vec<RaftMember>> {
        Box::pin(async { vec![voter(1)] })
    }
    fn add_voter(&self, _: u64, _: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn remove(&self, _: u64) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

fn voter(raft_id: u64) -> RaftMember {
    RaftMember {
        raft_id,
        addr: String::new(),
        voter: true,
        reachable: true,
    }
}

/// Counts step-downs; refuses them when given a reason.
#[derive(Default)]
struct StepDowns {
    calls: AtomicUsize,
    refuse: Option<String>,
}

impl StepDown for StepDowns {
    fn step_down(&self) -> BoxFuture<'_, Result<(), String>> {
        self.calls.fetch_add(1, SeqCst);
        Box::pin(async { self.refuse.clone().map_or(Ok(()), Err) })
    }
}

fn leader(store: &Store, step_downs: Arc<StepDowns>) -> LeaderComponents {
    LeaderComponents::new(
        store.clone(),
        Arc::new(OneManager),
        step_downs,
        Arc::new(DispatcherSlot::default()),
    )
}

/// A cluster with one ready worker and a service of `replicas` tasks. Heartbeats are slow so
/// the dispatcher does not declare the agentless node down during the test.
async fn cluster_with_service(replicas: u64) -> Store {
    let store = Store::local();
    let mut node = Node {
        id: "n1".into(),
        ..Default::default()
    };
    node.status.state = NodeState::Ready;
    node.description.hostname = "worker-1".into();
    let mut spec = ServiceSpec {
        name: "web".into(),
        mode: ServiceMode::Replicated { replicas },
        ..Default::default()
    };
    spec.task.container.image = "nginx:1".into();
    let service = Service {
        id: "web".into(),
        spec,
        spec_version: 1,
        ..Default::default()
    };
    store
        .update(|_, tx| {
            tx.create(Object::Cluster(Cluster::new(
                "cluster",
                ClusterSpec {
                    heartbeat_period_ms: 60_000,
                    ..Default::default()
                },
            )));
            tx.create(Object::Node(node.clone()));
            tx.create(Object::Service(service.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .expect("setup");
    store
}

/// `inner`, except that its first run panics before doing anything.
fn panics_first(inner: Component, runs: Arc<AtomicUsize>) -> Component {
    Component::new(inner.name(), move |token| {
        let first = runs.fetch_add(1, SeqCst) == 0;
        let run = inner.start(token);
        async move {
            if first {
                panic!("injected panic in the scheduler");
            }
            run.await
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_scheduler_does_not_stop_scheduling() {
    let store = cluster_with_service(2).await;
    let step_downs = Arc::new(StepDowns::default());
    let leader = leader(&store, step_downs.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let components: Vec<Component> = leader
        .components()
        .into_iter()
        .map(|c| match c.name() {
            "scheduler" => panics_first(c, runs.clone()),
            _ => c,
        })
        .collect();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { leader.supervise(components, shutdown).await }
    });

    let assigned = |store: &Store| {
        store.view(|t| {
            let tasks: Vec<_> = t.tasks_of_service("web").collect();
            tasks.len() == 2
                && tasks
                    .iter()
                    .all(|t| t.status.state == TaskState::Assigned && t.node_id == "n1")
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !assigned(&store) {
        let tasks: Vec<_> = store.view(|t| t.tasks.values().cloned().collect());
        assert!(
            tokio::time::Instant::now() < deadline,
            "tasks not assigned: {tasks:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(runs.load(SeqCst) >= 2, "the scheduler was restarted");
    assert_eq!(
        step_downs.calls.load(SeqCst),
        0,
        "one panic is no reason to step down"
    );

    shutdown.cancel();
    running.await.expect("stops cleanly");
}

/// A scheduler that panics on every run; counts its runs.
fn broken_scheduler(runs: Arc<AtomicUsize>) -> Component {
    Component::infallible("scheduler", move |_token| {
        runs.fetch_add(1, SeqCst);
        async { panic!("injected panic in the scheduler") }
    })
}

/// Waits (in paused time) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_component_that_keeps_failing_makes_the_leader_step_down() {
    let store = Store::local();
    let step_downs = Arc::new(StepDowns::default());
    let leader = leader(&store, step_downs.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let components = vec![broken_scheduler(runs.clone())];
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { leader.supervise(components, shutdown).await }
    });

    until("stepped down", || step_downs.calls.load(SeqCst) == 1).await;
    assert_eq!(runs.load(SeqCst), MAX_FAILURES);
    // Leadership moves: the daemon cancels the leader's components.
    shutdown.cancel();
    running.await.expect("stops cleanly");
    assert_eq!(step_downs.calls.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_step_down_tries_its_components_again_later() {
    let store = Store::local();
    let step_downs = Arc::new(StepDowns {
        refuse: Some("this is the only manager".into()),
        ..Default::default()
    });
    let leader = leader(&store, step_downs.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    let components = vec![broken_scheduler(runs.clone())];
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { leader.supervise(components, shutdown).await }
    });

    until("tried to step down", || step_downs.calls.load(SeqCst) == 1).await;
    tokio::time::sleep(ESCALATION_RETRY - Duration::from_secs(1)).await;
    assert_eq!(runs.load(SeqCst), MAX_FAILURES, "no run while waiting");
    until("runs again", || runs.load(SeqCst) > MAX_FAILURES).await;
    until("tried again", || step_downs.calls.load(SeqCst) == 2).await;

    shutdown.cancel();
    running.await.expect("stops cleanly");
}

#[test]
fn managers_that_are_not_voters_yet_are_listed() {
    let node = |id: &str, role: NodeRole, raft_id: Option<u64>| {
        let mut n = Node {
            id: id.into(),
            ..Default::default()
        };
        n.description.hostname = format!("host-{id}");
        n.spec.desired_role = role;
        n.manager_status = raft_id.map(|raft_id| ManagerStatus {
            raft_id,
            ..Default::default()
        });
        (n.id.clone(), n)
    };
    let nodes: BTreeMap<String, Node> = [
        node("voting", NodeRole::Manager, Some(1)),
        node("stepped-down", NodeRole::Manager, Some(2)),
        node("promoted", NodeRole::Manager, None),
        node("learner", NodeRole::Manager, Some(3)),
        node("worker", NodeRole::Worker, None),
    ]
    .into();
    let learner = RaftMember {
        voter: false,
        ..voter(3)
    };
    assert_eq!(
        managers_not_voting(&nodes, &[voter(1), learner]),
        ["host-learner", "host-promoted", "host-stepped-down"]
    );
}
