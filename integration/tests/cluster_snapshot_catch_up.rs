//! Issue 2: a manager added after many writes catches up by snapshot. `m1` snapshots every 20
//! Raft entries and keeps 500 entries behind its latest snapshot (store's
//! `logs_kept_after_snapshot`), so the test writes well past that: 300 user writes, each of
//! which adds ~3-4 entries (the write, task creation, allocation, scheduling, batched status
//! reports): ~1000 entries. The log's head is then purged and `m2` can only be sent a snapshot.

use std::time::Duration;

use integration::{wait_until, Cluster, ClusterOptions};

const IMAGE: &str = "nginx";
const SERVICES: usize = 150;
const REPLICAS: usize = 2;

#[test]
fn a_manager_added_after_many_writes_catches_up_by_snapshot() {
    let mut cluster = Cluster::start_with(
        1,
        0,
        ClusterOptions {
            snapshot_interval: Some(20),
            ..ClusterOptions::default()
        },
    );
    // 150 creates + 150 scales = 300 user writes.
    for i in 0..SERVICES {
        let name = format!("s{i:02}");
        cluster.create_service(&name, &[IMAGE]);
    }
    for i in 0..SERVICES {
        let target = format!("s{i:02}={REPLICAS}");
        cluster
            .ctl(&["service", "scale", "-d", &target])
            .expect_ok();
    }
    // Every task running: the log now holds the entries of their whole lives.
    let full = format!("{REPLICAS}/{REPLICAS}");
    let mut expected = wait_until("every task to run", Duration::from_secs(60), || {
        let rows = cluster.service_ls_via(0)?;
        if rows.len() == SERVICES && rows.iter().all(|r| r.replicas == full) {
            Ok(rows
                .iter()
                .map(|r| format!("{} {}", r.name, r.replicas))
                .collect::<Vec<_>>())
        } else {
            Err(format!("{rows:?}"))
        }
    });
    expected.sort();

    let m2 = cluster.spawn_node("m2", true, &[("RUST_LOG", "info,openraft=info")]);
    cluster.wait_joined(&["m2".to_string()]);
    wait_until("m2 to hold every service", Duration::from_secs(15), || {
        let mut seen: Vec<String> = cluster
            .service_ls_via(m2)?
            .iter()
            .map(|r| format!("{} {}", r.name, r.replicas))
            .collect();
        seen.sort();
        if seen == expected {
            Ok(())
        } else {
            Err(format!("{} services: {seen:?}", seen.len()))
        }
    });
    let log = cluster.nodes[m2].log_text();
    let installed: Vec<String> = log
        .lines()
        .filter(|l| l.contains("install_full_snapshot: meta"))
        .map(|l| l.chars().take(240).collect())
        .collect();
    println!("m2 installed a snapshot:\n{}", installed.join("\n"));
    assert!(
        log.contains("install_full_snapshot"),
        "m2 caught up without installing a snapshot (no `install_full_snapshot` in its log)"
    );
}
