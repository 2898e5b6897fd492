use std::collections::BTreeSet;

use types::{RestartCondition, ServiceMode, TaskState};

use super::*;

/// A one-replica service whose task has just reached Running; returns the service ID.
async fn one_running(store: &Store, agents: &Agents, f: impl Fn(&mut ServiceSpec)) -> String {
    let mut s = spec("job", ServiceMode::Replicated { replicas: 1 });
    f(&mut s);
    let id = create_service(store, s).await;
    agents
        .until(store, "1 running", |_| running(store, &id).len() == 1)
        .await;
    id
}

/// What the agent reports when the container exits.
async fn end(store: &Store, task_id: &str, state: TaskState) {
    write(store, |t, tx| {
        let mut task = t.tasks[task_id].clone();
        task.status.state = state;
        task.status.timestamp_ms = types::now_ms();
        tx.update(Object::Task(task));
    })
    .await;
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test]
async fn condition_none_never_restarts() {
    let store = new_store(&["a"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = one_running(&store, &agents, |s| {
        s.task.restart.condition = RestartCondition::None
    })
    .await;
    let first = running(&store, &id).remove(0);
    end(&store, &first.id, TaskState::Failed).await;
    agents
        .until(&store, "shut down", |t| {
            t.tasks[&first.id].desired_state == TaskState::Shutdown
        })
        .await;
    settle().await;
    assert_eq!(tasks(&store, &id).len(), 1, "no replacement");
    o.stop().await;
}

#[tokio::test]
async fn on_failure_restarts_failures_after_the_delay_but_not_completions() {
    let store = new_store(&["a"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = one_running(&store, &agents, |s| {
        s.task.restart.condition = RestartCondition::OnFailure;
        s.task.restart.delay_ms = 300;
    })
    .await;
    let first = running(&store, &id).remove(0);
    end(&store, &first.id, TaskState::Failed).await;
    let failed_at = types::now_ms();
    agents
        .until(&store, "replacement", |_| running(&store, &id).len() == 1)
        .await;
    let second = running(&store, &id).remove(0);
    assert_eq!(second.slot, first.slot);
    assert!(
        second.meta.created_at_ms - failed_at >= 290,
        "restarted {} ms after the failure, before the 300 ms delay",
        second.meta.created_at_ms - failed_at
    );

    end(&store, &second.id, TaskState::Complete).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        tasks(&store, &id).len(),
        2,
        "a completed task is not restarted"
    );
    o.stop().await;
}

#[tokio::test]
async fn any_with_max_attempts_gives_up() {
    let store = new_store(&["a"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = one_running(&store, &agents, |s| {
        s.task.restart.condition = RestartCondition::Any;
        s.task.restart.max_attempts = 2;
    })
    .await;
    // The first run and two restarts, each ending (once cleanly, then failing).
    for (n, state) in [TaskState::Complete, TaskState::Failed, TaskState::Failed]
        .into_iter()
        .enumerate()
    {
        agents
            .until(&store, "a running task", |_| {
                running(&store, &id).len() == 1
            })
            .await;
        assert_eq!(tasks(&store, &id).len(), n + 1);
        let t = running(&store, &id).remove(0);
        end(&store, &t.id, state).await;
    }
    agents
        .until(&store, "all shut down", |_| {
            runnable(&store, &id).is_empty()
        })
        .await;
    settle().await;
    assert_eq!(tasks(&store, &id).len(), 3, "two restarts, then no more");
    assert!(runnable(&store, &id).is_empty());
    o.stop().await;
}

#[tokio::test]
async fn reaper_keeps_five_tasks_per_slot() {
    let store = new_store(&["a"]).await;
    let mut crashing = Agents::default();
    crashing.fail.insert("crash:1".into());
    let o = start(&store);
    let mut s = spec("crash", ServiceMode::Replicated { replicas: 2 });
    s.task.container.image = "crash:1".into();
    let id = create_service(&store, s).await;
    // Restarting forever with no delay: far more than five runs per slot.
    let mut seen = BTreeSet::new();
    let mut worst = 0;
    while seen.len() < 30 {
        crashing.step(&store).await;
        store.view(|t| {
            seen.extend(t.tasks_of_service(&id).map(|x| x.id.clone()));
            for slot in [1, 2] {
                worst = worst.max(t.tasks_of_service(&id).filter(|x| x.slot == slot).count());
            }
        });
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // A just-ended run may be counted before the reaper's next pass.
    assert!(worst <= 7, "a slot kept {worst} tasks");

    // Once the image is fixed, each slot keeps its running task and four ended ones.
    Agents::default()
        .until(&store, "history capped at 5", |t| {
            [1, 2].iter().all(|s| {
                let slot: Vec<&Task> = t.tasks_of_service(&id).filter(|x| x.slot == *s).collect();
                slot.len() == 5 && slot.iter().any(|x| x.status.state == TaskState::Running)
            })
        })
        .await;
    o.stop().await;
}
