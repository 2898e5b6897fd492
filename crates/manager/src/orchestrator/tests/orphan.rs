//! Nodes that stay down: their tasks are orphaned once the cluster's grace is over, then
//! reaped, and a node that comes back is given nothing to run twice.

use std::collections::BTreeSet;

use types::{NodeState, ServiceMode, TaskState};

use super::*;
use crate::dispatcher::view::assigned_node;

const GRACE_MS: u64 = 200;

async fn set_orphan_after(store: &Store, ms: u64) {
    write(store, |t, tx| {
        let mut c = t.cluster().expect("the test store has a cluster").clone();
        c.spec.orphan_after_ms = ms;
        tx.update(Object::Cluster(c));
    })
    .await;
}

/// Marks `id` down now, as the dispatcher does; returns when.
async fn mark_down(store: &Store, id: &str) -> i64 {
    let at = types::now_ms();
    edit_node(store, id, |n| {
        n.status.state = NodeState::Down;
        n.status.down_since_ms = at;
    })
    .await;
    at
}

/// Records every orphaned task seen in a commit as `id|orphaned at|message`: the reaper
/// deletes it right after, so only the store's events show it.
fn orphans_seen(store: &Store) -> Recorder {
    Recorder::start(store, |tasks| {
        let orphaned: Vec<String> = tasks
            .values()
            .filter(|t| t.status.state == TaskState::Orphaned)
            .map(|t| format!("{}|{}|{}", t.id, t.status.timestamp_ms, t.status.message))
            .collect();
        (!orphaned.is_empty()).then(|| orphaned.join("\n"))
    })
}

/// The distinct orphanings the recorder saw.
async fn orphanings(rec: Recorder) -> BTreeSet<String> {
    rec.finish()
        .await
        .iter()
        .flat_map(|v| v.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[tokio::test]
async fn tasks_of_a_node_down_past_the_grace_are_orphaned_reaped_and_not_run_again() {
    let TwoReplicas {
        store,
        agents,
        orchestrator: o,
        service: id,
        on_b: victim,
    } = two_replicas(|s| async move { set_orphan_after(&s, GRACE_MS).await }).await;
    let rec = orphans_seen(&store);
    let down_at = mark_down(&store, "b").await;
    agents
        .until(&store, "the victim's slot refilled on a", |_| {
            running(&store, &id)
                .iter()
                .filter(|t| t.node_id == "a")
                .count()
                == 2
        })
        .await;
    agents
        .until(&store, "the victim orphaned and reaped", |t| {
            !t.tasks.contains_key(&victim.id)
        })
        .await;
    let seen = orphanings(rec).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let seen = seen.first().expect("one orphaning").clone();
    let fields: Vec<&str> = seen.split('|').collect();
    assert_eq!(fields[0], victim.id);
    let at: i64 = fields[1].parse().expect("a time");
    assert!(
        at >= down_at + GRACE_MS as i64,
        "orphaned {} ms after the node went down, before the grace of {GRACE_MS} ms",
        at - down_at
    );
    assert_eq!(fields[2], "node b down for more than 200ms");

    // The node comes back: it is sent nothing of the service, so it runs nothing twice, and
    // the slots stay as they are.
    edit_node(&store, "b", |n| n.status.state = NodeState::Ready).await;
    for _ in 0..20 {
        agents.step(&store).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(store.view(|t| assignments(t, "b")).is_empty());
    let mut slots: Vec<u64> = runnable(&store, &id).iter().map(|t| t.slot).collect();
    slots.sort_unstable();
    assert_eq!(slots, vec![1, 2]);
    o.stop().await;
}

#[tokio::test]
async fn a_global_service_gets_one_new_task_on_a_node_back_after_the_grace() {
    let store = new_store(&["a", "b"]).await;
    set_orphan_after(&store, GRACE_MS).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = create_service(&store, spec("agent", ServiceMode::Global)).await;
    agents
        .until(&store, "one task per node", |_| {
            running(&store, &id).len() == 2
        })
        .await;
    let old = running(&store, &id)
        .into_iter()
        .find(|t| t.node_id == "b")
        .expect("a task on b");
    mark_down(&store, "b").await;
    // The newest task of b's slot stays, orphaned, until b gets a newer one.
    agents
        .until(&store, "b's task orphaned", |t| {
            t.tasks[&old.id].status.state == TaskState::Orphaned
        })
        .await;
    edit_node(&store, "b", |n| n.status.state = NodeState::Ready).await;
    agents
        .until(&store, "b runs a new task and the orphan is reaped", |t| {
            running(&store, &id).iter().any(|x| x.node_id == "b") && !t.tasks.contains_key(&old.id)
        })
        .await;
    let on_b = store.view(|t| assignments(t, "b"));
    assert_eq!(on_b.len(), 1, "{on_b:?}");
    assert_ne!(on_b[0].id, old.id);
    assert_eq!(running(&store, &id).len(), 2);
    o.stop().await;
}

#[tokio::test]
async fn a_deleted_service_leaves_no_task_behind_on_a_node_that_stays_down() {
    let TwoReplicas {
        store,
        agents,
        orchestrator: o,
        service: id,
        ..
    } = two_replicas(|s| async move { set_orphan_after(&s, GRACE_MS).await }).await;
    mark_down(&store, "b").await;
    delete_service(&store, &id).await;
    agents
        .until(&store, "every task deleted", |t| {
            t.tasks_of_service(&id).count() == 0
        })
        .await;
    o.stop().await;
}

#[tokio::test]
async fn within_the_grace_a_down_node_keeps_its_tasks() {
    let TwoReplicas {
        store,
        agents,
        orchestrator: o,
        service: id,
        on_b: victim,
    } = two_replicas(|_| async {}).await;
    mark_down(&store, "b").await;
    agents
        .until(&store, "the victim's slot refilled on a", |_| {
            running(&store, &id)
                .iter()
                .filter(|t| t.node_id == "a")
                .count()
                == 2
        })
        .await;
    // Several passes and a resync later (the default grace is 24 h), the old task is still
    // there as the node last reported it.
    tokio::time::sleep(fast().resync * 2).await;
    let kept = store.view(|t| t.tasks.get(&victim.id).cloned());
    assert_eq!(
        kept.map(|t| (t.desired_state, t.status.state)),
        Some((TaskState::Shutdown, TaskState::Running))
    );
    o.stop().await;
}

/// What the dispatcher sends `node`: its tasks past scheduling.
fn assignments(t: &store::Tables, node: &str) -> Vec<Task> {
    t.tasks
        .values()
        .filter(|task| assigned_node(task) == Some(node))
        .cloned()
        .collect()
}
