use std::collections::BTreeSet;

use types::{NodeAvailability, NodeState, ServiceMode, TaskState};

use super::*;

fn nodes_running(store: &Store, id: &str) -> BTreeSet<String> {
    running(store, id).into_iter().map(|t| t.node_id).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn global_service_follows_joining_draining_and_lost_nodes() {
    let store = new_store(&["a", "b"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = create_service(&store, spec("agent", ServiceMode::Global)).await;
    agents
        .until(&store, "a and b", |_| {
            nodes_running(&store, &id) == set(&["a", "b"])
        })
        .await;
    assert!(tasks(&store, &id).iter().all(|t| t.slot == 0));

    add_node(&store, "c").await;
    agents
        .until(&store, "c joins", |_| {
            nodes_running(&store, &id) == set(&["a", "b", "c"])
        })
        .await;

    edit_node(&store, "b", |n| {
        n.spec.availability = NodeAvailability::Drain
    })
    .await;
    edit_node(&store, "c", |n| n.status.state = NodeState::Down).await;
    agents
        .until(&store, "only a", |_| runnable(&store, &id).len() == 1)
        .await;
    assert_eq!(nodes_running(&store, &id), set(&["a"]));

    // Paused nodes keep (and get) their task; a drained node that comes back gets a new one.
    edit_node(&store, "b", |n| {
        n.spec.availability = NodeAvailability::Pause
    })
    .await;
    agents
        .until(&store, "b again", |_| {
            runnable(&store, &id)
                .iter()
                .filter(|t| t.node_id == "b")
                .count()
                == 1
        })
        .await;

    write(&store, |_, tx| tx.remove(Kind::Node, "c")).await;
    agents
        .until(&store, "c's task removed and reaped", |t| {
            t.tasks_of_service(&id).all(|x| x.node_id != "c")
        })
        .await;
    assert_eq!(
        tasks(&store, &id)
            .iter()
            .filter(|t| t.desired_state == TaskState::Running)
            .count(),
        2
    );
    o.stop().await;
}

#[tokio::test]
async fn global_service_honours_constraints() {
    let store = new_store(&["a", "b", "c"]).await;
    edit_node(&store, "b", |n| {
        n.spec.labels.insert("zone".into(), "x".into());
    })
    .await;
    let agents = Agents::default();
    let o = start(&store);
    let mut s = spec("agent", ServiceMode::Global);
    s.task.placement.constraints = vec!["node.labels.zone==x".into()];
    let id = create_service(&store, s).await;
    agents
        .until(&store, "on b only", |_| {
            nodes_running(&store, &id) == set(&["b"])
        })
        .await;
    edit_node(&store, "c", |n| {
        n.spec.labels.insert("zone".into(), "x".into());
    })
    .await;
    edit_node(&store, "b", |n| {
        n.spec.labels.clear();
    })
    .await;
    agents
        .until(&store, "moved to c", |_| {
            nodes_running(&store, &id) == set(&["c"]) && runnable(&store, &id).len() == 1
        })
        .await;
    o.stop().await;
}
