//! The scheduler component against a local store: what it writes, and that it reacts to
//! changes without being told.

use std::collections::BTreeMap;
use std::time::Duration;

use store::{Object, Store, StoreError, Tables};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use types::{Node, NodeAvailability, NodeState, Task, TaskState};

use super::fixtures::*;
use super::{Scheduler, ASSIGNED_MESSAGE, PENDING_MESSAGE};

struct Running {
    store: Store,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
}

impl Running {
    async fn start(nodes: Vec<Node>, tasks: Vec<Task>) -> Running {
        let store = Store::local();
        let objects = nodes
            .into_iter()
            .map(Object::Node)
            .chain(tasks.into_iter().map(Object::Task));
        create(&store, objects.collect()).await;
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(Scheduler::new(store.clone()).run(shutdown.clone()));
        Running {
            store,
            shutdown,
            handle,
        }
    }

    /// Waits (up to 5 s) until `cond` holds on the store, failing with what it saw.
    async fn until(&self, what: &str, cond: impl Fn(&Tables) -> bool) {
        self.within(Duration::from_secs(5), what, cond).await
    }

    async fn within(&self, limit: Duration, what: &str, cond: impl Fn(&Tables) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.store.view(&cond) {
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; tasks: {:#?}", self.summary());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// task ID → (state, node, err)
    fn summary(&self) -> BTreeMap<String, (TaskState, String, String)> {
        self.store.view(|t| {
            t.tasks
                .values()
                .map(|t| {
                    let status = (t.status.state, t.node_id.clone(), t.status.err.clone());
                    (t.id.clone(), status)
                })
                .collect()
        })
    }

    /// Sorted node IDs of the tasks in state Assigned.
    fn assigned_nodes(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .summary()
            .into_values()
            .filter(|(state, _, _)| *state == TaskState::Assigned)
            .map(|(_, node, _)| node)
            .collect();
        v.sort();
        v
    }

    async fn edit_task(&self, id: &str, f: impl Fn(&mut Task)) {
        self.store
            .update(|t, tx| {
                let mut task = t.tasks[id].clone();
                f(&mut task);
                tx.update(Object::Task(task));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(2), self.handle)
            .await
            .expect("scheduler stops on cancel")
            .unwrap();
    }
}

async fn create(store: &Store, objects: Vec<Object>) {
    store
        .update(|_, tx| {
            for o in &objects {
                tx.create(o.clone());
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

fn count_in(t: &Tables, state: TaskState) -> usize {
    t.tasks.values().filter(|t| t.status.state == state).count()
}

fn three(f: impl Fn(Task) -> Task) -> Vec<Task> {
    (1..=3).map(|i| f(pending("s", i))).collect()
}

#[tokio::test]
async fn three_replicas_land_one_per_node_with_assigned_status() {
    let s = Running::start(vec![node("n1"), node("n2"), node("n3")], three(|t| t)).await;
    s.until("3 assigned", |t| count_in(t, TaskState::Assigned) == 3)
        .await;
    assert_eq!(s.assigned_nodes(), ["n1", "n2", "n3"]);
    s.store.view(|t| {
        for task in t.tasks.values() {
            assert_eq!(task.status.message, ASSIGNED_MESSAGE);
            assert!(task.status.timestamp_ms > 0);
            assert!(task.status.err.is_empty());
        }
    });
    s.stop().await;
}

#[tokio::test]
async fn constraints_pick_roles_and_labels() {
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("node.role==manager", vec!["m1", "m1", "m2"]),
        ("node.labels.zone==b", vec!["w2", "w2", "w2"]),
        ("node.labels.zone!=b", vec!["m1", "m2", "w1"]),
    ];
    for (constraint, want) in cases {
        let nodes = vec![
            manager("m1"),
            manager("m2"),
            labelled(node("w1"), "zone", "a"),
            labelled(node("w2"), "zone", "b"),
        ];
        let s = Running::start(nodes, three(|t| constrained(t, &[constraint]))).await;
        s.until(constraint, |t| count_in(t, TaskState::Assigned) == 3)
            .await;
        assert_eq!(s.assigned_nodes(), want, "{constraint}");
        s.stop().await;
    }
}

#[tokio::test]
async fn drained_paused_and_down_nodes_get_nothing() {
    let unavailable = || {
        vec![
            with_state(node("down"), NodeState::Down, NodeAvailability::Active),
            with_state(node("drain"), NodeState::Ready, NodeAvailability::Drain),
            with_state(node("pause"), NodeState::Ready, NodeAvailability::Pause),
        ]
    };
    let mut nodes = unavailable();
    nodes.push(node("ok"));
    let s = Running::start(nodes, three(|t| t)).await;
    s.until("3 assigned", |t| count_in(t, TaskState::Assigned) == 3)
        .await;
    assert_eq!(s.assigned_nodes(), ["ok", "ok", "ok"]);
    s.stop().await;

    let s = Running::start(unavailable(), three(|t| t)).await;
    let want = "no suitable node (3 nodes not available for new tasks)";
    s.until("explained", |t| {
        t.tasks.values().all(|t| t.status.err == want)
    })
    .await;
    s.store.view(|t| {
        for task in t.tasks.values() {
            assert_eq!(task.status.state, TaskState::Pending);
            assert_eq!(task.status.message, PENDING_MESSAGE);
            assert!(task.node_id.is_empty());
        }
    });
    s.stop().await;
}

#[tokio::test]
async fn resources_limit_placement_and_freed_capacity_is_reused() {
    let s = Running::start(
        vec![node("n1"), node("n2")],
        three(|t| reserving(t, 3_000_000_000, 0)),
    )
    .await;
    let want = "no suitable node (insufficient resources on 2 nodes)";
    s.until("2 assigned, 1 explained", |t| {
        count_in(t, TaskState::Assigned) == 2 && t.tasks.values().any(|t| t.status.err == want)
    })
    .await;
    assert_eq!(s.assigned_nodes(), ["n1", "n2"]);
    // One task fails: its reservation is released and the pending one takes its place.
    let failed = s.store.view(|t| {
        t.tasks
            .values()
            .find(|t| t.node_id == "n2")
            .unwrap()
            .id
            .clone()
    });
    s.edit_task(&failed, |t| t.status.state = TaskState::Failed)
        .await;
    s.until("the pending task placed", |t| {
        count_in(t, TaskState::Pending) == 0
    })
    .await;
    assert_eq!(s.assigned_nodes(), ["n1", "n2"]);
    s.stop().await;
}

#[tokio::test]
async fn host_ports_and_max_replicas_are_respected() {
    let busy = host_port(running("other", 1, "n1"), 8080);
    let mut tasks = three(|t| host_port(t, 8080));
    tasks.push(busy);
    let s = Running::start(vec![node("n1"), node("n2"), node("n3")], tasks).await;
    let want = "no suitable node (host-mode port already in use on 3 nodes)";
    s.until("2 placed, 1 explained", |t| {
        count_in(t, TaskState::Assigned) == 2 && t.tasks.values().any(|t| t.status.err == want)
    })
    .await;
    assert_eq!(s.assigned_nodes(), ["n2", "n3"]);
    s.stop().await;

    let s = Running::start(vec![node("n1")], three(|t| max_per_node(t, 2))).await;
    let want = "no suitable node (max replicas per node reached on 1 node)";
    s.until("2 placed, 1 explained", |t| {
        count_in(t, TaskState::Assigned) == 2 && t.tasks.values().any(|t| t.status.err == want)
    })
    .await;
    s.stop().await;
}

#[tokio::test]
async fn a_pending_task_is_placed_when_a_node_becomes_ready() {
    let down = with_state(node("n1"), NodeState::Down, NodeAvailability::Active);
    let s = Running::start(vec![down], vec![pending("s", 1)]).await;
    s.until("explained", |t| {
        t.tasks["s-t1"].status.err == "no suitable node (1 node not available for new tasks)"
    })
    .await;
    // Let the tick that follows the scheduler's own write pass, so only the node's event is
    // left to trigger the next one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.store
        .update(|t, tx| {
            let mut n = t.nodes["n1"].clone();
            n.status.state = NodeState::Ready;
            tx.update(Object::Node(n));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    // Sooner than the periodic resync (2 s): the node's event alone must trigger placement.
    s.within(Duration::from_secs(1), "assigned", |t| {
        t.tasks["s-t1"].status.state == TaskState::Assigned
    })
    .await;
    s.store
        .view(|t| assert!(t.tasks["s-t1"].status.err.is_empty()));
    s.stop().await;
}

#[tokio::test]
async fn new_tasks_are_placed_as_they_arrive() {
    let s = Running::start(vec![node("n1"), node("n2")], vec![]).await;
    create(&s.store, vec![Object::Task(pending("s", 1))]).await;
    s.until("first placed", |t| count_in(t, TaskState::Assigned) == 1)
        .await;
    create(&s.store, vec![Object::Task(pending("s", 2))]).await;
    s.until("second placed", |t| count_in(t, TaskState::Assigned) == 2)
        .await;
    // Spread across ticks: the second sees the first, already assigned, and avoids its node.
    assert_eq!(s.assigned_nodes(), ["n1", "n2"]);
    s.stop().await;
}

#[tokio::test]
async fn global_tasks_stay_on_their_node() {
    let drained = with_state(node("n2"), NodeState::Ready, NodeAvailability::Drain);
    let s = Running::start(
        vec![node("n1"), drained],
        vec![global("g", "n1"), global("g", "n2")],
    )
    .await;
    s.until("settled", |t| {
        t.tasks["g-n1"].status.state == TaskState::Assigned
            && t.tasks["g-n2"].status.message == PENDING_MESSAGE
    })
    .await;
    s.store.view(|t| {
        assert_eq!(t.tasks["g-n1"].node_id, "n1");
        let g2 = &t.tasks["g-n2"];
        assert_eq!(g2.status.state, TaskState::Pending);
        assert_eq!(
            g2.status.err,
            "no suitable node (1 node not available for new tasks)"
        );
    });
    s.stop().await;
}

#[tokio::test]
async fn explanations_are_written_only_when_they_change() {
    let store = Store::local();
    create(
        &store,
        vec![
            Object::Node(node("w1")),
            Object::Task(constrained(pending("s", 1), &["node.role==manager"])),
        ],
    )
    .await;
    let scheduler = Scheduler::new(store.clone());
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    let version = store.view(|t| t.tasks["s-t1"].meta.version);
    assert_eq!(scheduler.tick().await.unwrap(), 0);
    assert_eq!(store.view(|t| t.tasks["s-t1"].meta.version), version);
    create(&store, vec![Object::Node(node("w2"))]).await;
    assert_eq!(scheduler.tick().await.unwrap(), 1);
    assert_eq!(
        store.view(|t| t.tasks["s-t1"].status.err.clone()),
        "no suitable node (scheduling constraints not satisfied on 2 nodes)"
    );
}

#[tokio::test]
async fn decisions_on_a_stale_snapshot_are_rechecked() {
    // A task removed by the orchestrator between planning and committing must not be assigned.
    let store = Store::local();
    let mut gone = pending("s", 1);
    gone.desired_state = TaskState::Remove;
    create(&store, vec![Object::Node(node("n1")), Object::Task(gone)]).await;
    let stale = vec![super::Decision::Assign {
        task_id: "s-t1".into(),
        node_id: "n1".into(),
    }];
    let written = store
        .update(|t, tx| Ok::<_, StoreError>(super::component::commit(t, tx, &stale)))
        .await
        .unwrap();
    assert_eq!(written, 0);
    assert_eq!(
        store.view(|t| t.tasks["s-t1"].status.state),
        TaskState::Pending
    );
}
