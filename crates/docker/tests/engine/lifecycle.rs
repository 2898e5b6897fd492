//! Create, start, kill, stop, remove: one task's container through its life.

use agent::executor::{ContainerRun, ExecError, Executor};
use bollard::models::RestartPolicyNameEnum;
use docker::harness::PrivateDockerd;
use docker::labels;
use futures::StreamExt;
use std::time::{Duration, Instant};

use crate::support::{
    docker_cli, engine, executor, raw_client, shell_task, task, unique, wait_for,
};

#[tokio::test]
async fn task_runs_with_its_labels_and_limits() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let mut web = task("web", 2, &node, "swarmd/whoami:latest");
    web.spec.container.env = vec!["PORT=8080".into()];
    web.spec
        .container
        .labels
        .insert("team".into(), "blue".into());
    web.spec.resources.limits.memory_bytes = 64 << 20;
    web.spec.resources.limits.nano_cpus = 250_000_000;
    web.spec.resources.pids_limit = 50;
    web.spec.container.stop_grace_period_ms = 3_000;

    exec.prepare(&web).await.unwrap();
    let created = exec.inspect(&web.id).await.unwrap().unwrap();
    assert_eq!(created.run, ContainerRun::Created);
    exec.start(&web.id).await.unwrap();
    // Idempotent: a second prepare and start keep the same container.
    exec.prepare(&web).await.unwrap();
    exec.start(&web.id).await.unwrap();
    let running = exec.inspect(&web.id).await.unwrap().unwrap();
    assert_eq!(running.run, ContainerRun::Running);
    assert_eq!(running.container_id, created.container_id);
    assert_eq!(running.task_id, web.id);
    assert!(running.pid > 0);

    let raw = raw_client(&engine)
        .await
        .inspect_container(&running.container_id, None)
        .await
        .unwrap();
    assert_eq!(
        raw.name.as_deref(),
        Some(format!("/web.2.{}", web.id).as_str())
    );
    let config = raw.config.unwrap();
    let container_labels = config.labels.unwrap();
    assert_eq!(container_labels[labels::TASK_ID], web.id);
    assert_eq!(container_labels[labels::NODE_ID], node);
    assert_eq!(container_labels[labels::SERVICE_NAME], "web");
    assert_eq!(container_labels[labels::SERVICE_ID], "web-id");
    assert_eq!(container_labels[labels::TASK_SLOT], "2");
    assert_eq!(container_labels["team"], "blue");
    assert!(config.env.unwrap().contains(&"PORT=8080".to_string()));
    assert_eq!(config.hostname.as_deref(), Some("web.2"));
    assert_eq!(config.stop_timeout, Some(3));
    let host = raw.host_config.unwrap();
    assert_eq!(host.memory, Some(64 << 20));
    assert_eq!(host.nano_cpus, Some(250_000_000));
    assert_eq!(host.pids_limit, Some(50));
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(
        host.restart_policy.unwrap().name,
        Some(RestartPolicyNameEnum::NO)
    );
    // The limits are the kernel's, not just Docker's bookkeeping.
    let cgroup_limit = docker_cli(
        &engine,
        &[
            "exec",
            &running.container_id,
            "sh",
            "-c",
            // cgroup v1 (the project's machines), else v2.
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null \
             || cat /sys/fs/cgroup/memory.max",
        ],
    );
    assert_eq!(cgroup_limit.trim(), (64u64 << 20).to_string());

    exec.remove(&web.id).await.unwrap();
}

#[tokio::test]
async fn a_killed_container_exits_with_its_code_and_is_reported() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let mut changes = exec.changes();
    let victim = task("kill", 1, &node, "swarmd/sleeper:latest");
    exec.prepare(&victim).await.unwrap();
    exec.start(&victim.id).await.unwrap();
    let started = tokio::time::timeout(Duration::from_secs(10), changes.next()).await;
    assert_eq!(started.unwrap().as_deref(), Some(victim.id.as_str()));

    let container = exec
        .inspect(&victim.id)
        .await
        .unwrap()
        .unwrap()
        .container_id;
    docker_cli(&engine, &["kill", &container]);
    let died = tokio::time::timeout(Duration::from_secs(10), changes.next()).await;
    assert_eq!(died.unwrap().as_deref(), Some(victim.id.as_str()));
    let status = exec.inspect(&victim.id).await.unwrap().unwrap();
    assert_eq!(status.run, ContainerRun::Exited(137));
    assert_eq!(status.pid, 0);

    // A task's own exit code comes through as is.
    let failing = shell_task("fail", &node, "exit 3");
    exec.prepare(&failing).await.unwrap();
    exec.start(&failing.id).await.unwrap();
    wait_for("exit 3", Duration::from_secs(10), || async {
        let status = exec.inspect(&failing.id).await.unwrap().unwrap();
        (status.run == ContainerRun::Exited(3)).then_some(())
    })
    .await;
    for id in [&victim.id, &failing.id] {
        exec.remove(id).await.unwrap();
    }
}

