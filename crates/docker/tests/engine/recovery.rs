//! Engines that go away and come back, and engines placed where the lab puts them.

use agent::executor::{ContainerRun, Executor};
use docker::harness::{DockerdOptions, PrivateDockerd};
use futures::StreamExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::{executor, task, unique, wait_for};

#[tokio::test]
async fn the_executor_and_its_change_stream_survive_an_engine_restart() {
    // An engine of its own: this test restarts it.
    let Some(mut engine) = PrivateDockerd::start_for_test() else {
        return;
    };
    let node = unique("n");
    let exec = executor(&engine, &node).await;
    let mut changes = exec.changes();
    let before = task("before", 1, &node, "swarmd/sleeper:latest");
    exec.prepare(&before).await.unwrap();
    exec.start(&before.id).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), changes.next()).await;
    assert_eq!(seen.unwrap().as_deref(), Some(before.id.as_str()));

    engine.restart().unwrap();

    // The same executor talks to the new engine: the container is still there, stopped by
    // the engine's shutdown.
    let status = exec.inspect(&before.id).await.unwrap().unwrap();
    assert!(matches!(status.run, ContainerRun::Exited(_)), "{status:?}");
    // And the change stream reconnected by itself.
    let after = task("after", 1, &node, "swarmd/sleeper:latest");
    exec.prepare(&after).await.unwrap();
    exec.start(&after.id).await.unwrap();
    let reconnected = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(task_id) = changes.next().await {
            if task_id == after.id {
                return;
            }
        }
        panic!("the change stream ended");
    })
    .await;
    assert!(
        reconnected.is_ok(),
        "no change for the new task after the restart"
    );
    for id in [&before.id, &after.id] {
        exec.remove(id).await.unwrap();
    }
}

/// A network namespace made for one test, deleted with it.
struct Netns(String);

impl Netns {
    fn create() -> Netns {
        let name = unique("sw-dk-ns");
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        Netns(name)
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[tokio::test]
async fn an_engine_runs_in_a_given_netns_with_its_labels() {
    if !nix::unistd::Uid::effective().is_root() && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("skipping: creating a network namespace needs root");
        return;
    }
    let netns = Netns::create();
    let options = DockerdOptions {
        netns: Some(netns.path()),
        extra_args: vec!["--label".into(), "zone=a".into()],
    };
    let Some(engine) = PrivateDockerd::start_for_test_with(options) else {
        return;
    };
    let dockerd_netns = std::fs::read_link(format!("/proc/{}/ns/net", engine.pid())).unwrap();
    let wanted = format!("net:[{}]", std::fs::metadata(netns.path()).unwrap().ino());
    assert_eq!(dockerd_netns.to_string_lossy(), wanted);

    let exec = executor(&engine, &unique("n")).await;
    let info = exec.describe().await.unwrap();
    assert_eq!(
        info.engine_labels.get("zone").map(String::as_str),
        Some("a")
    );
    // Containers run there too.
    let job = task("job", 1, exec.node_id(), "swarmd/sleeper:latest");
    exec.prepare(&job).await.unwrap();
    exec.start(&job.id).await.unwrap();
    wait_for("the job to run", Duration::from_secs(10), || async {
        let status = exec.inspect(&job.id).await.unwrap().unwrap();
        (status.run == ContainerRun::Running).then_some(())
    })
    .await;
    exec.remove(&job.id).await.unwrap();
    drop(engine);
}
