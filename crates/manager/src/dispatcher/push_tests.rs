//! How many pushes a node gets: one per thing it did not already know. Passes are driven by
//! hand (no run loop), one after every write, so each push is counted and none coalesce.

use super::*;
use types::{NetworkAttachment, Node, NodeRole, PortConfig, Service, Task, TaskState};

const LIFECYCLE: [TaskState; 5] = [
    TaskState::Accepted,
    TaskState::Preparing,
    TaskState::Ready,
    TaskState::Starting,
    TaskState::Running,
];

type Rx = watch::Receiver<Option<Arc<Assignment>>>;

/// Nodes n1 and n2 with open sessions, a published service `web` and an unpublished `db`.
async fn cluster() -> (Store, Arc<Dispatcher>, [(String, Rx); 2]) {
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
            let mut web = Service {
                id: "web".into(),
                ..Default::default()
            };
            web.spec.name = "web".into();
            web.endpoint_ports.push(PortConfig {
                target_port: 80,
                published_port: 8080,
                ..Default::default()
            });
            tx.create(Object::Service(web));
            let mut db = Service {
                id: "db".into(),
                ..Default::default()
            };
            db.spec.name = "db".into();
            tx.create(Object::Service(db));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let d = Dispatcher::new(store.clone(), DispatcherConfig::default());
    let n1 = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    let n2 = d
        .open_session("n2", NodeDescription::default())
        .await
        .unwrap();
    let mut sessions = [n1, n2];
    d.publish();
    for (_, rx) in &mut sessions {
        assert!(pushed(rx), "a new session gets its assignment");
    }
    (store, d, sessions)
}

/// Whether the session saw a new assignment since the last look.
fn pushed(rx: &mut Rx) -> bool {
    let changed = rx.has_changed().expect("session open");
    rx.borrow_and_update();
    changed
}

fn latest(rx: &Rx) -> Arc<Assignment> {
    rx.borrow().clone().expect("an assignment")
}