#[tokio::test]
async fn a_task_that_cannot_run_is_rejected_with_dockers_reason() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;

    let missing = task("ghost", 1, &node, "sw-dk-no-such-image");
    match exec.prepare(&missing).await {
        Err(ExecError::Rejected(reason)) => {
            assert!(
                reason.starts_with("No such image: sw-dk-no-such-image:latest"),
                "{reason}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(exec.inspect(&missing.id).await.unwrap(), None);

    let mut bad_command = task("badcmd", 1, &node, "swarmd/sleeper:latest");
    bad_command.spec.container.command = vec!["/no/such/program".into()];
    exec.prepare(&bad_command).await.unwrap();
    match exec.start(&bad_command.id).await {
        Err(ExecError::Rejected(reason)) => {
            assert!(reason.contains("/no/such/program"), "{reason}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let status = exec.inspect(&bad_command.id).await.unwrap().unwrap();
    assert!(matches!(status.run, ContainerRun::Exited(code) if code != 0));
    assert!(
        status.error.contains("/no/such/program"),
        "{}",
        status.error
    );
    exec.remove(&bad_command.id).await.unwrap();
}

#[tokio::test]
async fn stop_waits_the_grace_period_then_kills_and_remove_cleans_up() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;

    // The sleeper traps SIGTERM and exits 0 at once.
    let polite = task("polite", 1, &node, "swarmd/sleeper:latest");
    // This one ignores SIGTERM: only SIGKILL after the grace period ends it.
    let stubborn = shell_task("stubborn", &node, "trap '' TERM; while :; do sleep 1; done");
    for t in [&polite, &stubborn] {
        exec.prepare(t).await.unwrap();
        exec.start(&t.id).await.unwrap();
    }

    let begun = Instant::now();
    exec.stop(&polite.id, 10_000).await.unwrap();
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
    let status = exec.inspect(&polite.id).await.unwrap().unwrap();
    assert_eq!(status.run, ContainerRun::Exited(0));

    let begun = Instant::now();
    exec.stop(&stubborn.id, 1_000).await.unwrap();
    let took = begun.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let status = exec.inspect(&stubborn.id).await.unwrap().unwrap();
    assert_eq!(status.run, ContainerRun::Exited(137));
    // Stopping a stopped container is fine.
    exec.stop(&stubborn.id, 1_000).await.unwrap();

    for t in [&polite, &stubborn] {
        let container = exec.inspect(&t.id).await.unwrap().unwrap().container_id;
        exec.remove(&t.id).await.unwrap();
        assert_eq!(exec.inspect(&t.id).await.unwrap(), None);
        let gone = raw_client(&engine)
            .await
            .inspect_container(&container, None)
            .await;
        assert!(gone.is_err(), "container {container} still exists");
        // Removing or stopping what is gone is fine too.
        exec.remove(&t.id).await.unwrap();
        exec.stop(&t.id, 0).await.unwrap();
    }
    // Starting a task without a container is the engine's problem to retry, not a rejection.
    assert!(matches!(
        exec.start(&polite.id).await,
        Err(ExecError::Engine(_))
    ));
}

#[tokio::test]
async fn a_lost_engine_is_an_engine_error_and_changes_keep_waiting() {
    // An engine of its own: this test stops it.
    let Some(engine) = PrivateDockerd::start_for_test() else {
        return;
    };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    exec.describe().await.unwrap();
    let mut changes = exec.changes();
    let orphan = task("orphan", 1, &node, "swarmd/sleeper:latest");
    drop(engine);

    assert!(matches!(
        exec.prepare(&orphan).await,
        Err(ExecError::Engine(_))
    ));
    assert!(matches!(
        exec.inspect(&orphan.id).await,
        Err(ExecError::Engine(_))
    ));
    assert!(matches!(exec.list().await, Err(ExecError::Engine(_))));
    assert!(matches!(exec.describe().await, Err(ExecError::Engine(_))));
    // The event stream does not end with the engine: it keeps trying to reconnect.
    let next = tokio::time::timeout(Duration::from_millis(800), changes.next()).await;
    assert!(
        next.is_err(),
        "the change stream ended or yielded: {next:?}"
    );
}
