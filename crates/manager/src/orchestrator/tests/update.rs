use types::{FailureAction, ServiceMode, UpdateOrder, UpdateState};

use super::*;
use crate::orchestrator::slot::is_runnable;

fn image_of(store: &Store, id: &str) -> Vec<String> {
    runnable(store, id)
        .into_iter()
        .map(|t| t.spec.container.image)
        .collect()
}

fn update_state(store: &Store, id: &str) -> Option<UpdateState> {
    store.view(|t| t.services[id].update_status.as_ref().map(|u| u.state))
}

async fn three_running(store: &Store, agents: &Agents, f: impl Fn(&mut ServiceSpec)) -> String {
    let mut s = spec("web", ServiceMode::Replicated { replicas: 3 });
    f(&mut s);
    let id = create_service(store, s).await;
    agents
        .until(store, "3 running", |_| running(store, &id).len() == 3)
        .await;
    id
}

/// Counts running tasks (desired and observed) at every commit.
fn running_at_every_step(store: &Store, min: usize, max: usize) -> Recorder {
    Recorder::start(store, move |tasks| {
        let n = tasks
            .values()
            .filter(|t| is_runnable(t) && t.status.state == TaskState::Running)
            .count();
        (n < min || n > max).then(|| format!("{n} running"))
    })
}