/// A scheduled task with its ingress address, as the allocator and scheduler leave it.
async fn create_task(store: &Store, id: &str, service: &str, node: &str) {
    let mut t = Task {
        id: id.into(),
        service_id: service.into(),
        service_name: service.into(),
        slot: 1,
        node_id: node.into(),
        desired_state: TaskState::Running,
        ..Default::default()
    };
    t.status.state = TaskState::Assigned;
    t.networks.push(NetworkAttachment {
        network_id: "ingress".into(),
        addr: format!("10.255.0.{}", 10 + id.len()),
        mac: "02:42:0a:ff:00:0a".into(),
    });
    store
        .update(|_, tx| {
            tx.create(Object::Task(t.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

/// What the agent reports for `state`: the state with its message, time and container.
fn report(state: TaskState) -> TaskStatus {
    TaskStatus {
        state,
        timestamp_ms: types::now_ms(),
        message: format!("{state:?}").to_lowercase(),
        container_id: if state >= TaskState::Starting {
            "c-1".into()
        } else {
            String::new()
        },
        ..Default::default()
    }
}

/// Runs a task of `service` on n1 from creation to Running, one report per pass as an agent
/// would send them at worst; answers the pushes n1 and n2 saw.
async fn lifecycle(service: &str) -> (usize, usize, Arc<Assignment>) {
    let (store, d, [(sid, mut rx1), (_, mut rx2)]) = cluster().await;
    let mut seen = [0, 0];
    let mut pass = |rx1: &mut Rx, rx2: &mut Rx| {
        d.publish();
        seen[0] += usize::from(pushed(rx1));
        seen[1] += usize::from(pushed(rx2));
    };
    create_task(&store, "t1", service, "n1").await;
    pass(&mut rx1, &mut rx2);
    for state in LIFECYCLE {
        d.update_task_status("n1", &sid, vec![("t1".into(), report(state))])
            .await
            .unwrap();
        pass(&mut rx1, &mut rx2);
    }
    assert_eq!(
        store.view(|t| t.tasks["t1"].status.state),
        TaskState::Running
    );
    (seen[0], seen[1], latest(&rx1))
}

#[tokio::test]
async fn an_unpublished_task_reaches_running_with_one_push() {
    let (own, other, last) = lifecycle("db").await;
    assert_eq!(
        own, 1,
        "only the assignment itself; every report was an echo"
    );
    // n2 learns the new overlay endpoint, once.
    assert_eq!(other, 1);
    // Not sent, but the session holds the latest state for whatever it sends next.
    assert_eq!(last.tasks[0].status.state, TaskState::Running);
}

#[tokio::test]
async fn a_published_task_reaches_running_with_two_pushes() {
    let (own, other, last) = lifecycle("web").await;
    assert_eq!(own, 2, "the assignment, then the mesh gaining the backend");
    assert_eq!(other, 2);
    let web = &last.network.view.services[0];
    assert_eq!(web.backends.len(), 1);
    // What is pushed is the latest store state, reports included.
    assert_eq!(last.tasks[0].status.state, TaskState::Running);
    assert_eq!(last.tasks[0].status.container_id, "c-1");
}

#[tokio::test]
async fn a_desired_state_change_is_pushed_to_its_node() {
    let (store, d, [(sid, mut rx1), _]) = cluster().await;
    create_task(&store, "t1", "db", "n1").await;
    d.publish();
    assert!(pushed(&mut rx1));
    d.update_task_status("n1", &sid, vec![("t1".into(), report(TaskState::Running))])
        .await
        .unwrap();
    d.publish();
    assert!(!pushed(&mut rx1), "the node's own report is not echoed");

    store
        .update(|t, tx| {
            let mut task = t.tasks["t1"].clone();
            task.desired_state = TaskState::Shutdown;
            tx.update(Object::Task(task));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    d.publish();
    assert!(pushed(&mut rx1), "a manager's change is news");
    let task = &latest(&rx1).tasks[0];
    assert_eq!(task.desired_state, TaskState::Shutdown);
    assert_eq!(task.status.state, TaskState::Running);
}

#[tokio::test]
async fn a_backend_on_another_node_is_pushed_to_every_node() {
    let (store, d, [(sid1, mut rx1), (sid2, mut rx2)]) = cluster().await;
    create_task(&store, "t1", "db", "n1").await;
    create_task(&store, "t2", "web", "n2").await;
    d.publish();
    assert!(pushed(&mut rx1));
    assert!(pushed(&mut rx2));
    d.update_task_status(
        "n1",
        &sid1,
        vec![("t1".into(), report(TaskState::Preparing))],
    )
    .await
    .unwrap();
    d.publish();
    assert!(!pushed(&mut rx1), "an echo");
    for state in LIFECYCLE {
        d.update_task_status("n2", &sid2, vec![("t2".into(), report(state))])
            .await
            .unwrap();
        d.publish();
        let mesh_changed = state == TaskState::Running;
        assert_eq!(pushed(&mut rx1), mesh_changed, "n1 after {state:?}");
        assert_eq!(pushed(&mut rx2), mesh_changed, "n2 after {state:?}");
    }
    let last = latest(&rx1);
    let backends = &last.network.view.services[0].backends;
    assert_eq!(backends.len(), 1);
    assert_eq!(backends[0].node_id, "n2");
    // The push for the mesh carries n1's own tasks as the store has them now.
    assert_eq!(last.tasks[0].status.state, TaskState::Preparing);
}

#[tokio::test]
async fn a_reconnecting_node_gets_its_assignment_although_nothing_changed() {
    let (store, d, _) = cluster().await;
    create_task(&store, "t1", "db", "n1").await;
    d.publish();
    // open_session rewrites the node, but the new session must not depend on that.
    let (_, mut rx) = d
        .open_session("n1", NodeDescription::default())
        .await
        .unwrap();
    d.publish();
    assert!(pushed(&mut rx));
    assert_eq!(latest(&rx).tasks[0].id, "t1");
}

#[tokio::test]
async fn a_pass_after_the_watch_lagged_still_sees_every_change() {
    let (store, d, [(_, mut rx1), _]) = cluster().await;
    create_task(&store, "t1", "db", "n1").await;
    // More writes than the store's watch buffer (16,384) holds: the events above are lost.
    for i in 0..17_000u32 {
        store
            .update(|t, tx| {
                let mut n2 = t.nodes["n2"].clone();
                n2.description.hostname = format!("host{i}");
                tx.update(Object::Node(n2));
                Ok::<_, StoreError>(())
            })
            .await
            .unwrap();
    }
    d.publish();
    assert!(pushed(&mut rx1));
    let ids: Vec<_> = latest(&rx1).tasks.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, ["t1"]);
}

#[tokio::test]
async fn a_removed_task_and_a_node_change_are_pushed() {
    let (store, d, [(_, mut rx1), (_, mut rx2)]) = cluster().await;
    create_task(&store, "t1", "db", "n1").await;
    d.publish();
    assert!(pushed(&mut rx1));
    assert!(pushed(&mut rx2), "n2 learns the endpoint");

    store
        .update(|t, tx| {
            let mut n1 = t.nodes["n1"].clone();
            n1.spec.labels.insert("zone".into(), "a".into());
            tx.update(Object::Node(n1));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    d.publish();
    assert!(pushed(&mut rx1));
    assert_eq!(latest(&rx1).node.spec.labels["zone"], "a");
    assert!(
        !pushed(&mut rx2),
        "another node's labels are none of n2's business"
    );

    store
        .update(|_, tx| {
            tx.remove(store::Kind::Task, "t1");
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    d.publish();
    assert!(pushed(&mut rx1));
    assert!(latest(&rx1).tasks.is_empty());
    assert!(pushed(&mut rx2), "the endpoint is gone");
}

#[tokio::test]
async fn a_backend_on_a_user_network_is_pushed_to_every_node() {
    let (store, d, [(_, mut rx1), (sid2, mut rx2)]) = cluster().await;
    store
        .update(|_, tx| {
            tx.create(Object::Network(types::Network {
                id: "net-a".into(),
                meta: Default::default(),
                spec: types::NetworkSpec::overlay("a"),
            }));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    // An unpublished service: only its user network cares that its task runs.
    create_task(&store, "t2", "db", "n2").await;
    store
        .update(|t, tx| {
            let mut db = t.services["db"].clone();
            db.spec.task.networks = vec![types::NetworkTarget {
                target: "net-a".into(),
                aliases: Vec::new(),
            }];
            tx.update(Object::Service(db));
            let mut task = t.tasks["t2"].clone();
            task.networks.push(NetworkAttachment {
                network_id: "net-a".into(),
                addr: "10.0.1.3".into(),
                mac: "02:42:0a:00:01:03".into(),
            });
            tx.update(Object::Task(task));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    d.publish();
    assert!(pushed(&mut rx1) && pushed(&mut rx2));
    for state in LIFECYCLE {
        d.update_task_status("n2", &sid2, vec![("t2".into(), report(state))])
            .await
            .unwrap();
        d.publish();
        let overlay_changed = state == TaskState::Running;
        assert_eq!(pushed(&mut rx1), overlay_changed, "n1 after {state:?}");
    }
    let last = latest(&rx1);
    let net_a = &last.network.view.overlays[0];
    assert_eq!(net_a.services[0].backends[0].addr, "10.0.1.3");
}
