//! Issue 12, a worker that stays down, on 1 manager + 2 workers created with
//! `--orphan-after 2s`: once it has been down that long its tasks are orphaned and reaped, and
//! when it comes back it is given none of them again.

use std::collections::BTreeSet;
use std::time::Duration;

use integration::{wait_until, Cluster};

const IMAGE: &str = "nginx";
const CONVERGE: Duration = Duration::from_secs(20);

#[test]
fn a_worker_down_past_the_orphan_grace_loses_its_tasks_and_comes_back_with_none() {
    let mut cluster = Cluster::start_with_flags(1, 2, &["--orphan-after".into(), "2s".into()]);
    let inspect = cluster.ctl(&["cluster", "inspect"]).expect_ok();
    assert!(
        inspect.stdout.contains("\"orphan_after_ms\": 2000"),
        "--orphan-after did not reach the cluster settings: {inspect}"
    );
    cluster.create_service("web", &["--replicas", "3", IMAGE]);
    let before = cluster.wait_running("web", 3, CONVERGE);
    assert!(
        before.iter().any(|t| t.node == "w1"),
        "nothing on w1: {before:?}"
    );
    let w1 = cluster.index("w1");
    cluster.nodes[w1].kill9();
    // Replaced elsewhere as soon as w1 is down; gone from the history too once orphaned (until
    // then it shows as w1 last reported it, running).
    wait_until("no task of web left on w1", CONVERGE, || {
        let tasks = cluster.service_ps("web")?;
        let running = tasks.iter().filter(|t| t.is_running()).count();
        if running == 3 && tasks.iter().all(|t| t.node != "w1") {
            Ok(())
        } else {
            Err(format!("{tasks:?}"))
        }
    });

    cluster.nodes[w1].restart();
    cluster.wait_joined(&["w1".to_string()]);
    // After the dust settles: each slot runs once, and nothing runs on w1.
    std::thread::sleep(Duration::from_secs(2));
    let tasks = cluster.service_ps("web").expect("service ps");
    let running: Vec<_> = tasks.iter().filter(|t| t.is_running()).collect();
    let slots: BTreeSet<&str> = running.iter().map(|t| t.slot()).collect();
    assert_eq!(running.len(), 3, "{tasks:?}");
    assert_eq!(slots.len(), 3, "a slot runs twice: {tasks:?}");
    assert!(tasks.iter().all(|t| t.node != "w1"), "{tasks:?}");
}
