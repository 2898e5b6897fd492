use std::collections::BTreeSet;

use types::{NodeAvailability, NodeState, ServiceMode, TaskState};

use super::*;
use crate::orchestrator::replicated;

fn slots(tasks: &[Task]) -> BTreeSet<u64> {
    tasks.iter().map(|t| t.slot).collect()
}

#[tokio::test]
async fn scales_up_and_down_to_exact_counts() {
    let store = new_store(&["a", "b", "c"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = create_service(&store, spec("web", ServiceMode::Replicated { replicas: 5 })).await;
    agents
        .until(&store, "5 running", |_| running(&store, &id).len() == 5)
        .await;
    assert_eq!(slots(&runnable(&store, &id)), (1..=5).collect());
    assert_eq!(tasks(&store, &id).len(), 5, "no task beyond the five");

    update_service(&store, &id, |s| {
        s.mode = ServiceMode::Replicated { replicas: 2 }
    })
    .await;
    agents
        .until(&store, "scaled down and reaped", |t| {
            t.tasks_of_service(&id).count() == 2
        })
        .await;
    assert_eq!(runnable(&store, &id).len(), 2);
    // Scaling is not a rolling update.
    assert!(store.view(|t| t.services[&id].update_status.is_none()));

    update_service(&store, &id, |s| {
        s.mode = ServiceMode::Replicated { replicas: 4 }
    })
    .await;
    agents
        .until(&store, "4 running", |_| running(&store, &id).len() == 4)
        .await;
    assert_eq!(runnable(&store, &id).len(), 4);
    assert_eq!(slots(&runnable(&store, &id)).len(), 4, "one task per slot");
    o.stop().await;
}

#[tokio::test]
async fn scale_down_removes_highest_slots_on_the_most_loaded_node() {
    let store = new_store(&["a", "b"]).await;
    let id = create_service(&store, spec("web", ServiceMode::Replicated { replicas: 2 })).await;
    // Four running tasks: slots 1-3 on `a`, slot 4 on `b`.
    for slot in 1..=4u64 {
        let service = store.view(|t| t.services[&id].clone());
        let mut task = crate::orchestrator::plan::new_task(
            &service,
            &crate::orchestrator::slot::SlotKey::Replica(slot),
            types::now_ms(),
        );
        task.node_id = if slot < 4 { "a" } else { "b" }.into();
        task.status.state = TaskState::Running;
        write(&store, |_, tx| tx.create(Object::Task(task.clone()))).await;
    }
    let (tables, service) = store.view(|t| (t.clone(), t.services[&id].clone()));
    let w = replicated::reconcile(&tables, &service, types::now_ms());
    let removed: BTreeSet<u64> = w
        .indices()
        .map(|i| w.task(i))
        .filter(|t| t.desired_state == TaskState::Remove)
        .map(|t| t.slot)
        .collect();
    assert_eq!(removed, BTreeSet::from([2, 3]));
    assert_eq!(w.created(), 0);
}

#[tokio::test]
async fn a_new_leader_resumes_a_scale_up_without_duplicates() {
    let store = new_store(&["a", "b", "c"]).await;
    let agents = Agents::default();
    let id = create_service(&store, spec("web", ServiceMode::Replicated { replicas: 3 })).await;
    let first = start(&store);
    agents
        .until(&store, "3 running", |_| running(&store, &id).len() == 3)
        .await;
    update_service(&store, &id, |s| {
        s.mode = ServiceMode::Replicated { replicas: 12 }
    })
    .await;
    // The old leader stops as soon as it has started the scale-up.
    agents
        .until(&store, "scale-up started", |t| {
            t.tasks_of_service(&id).count() > 3
        })
        .await;
    first.stop().await;
    let second = start(&store);
    agents
        .until(&store, "12 running", |_| running(&store, &id).len() == 12)
        .await;
    assert_eq!(tasks(&store, &id).len(), 12, "no task created twice");
    assert_eq!(slots(&runnable(&store, &id)), (1..=12).collect());
    second.stop().await;
}

#[tokio::test]
async fn two_leaders_at_once_still_create_each_slot_once() {
    let store = new_store(&["a", "b"]).await;
    let agents = Agents::default();
    let old = start(&store);
    let new = start(&store);
    let id = create_service(
        &store,
        spec("web", ServiceMode::Replicated { replicas: 20 }),
    )
    .await;
    agents
        .until(&store, "20 running", |_| running(&store, &id).len() == 20)
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(tasks(&store, &id).len(), 20);
    assert_eq!(slots(&tasks(&store, &id)), (1..=20).collect());
    old.stop().await;
    new.stop().await;
}

async fn replaced_when(edit: impl Fn(&mut Node), old_status_after: Option<TaskState>) {
    let TwoReplicas {
        store,
        agents,
        orchestrator: o,
        service: id,
        on_b: victim,
    } = two_replicas(|_| async {}).await;
    edit_node(&store, "b", edit).await;
    agents
        .until(&store, "replacement running on a", |t| {
            running(&store, &id)
                .iter()
                .filter(|x| x.node_id == "a")
                .count()
                == 2
                && t.tasks[&victim.id].desired_state == TaskState::Shutdown
        })
        .await;
    let again = runnable(&store, &id);
    assert_eq!(again.len(), 2);
    assert!(again
        .iter()
        .any(|t| t.slot == victim.slot && t.id != victim.id));
    if let Some(state) = old_status_after {
        agents
            .until(&store, "old task stopped", |t| {
                t.tasks[&victim.id].status.state == state
            })
            .await;
    }
    o.stop().await;
}

#[tokio::test]
async fn a_down_node_gets_its_tasks_replaced() {
    // The agent is gone: the old task is never reported stopped.
    replaced_when(|n| n.status.state = NodeState::Down, None).await;
}

#[tokio::test]
async fn a_drained_node_gets_its_tasks_replaced() {
    replaced_when(
        |n| n.spec.availability = NodeAvailability::Drain,
        Some(TaskState::Shutdown),
    )
    .await;
}

#[tokio::test]
async fn a_removed_node_gets_its_tasks_replaced() {
    let store = new_store(&["a", "b"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = create_service(&store, spec("web", ServiceMode::Replicated { replicas: 2 })).await;
    agents
        .until(&store, "2 running", |_| running(&store, &id).len() == 2)
        .await;
    write(&store, |_, tx| tx.remove(Kind::Node, "b")).await;
    agents
        .until(&store, "both on a", |_| {
            let r = running(&store, &id);
            r.len() == 2 && r.iter().all(|t| t.node_id == "a")
        })
        .await;
    o.stop().await;
}

#[tokio::test]
async fn deleting_a_service_removes_all_its_tasks() {
    let store = new_store(&["a"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = create_service(&store, spec("web", ServiceMode::Replicated { replicas: 3 })).await;
    agents
        .until(&store, "3 running", |_| running(&store, &id).len() == 3)
        .await;
    delete_service(&store, &id).await;
    agents
        .until(&store, "tasks deleted", |t| {
            t.tasks_of_service(&id).count() == 0
        })
        .await;
    o.stop().await;
}
