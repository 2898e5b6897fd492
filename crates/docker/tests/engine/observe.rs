//! What the agent learns about running tasks: logs, health, the engine itself.

use agent::executor::{ContainerRun, Executor, LogOptions, LogStream};
use futures::StreamExt;
use std::time::Duration;
use types::{HealthCheck, HealthState};

use crate::support::{docker_cli, engine, executor, shell_task, unique, wait_for};

#[tokio::test]
async fn logs_arrive_as_lines_with_stream_and_time() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let talker = shell_task("talk", &node, "echo out-1; echo err-1 >&2; echo out-2");
    let begun = types::now_ms();
    exec.prepare(&talker).await.unwrap();
    exec.start(&talker.id).await.unwrap();
    wait_for("the talker to exit", Duration::from_secs(10), || async {
        let status = exec.inspect(&talker.id).await.unwrap().unwrap();
        (status.run == ContainerRun::Exited(0)).then_some(())
    })
    .await;
    let ended = types::now_ms();

    let all = LogOptions {
        follow: false,
        tail: None,
    };
    let lines: Vec<_> = exec
        .logs(&talker.id, all)
        .map(Result::unwrap)
        .collect()
        .await;
    let mut seen: Vec<(LogStream, String)> = lines
        .iter()
        .map(|l| (l.stream, String::from_utf8_lossy(&l.line).into_owned()))
        .collect();
    // stdout and stderr are separate pipes: only each stream's own order is guaranteed.
    seen.sort_by_key(|(stream, line)| (*stream == LogStream::Stderr, line.clone()));
    assert_eq!(
        seen,
        vec![
            (LogStream::Stdout, "out-1".to_string()),
            (LogStream::Stdout, "out-2".to_string()),
            (LogStream::Stderr, "err-1".to_string()),
        ]
    );
    for line in &lines {
        assert!(
            (begun - 1_000..=ended + 1_000).contains(&line.timestamp_ms),
            "{} outside {begun}..{ended}",
            line.timestamp_ms
        );
    }

    let last = LogOptions {
        follow: false,
        tail: Some(1),
    };
    let tail: Vec<_> = exec
        .logs(&talker.id, last)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(tail.len(), 1);
    exec.remove(&talker.id).await.unwrap();
    // A task without a container has no logs.
    assert_eq!(exec.logs(&talker.id, all).count().await, 0);
}

#[tokio::test]
async fn following_logs_delivers_lines_as_they_are_written() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let ticker = shell_task(
        "tick",
        &node,
        "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done",
    );
    exec.prepare(&ticker).await.unwrap();
    exec.start(&ticker.id).await.unwrap();
    let follow = LogOptions {
        follow: true,
        tail: Some(0),
    };
    let mut lines = exec.logs(&ticker.id, follow);
    let mut numbers = Vec::new();
    while numbers.len() < 3 {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next())
            .await
            .expect("a line within 10 s")
            .expect("the stream follows")
            .unwrap();
        let text = String::from_utf8(line.line).unwrap();
        numbers.push(text.strip_prefix("tick-").unwrap().parse::<u32>().unwrap());
    }
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    drop(lines);
    exec.remove(&ticker.id).await.unwrap();
}

#[tokio::test]
async fn health_moves_from_starting_to_healthy_to_unhealthy() {
    let Some(engine) = engine() else { return };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let mut changes = exec.changes();
    let mut patient = shell_task(
        "patient",
        &node,
        "trap 'exit 0' TERM; while :; do sleep 1; done",
    );
    patient.spec.container.healthcheck = Some(HealthCheck {
        test: vec!["CMD-SHELL".into(), "test ! -e /tmp/sick".into()],
        interval_ms: 200,
        timeout_ms: 2_000,
        retries: 1,
        start_period_ms: 0,
    });
    exec.prepare(&patient).await.unwrap();
    exec.start(&patient.id).await.unwrap();
    let health = |wanted: HealthState| {
        let exec = &exec;
        let id = patient.id.clone();
        async move {
            let status = exec.inspect(&id).await.unwrap().unwrap();
            (status.health == wanted).then_some(status)
        }
    };
    let healthy = wait_for("healthy", Duration::from_secs(20), || {
        health(HealthState::Healthy)
    })
    .await;
    // start, then health_status: both name our task.
    for _ in 0..2 {
        let changed = tokio::time::timeout(Duration::from_secs(10), changes.next()).await;
        assert_eq!(changed.unwrap().as_deref(), Some(patient.id.as_str()));
    }

    docker_cli(
        &engine,
        &["exec", &healthy.container_id, "touch", "/tmp/sick"],
    );
    wait_for("unhealthy", Duration::from_secs(20), || {
        health(HealthState::Unhealthy)
    })
    .await;
    exec.remove(&patient.id).await.unwrap();
}

#[tokio::test]
async fn describe_reports_the_engine() {
    let Some(engine) = engine() else { return };
    let exec = executor(&engine, &unique("n")).await;
    let info = exec.describe().await.unwrap();
    assert_eq!(info.os, "linux");
    assert!(!info.arch.is_empty());
    assert!(!info.hostname.is_empty());
    assert!(info.resources.nano_cpus >= 1_000_000_000);
    assert!(info.resources.memory_bytes > 0);
    assert!(info.engine_version.contains('.'), "{}", info.engine_version);
}
