//! What a restarted swarmd finds: its node's containers, still running, and nobody else's.

use agent::executor::{ContainerRun, Executor};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptions;
use std::collections::BTreeMap;

use crate::support::{engine, executor, raw_client, task, unique};

#[tokio::test]
async fn list_finds_this_nodes_containers_only() {
    let Some(engine) = engine() else { return };
    let (node_a, node_b) = (unique("n"), unique("n"));
    let (exec_a, exec_b) = (
        executor(&engine, &node_a).await,
        executor(&engine, &node_b).await,
    );
    let mine = task("mine", 1, &node_a, "swarmd/sleeper:latest");
    let stopped = task("mine", 2, &node_a, "swarmd/sleeper:latest");
    let theirs = task("theirs", 1, &node_b, "swarmd/sleeper:latest");
    exec_a.prepare(&mine).await.unwrap();
    exec_a.start(&mine.id).await.unwrap();
    exec_a.prepare(&stopped).await.unwrap();
    exec_b.prepare(&theirs).await.unwrap();
    // A container swarmd did not create, not even labelled.
    let raw = raw_client(&engine).await;
    let foreign_name = unique("sw-dk-foreign-");
    raw.create_container(
        Some(CreateContainerOptions {
            name: Some(foreign_name.clone()),
            ..Default::default()
        }),
        ContainerCreateBody {
            image: Some("swarmd/sleeper:latest".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let listed: BTreeMap<String, ContainerRun> = exec_a
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|status| (status.task_id, status.run))
        .collect();
    assert_eq!(
        listed,
        BTreeMap::from([
            (mine.id.clone(), ContainerRun::Running),
            (stopped.id.clone(), ContainerRun::Created),
        ])
    );
    let listed_b: Vec<String> = exec_b
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.task_id)
        .collect();
    assert_eq!(listed_b, vec![theirs.id.clone()]);
    // Another node's task is not this executor's to see.
    assert_eq!(exec_a.inspect(&theirs.id).await.unwrap(), None);

    for id in [&mine.id, &stopped.id] {
        exec_a.remove(id).await.unwrap();
    }
    exec_b.remove(&theirs.id).await.unwrap();
    raw.remove_container(&foreign_name, None).await.unwrap();
}

#[tokio::test]
async fn a_restarted_executor_adopts_the_running_containers() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let tasks = [
        task("keep", 1, &node, "swarmd/sleeper:latest"),
        task("keep", 2, &node, "swarmd/whoami:latest"),
    ];
    let before = {
        let first = executor(&engine, &node).await;
        for t in &tasks {
            first.prepare(t).await.unwrap();
            first.start(&t.id).await.unwrap();
        }
        let mut before = first.list().await.unwrap();
        before.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        before
        // `first` is dropped here, like the swarmd process that owned it.
    };
    assert_eq!(before.len(), 2);

    let second = executor(&engine, &node).await;
    let mut after = second.list().await.unwrap();
    after.sort_by(|a, b| a.task_id.cmp(&b.task_id));
    // Same containers, same processes: nothing was restarted.
    assert_eq!(after, before);
    assert!(after
        .iter()
        .all(|s| s.run == ContainerRun::Running && s.pid > 0));
    for t in &tasks {
        let inspected = second.inspect(&t.id).await.unwrap().unwrap();
        assert!(after.contains(&inspected));
        // Re-driving the task through prepare and start reuses the container.
        second.prepare(t).await.unwrap();
        second.start(&t.id).await.unwrap();
        assert_eq!(second.inspect(&t.id).await.unwrap().unwrap(), inspected);
    }
    for t in &tasks {
        second.remove(&t.id).await.unwrap();
    }
    assert!(second.list().await.unwrap().is_empty());
}
