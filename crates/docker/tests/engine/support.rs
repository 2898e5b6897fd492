//! What every engine test needs: a private dockerd shared by the tests running at the same
//! time, tasks to run on it, and a way to wait for the engine to get somewhere.

use bollard::{Docker, API_DEFAULT_VERSION};
use docker::harness::PrivateDockerd;
use docker::DockerExecutor;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use types::{ContainerSpec, Task, TaskSpec};

/// The engine of the tests running now; the last test to finish stops it (a static that
/// owned it outright would never be dropped, leaving dockerd behind).
static SHARED: Mutex<Weak<PrivateDockerd>> = Mutex::new(Weak::new());

/// `None` only where the harness allows skipping (not root, not CI).
pub fn engine() -> Option<Arc<PrivateDockerd>> {
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(engine) = shared.upgrade() {
        return Some(engine);
    }
    let engine = Arc::new(PrivateDockerd::start_for_test()?);
    *shared = Arc::downgrade(&engine);
    Some(engine)
}

/// A node ID no other test uses, so that tests sharing an engine cannot see each other.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn executor(engine: &PrivateDockerd, node_id: &str) -> DockerExecutor {
    DockerExecutor::connect(engine.host(), node_id)
        .await
        .expect("connect to the private engine")
}

/// A client of our own, to check what the executor did without going through it.
pub async fn raw_client(engine: &PrivateDockerd) -> Docker {
    Docker::connect_with_socket(engine.host(), 30, API_DEFAULT_VERSION)
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

pub fn task(service: &str, slot: u64, node_id: &str, image: &str) -> Task {
    Task {
        id: unique("t"),
        service_id: format!("{service}-id"),
        service_name: service.to_string(),
        slot,
        node_id: node_id.to_string(),
        spec: TaskSpec {
            container: ContainerSpec {
                image: image.to_string(),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A task running `script` with busybox's shell.
pub fn shell_task(service: &str, node_id: &str, script: &str) -> Task {
    let mut task = task(service, 1, node_id, "swarmd/sleeper:latest");
    task.spec.container.command = vec!["/bin/sh".into(), "-c".into(), script.into()];
    task
}

/// Polls `probe` until it yields a value or `timeout` passes.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the `docker` CLI against the engine; panics with its stderr on failure.
pub fn docker_cli(engine: &PrivateDockerd, args: &[&str]) -> String {
    let output = engine.docker_cli().args(args).output().expect("run docker");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
