//! Orchestrator tests against an in-memory store, with agents (and the allocator and scheduler
//! steps a task goes through) simulated by writing task status by hand.

mod global;
mod orphan;
mod replicated;
mod restart;
mod update;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use store::{Event, Kind, Object, Store, StoreError, Tables};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use types::{
    Cluster, ClusterSpec, Node, NodeAvailability, NodeState, Service, ServiceMode, ServiceSpec,
    Task, TaskState,
};

use super::{LoopTiming, Orchestrator};

pub fn fast() -> LoopTiming {
    LoopTiming {
        resync: Duration::from_millis(300),
        tick: Duration::from_millis(2),
        retry: Duration::from_millis(20),
    }
}

/// An orchestrator running on its own task, as a leader would run it.
pub struct Running {
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
}

pub fn start(store: &Store) -> Running {
    let shutdown = CancellationToken::new();
    let o = Orchestrator::new(store.clone()).with_timing(fast());
    let handle = tokio::spawn(o.run(shutdown.clone()));
    Running { shutdown, handle }
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.expect("orchestrator panicked");
    }
}

pub async fn write(store: &Store, f: impl FnMut(&Tables, &mut store::Tx)) {
    let mut f = f;
    store
        .update(|t, tx| {
            f(t, tx);
            Ok::<_, StoreError>(())
        })
        .await
        .expect("test write");
}

pub async fn new_store(nodes: &[&str]) -> Store {
    let store = Store::local();
    write(&store, |_, tx| {
        tx.create(Object::Cluster(Cluster::new(
            "cluster",
            ClusterSpec::default(),
        )));
    })
    .await;
    for n in nodes {
        add_node(&store, n).await;
    }
    store
}

pub async fn add_node(store: &Store, id: &str) {
    let mut node = Node {
        id: id.into(),
        ..Default::default()
    };
    node.status.state = NodeState::Ready;
    node.description.hostname = id.into();
    write(store, |_, tx| tx.create(Object::Node(node.clone()))).await;
}

pub async fn edit_node(store: &Store, id: &str, f: impl Fn(&mut Node)) {
    write(store, |t, tx| {
        let mut n = t.nodes[id].clone();
        f(&mut n);
        tx.update(Object::Node(n));
    })
    .await;
}

pub fn spec(name: &str, mode: ServiceMode) -> ServiceSpec {
    let mut s = ServiceSpec {
        name: name.into(),
        mode,
        ..Default::default()
    };
    s.task.container.image = "nginx:1".into();
    s.task.restart.delay_ms = 0;
    s.update.monitor_ms = 30;
    s
}

pub async fn create_service(store: &Store, spec: ServiceSpec) -> String {
    let id = types::new_id();
    let service = Service {
        id: id.clone(),
        spec,
        spec_version: 1,
        ..Default::default()
    };
    write(store, |_, tx| tx.create(Object::Service(service.clone()))).await;
    id
}

/// What the control API does on `service update`: keep the old spec, bump the version.
pub async fn update_service(store: &Store, id: &str, f: impl Fn(&mut ServiceSpec)) {
    write(store, |t, tx| {
        let mut s = t.services[id].clone();
        s.previous_spec = Some(s.spec.clone());
        f(&mut s.spec);
        s.spec_version += 1;
        tx.update(Object::Service(s));
    })
    .await;
}

pub fn tasks(store: &Store, service: &str) -> Vec<Task> {
    store.view(|t| t.tasks_of_service(service).cloned().collect())
}

pub fn runnable(store: &Store, service: &str) -> Vec<Task> {
    tasks(store, service)
        .into_iter()
        .filter(super::slot::is_runnable)
        .collect()
}

pub fn running(store: &Store, service: &str) -> Vec<Task> {
    runnable(store, service)
        .into_iter()
        .filter(|t| t.status.state == TaskState::Running)
        .collect()
}

/// Simulated agents, allocator and scheduler: one step of every task's life per call. Tasks on
/// down nodes do not move (their agent is gone); images in `fail` fail instead of running.
#[derive(Default, Clone)]
pub struct Agents {
    pub fail: BTreeSet<String>,
}