#[tokio::test]
async fn parallelism_one_stop_first_replaces_one_task_at_a_time() {
    let store = new_store(&["a", "b", "c"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = three_running(&store, &agents, |s| s.update.parallelism = 1).await;
    let rec = running_at_every_step(&store, 2, 3);
    update_service(&store, &id, |s| s.task.container.image = "nginx:2".into()).await;
    agents
        .until(&store, "update completed", |_| {
            update_state(&store, &id) == Some(UpdateState::Completed)
        })
        .await;
    let v = rec.finish().await;
    assert!(v.is_empty(), "more than one task down at once: {v:?}");
    assert_eq!(image_of(&store, &id), vec!["nginx:2"; 3]);
    assert_eq!(running(&store, &id).len(), 3);
    o.stop().await;
}

#[tokio::test]
async fn start_first_never_drops_below_the_replica_count() {
    let store = new_store(&["a", "b", "c"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = three_running(&store, &agents, |s| {
        s.update.parallelism = 1;
        s.update.order = UpdateOrder::StartFirst;
    })
    .await;
    let rec = running_at_every_step(&store, 3, 4);
    update_service(&store, &id, |s| s.task.container.image = "nginx:2".into()).await;
    agents
        .until(&store, "update completed", |_| {
            update_state(&store, &id) == Some(UpdateState::Completed)
        })
        .await;
    let v = rec.finish().await;
    assert!(
        v.is_empty(),
        "start-first went outside 3..=4 running: {v:?}"
    );
    assert_eq!(image_of(&store, &id), vec!["nginx:2"; 3]);
    o.stop().await;
}

#[tokio::test]
async fn a_failing_update_pauses_and_leaves_old_tasks_running() {
    let store = new_store(&["a", "b", "c"]).await;
    let mut agents = Agents::default();
    agents.fail.insert("broken:1".into());
    let o = start(&store);
    let id = three_running(&store, &agents, |s| {
        s.update.failure_action = FailureAction::Pause;
        s.task.restart.delay_ms = 60_000;
    })
    .await;
    update_service(&store, &id, |s| s.task.container.image = "broken:1".into()).await;
    agents
        .until(&store, "update paused", |_| {
            update_state(&store, &id) == Some(UpdateState::Paused)
        })
        .await;
    for _ in 0..20 {
        agents.step(&store).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(update_state(&store, &id), Some(UpdateState::Paused));
    let old = running(&store, &id)
        .into_iter()
        .filter(|t| t.spec.container.image == "nginx:1")
        .count();
    assert_eq!(old, 2, "only the first batch was replaced");
    let msg = store.view(|t| t.services[&id].update_status.clone().unwrap().message);
    assert!(msg.starts_with("update paused due to failure"), "{msg}");

    // A new spec resumes the update.
    update_service(&store, &id, |s| s.task.container.image = "nginx:3".into()).await;
    agents
        .until(&store, "fixed update completed", |_| {
            update_state(&store, &id) == Some(UpdateState::Completed)
                && running(&store, &id).len() == 3
        })
        .await;
    assert_eq!(image_of(&store, &id), vec!["nginx:3"; 3]);
    o.stop().await;
}

#[tokio::test]
async fn failure_action_rollback_returns_to_the_previous_spec() {
    let store = new_store(&["a", "b", "c"]).await;
    let mut agents = Agents::default();
    agents.fail.insert("broken:1".into());
    let o = start(&store);
    let id = three_running(&store, &agents, |s| {
        s.update.failure_action = FailureAction::Rollback;
        s.update.parallelism = 2;
        s.task.restart.delay_ms = 60_000;
    })
    .await;
    let version = store.view(|t| t.services[&id].spec_version);
    update_service(&store, &id, |s| s.task.container.image = "broken:1".into()).await;
    agents
        .until(&store, "rollback completed", |_| {
            update_state(&store, &id) == Some(UpdateState::RollbackCompleted)
        })
        .await;
    let service = store.view(|t| t.services[&id].clone());
    assert_eq!(service.spec.task.container.image, "nginx:1");
    assert_eq!(
        service.previous_spec.unwrap().task.container.image,
        "broken:1"
    );
    assert_eq!(service.spec_version, version + 2);
    agents
        .until(&store, "3 running", |_| running(&store, &id).len() == 3)
        .await;
    assert_eq!(image_of(&store, &id), vec!["nginx:1"; 3]);
    o.stop().await;
}

#[tokio::test]
async fn a_rollback_requested_by_the_control_api_completes() {
    let store = new_store(&["a", "b"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = three_running(&store, &agents, |s| s.update.parallelism = 0).await;
    update_service(&store, &id, |s| s.task.container.image = "nginx:2".into()).await;
    agents
        .until(&store, "updated", |_| {
            update_state(&store, &id) == Some(UpdateState::Completed)
                && image_of(&store, &id) == vec!["nginx:2"; 3]
        })
        .await;
    // `service rollback`, as the control API writes it: the previous spec comes back under a
    // new version and the rollout is marked as a rollback.
    write(&store, |t, tx| {
        let mut s = t.services[&id].clone();
        let prev = s.previous_spec.take().unwrap();
        s.previous_spec = Some(std::mem::replace(&mut s.spec, prev));
        s.spec_version += 1;
        s.update_status = Some(types::UpdateStatus {
            state: UpdateState::RollbackStarted,
            started_at_ms: types::now_ms(),
            completed_at_ms: 0,
            message: "manually requested rollback".into(),
        });
        tx.update(Object::Service(s));
    })
    .await;
    agents
        .until(&store, "rolled back", |_| {
            image_of(&store, &id) == vec!["nginx:1"; 3]
                && running(&store, &id).len() == 3
                && update_state(&store, &id) == Some(UpdateState::RollbackCompleted)
        })
        .await;
    o.stop().await;
}

#[tokio::test]
async fn a_task_failing_after_its_monitor_window_does_not_pause_the_update() {
    let store = new_store(&["a", "b", "c"]).await;
    let agents = Agents::default();
    let o = start(&store);
    let id = three_running(&store, &agents, |s| {
        s.update.parallelism = 1;
        // Batches wait long after each window closes, so the update is still going when the
        // first new task fails.
        s.update.delay_ms = 1_000;
        s.update.monitor_ms = 30;
        s.update.failure_action = FailureAction::Pause;
    })
    .await;
    update_service(&store, &id, |s| s.task.container.image = "nginx:2".into()).await;
    agents
        .until(&store, "the first new task through its window", |t| {
            t.tasks_of_service(&id).any(|x| x.monitor_passed)
        })
        .await;
    write(&store, |t, tx| {
        let mut first = t
            .tasks_of_service(&id)
            .find(|x| x.monitor_passed)
            .expect("seen above")
            .clone();
        first.status.state = TaskState::Failed;
        first.status.timestamp_ms = types::now_ms();
        tx.update(Object::Task(first));
    })
    .await;
    assert!(
        image_of(&store, &id).contains(&"nginx:1".to_string()),
        "the failure came after the update, not during it"
    );
    agents
        .until(&store, "update completed", |_| {
            update_state(&store, &id) == Some(UpdateState::Completed)
                && image_of(&store, &id) == vec!["nginx:2"; 3]
        })
        .await;
    o.stop().await;
}
