//! Benchmark: 20 sleeper tasks prepared and started through the executor, in parallel, on a
//! private engine; prints the time until all 20 containers run, then the teardown time.
//!
//!     cargo run --release -p docker --example create20    (root; starts its own dockerd)

use agent::executor::{ContainerRun, Executor};
use docker::harness::PrivateDockerd;
use docker::DockerExecutor;
use futures::future::try_join_all;
use std::time::Instant;
use types::{ContainerSpec, Task, TaskSpec};

const TASKS: u64 = 20;
const ROUNDS: usize = 3;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let begun = Instant::now();
    let engine = PrivateDockerd::start()?;
    let engine_up = begun.elapsed();
    engine.build_images()?;
    let images_built = begun.elapsed() - engine_up;
    println!("private dockerd up in {engine_up:.2?}, images built in {images_built:.2?}");

    let exec = DockerExecutor::connect(engine.host(), "bench-node").await?;
    for round in 1..=ROUNDS {
        let tasks: Vec<Task> = (1..=TASKS).map(|slot| sleeper(round, slot)).collect();
        let begun = Instant::now();
        try_join_all(tasks.iter().map(|task| async {
            exec.prepare(task).await?;
            exec.start(&task.id).await
        }))
        .await?;
        let started = begun.elapsed();
        // Confirm from the engine's side that every container is running.
        let running = exec
            .list()
            .await?
            .iter()
            .filter(|status| status.run == ContainerRun::Running)
            .count();
        assert_eq!(running as u64, TASKS, "not all containers are running");
        let confirmed = begun.elapsed();
        let dockerd_rss = rss_kib(engine.pid());

        let begun = Instant::now();
        try_join_all(tasks.iter().map(|task| async {
            exec.stop(&task.id, 10_000).await?;
            exec.remove(&task.id).await
        }))
        .await?;
        let torn_down = begun.elapsed();
        println!(
            "round {round}: {TASKS} containers prepared+started in {started:.2?}, \
             all RUNNING confirmed at {confirmed:.2?}; dockerd RSS {} MiB; \
             stop+remove all in {torn_down:.2?}",
            dockerd_rss / 1024
        );
    }
    Ok(())
}

fn sleeper(round: usize, slot: u64) -> Task {
    Task {
        id: format!("bench{round}x{slot}{}", std::process::id()),
        service_id: "bench".into(),
        service_name: "bench".into(),
        slot,
        node_id: "bench-node".into(),
        spec: TaskSpec {
            container: ContainerSpec {
                image: "swarmd/sleeper:latest".into(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Resident memory of a process, from /proc (0 if it is gone).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