impl Agents {
    pub async fn step(&self, store: &Store) {
        write(store, |t, tx| {
            let mut load: BTreeMap<String, usize> = BTreeMap::new();
            for task in t.tasks.values().filter(|x| super::slot::is_runnable(x)) {
                *load.entry(task.node_id.clone()).or_default() += 1;
            }
            for task in t.tasks.values() {
                let node = t.nodes.get(&task.node_id);
                if node.is_some_and(|n| n.status.state == NodeState::Down) {
                    continue;
                }
                let mut next = task.clone();
                let s = &mut next.status;
                if task.desired_state > TaskState::Running {
                    if s.state >= TaskState::Assigned && s.state <= TaskState::Running {
                        s.state = TaskState::Shutdown;
                    }
                } else {
                    match s.state {
                        TaskState::New => s.state = TaskState::Pending,
                        TaskState::Pending if next.node_id.is_empty() => {
                            let best = t
                                .nodes
                                .values()
                                .filter(|n| {
                                    n.status.state == NodeState::Ready
                                        && n.spec.availability == NodeAvailability::Active
                                })
                                .min_by_key(|n| (load.get(&n.id).copied().unwrap_or(0), &n.id));
                            if let Some(n) = best {
                                *load.entry(n.id.clone()).or_default() += 1;
                                next.node_id = n.id.clone();
                                next.status.state = TaskState::Assigned;
                            }
                        }
                        TaskState::Pending => s.state = TaskState::Assigned,
                        TaskState::Assigned => {
                            s.state = if self.fail.contains(&next.spec.container.image) {
                                TaskState::Failed
                            } else {
                                TaskState::Running
                            }
                        }
                        _ => {}
                    }
                }
                if next.status != task.status || next.node_id != task.node_id {
                    next.status.timestamp_ms = types::now_ms();
                    tx.update(Object::Task(next));
                }
            }
        })
        .await;
    }

    /// Steps the agents until `done` holds, or panics after a generous timeout.
    pub async fn until(&self, store: &Store, what: &str, done: impl Fn(&Tables) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            self.step(store).await;
            if store.view(&done) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let dump: Vec<String> = store.view(|t| {
                    t.tasks
                        .values()
                        .map(|x| {
                            format!(
                                "{} slot={} node={} v={} desired={:?} state={:?} image={}",
                                x.id,
                                x.slot,
                                x.node_id,
                                x.spec_version,
                                x.desired_state,
                                x.status.state,
                                x.spec.container.image
                            )
                        })
                        .collect()
                });
                panic!("timed out waiting for {what}; tasks:\n{}", dump.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Every committed state of the task table, replayed from the store's events, so a test can
/// check an invariant at every step rather than only where it happened to look.
pub struct Recorder {
    pub violations: Arc<Mutex<Vec<String>>>,
    handle: JoinHandle<()>,
    stop: CancellationToken,
}

impl Recorder {
    pub fn start(
        store: &Store,
        check: impl Fn(&BTreeMap<String, Task>) -> Option<String> + Send + 'static,
    ) -> Recorder {
        let (mut tasks, mut rx) = store.view_and_watch(|t| t.tasks.clone());
        let violations = Arc::new(Mutex::new(Vec::new()));
        let out = violations.clone();
        let stop = CancellationToken::new();
        let cancelled = stop.clone();
        let handle = tokio::spawn(async move {
            loop {
                let batch = tokio::select! {
                    _ = cancelled.cancelled() => return,
                    b = rx.recv() => b.expect("recorder lagged"),
                };
                for e in batch.iter() {
                    match e {
                        Event::Created(Object::Task(t)) | Event::Updated(Object::Task(t)) => {
                            tasks.insert(t.id.clone(), t.clone());
                        }
                        Event::Removed(Object::Task(t)) => {
                            tasks.remove(&t.id);
                        }
                        _ => {}
                    }
                }
                if let Some(v) = check(&tasks) {
                    out.lock().unwrap().push(v);
                }
            }
        });
        Recorder {
            violations,
            handle,
            stop,
        }
    }

    pub async fn finish(self) -> Vec<String> {
        self.stop.cancel();
        self.handle.await.unwrap();
        let v = self.violations.lock().unwrap().clone();
        v
    }
}

pub async fn delete_service(store: &Store, id: &str) {
    write(store, |_, tx| tx.remove(Kind::Service, id)).await;
}

/// A two-node store (`a`, `b`) whose service `web` runs its 2 replicas, one per node.
pub struct TwoReplicas {
    pub store: Store,
    pub agents: Agents,
    pub orchestrator: Running,
    pub service: String,
    /// The replica on `b`.
    pub on_b: Task,
}

/// [`TwoReplicas`], after `prepare` has set the store up (cluster settings, say).
pub async fn two_replicas<F: std::future::Future<Output = ()>>(
    prepare: impl FnOnce(Store) -> F,
) -> TwoReplicas {
    let store = new_store(&["a", "b"]).await;
    prepare(store.clone()).await;
    let agents = Agents::default();
    let orchestrator = start(&store);
    let service =
        create_service(&store, spec("web", ServiceMode::Replicated { replicas: 2 })).await;
    agents
        .until(&store, "2 running", |_| {
            running(&store, &service).len() == 2
        })
        .await;
    let on_b = running(&store, &service)
        .into_iter()
        .find(|t| t.node_id == "b")
        .expect("spread over both nodes");
    TwoReplicas {
        store,
        agents,
        orchestrator,
        service,
        on_b,
    }
}
