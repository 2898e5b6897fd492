//! Fault: kill -9 the Raft leader while two clients write continuously through the two
//! followers. Every write that was acknowledged must be present afterwards on both survivors;
//! the survivors must go on accepting writes. (No root: 3 `swarmd` processes on 127.0.0.1.)

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/managers.rs"]
mod managers;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use managers::{poll, swarmctl, Binaries, Managers};

/// How long the writers run; the leader dies a third of the way in.
const LOAD: Duration = Duration::from_secs(6);

#[test]
fn acknowledged_writes_survive_a_leader_kill() {
    let cluster = Managers::start(&Binaries::locate(), 3);
    let leader = cluster.leader_seen_by(0).expect("a leader");
    let followers: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let killed = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = followers
        .iter()
        .map(|&f| {
            let bins = cluster.bins.clone();
            let socket = cluster.managers[f].socket();
            let killed = killed.clone();
            std::thread::spawn(move || {
                // (name, acknowledged, written after the kill)
                let mut log: Vec<(String, bool, bool)> = Vec::new();
                let start = Instant::now();
                let mut i = 0;
                while start.elapsed() < LOAD {
                    let name = format!("w-{f}-{i}");
                    let after_kill = killed.load(Ordering::SeqCst);
                    let out = swarmctl(
                        &bins,
                        &socket,
                        &[
                            "service",
                            "create",
                            "--detach",
                            "-q",
                            "--name",
                            &name,
                            "--replicas",
                            "0",
                            "swarmd/sleeper",
                        ],
                        Duration::from_secs(5),
                    );
                    log.push((name, out.status.success(), after_kill));
                    i += 1;
                }
                log
            })
        })
        .collect();

    std::thread::sleep(LOAD / 3);
    let mut cluster = cluster;
    cluster.managers[leader].kill9();
    killed.store(true, Ordering::SeqCst);

    let log: Vec<(String, bool, bool)> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("writer thread"))
        .collect();
    let acked: BTreeSet<String> = log.iter().filter(|w| w.1).map(|w| w.0.clone()).collect();
    let acked_before = log.iter().filter(|w| w.1 && !w.2).count();
    let acked_after = log.iter().filter(|w| w.1 && w.2).count();
    eprintln!(
        "{} writes, {} acknowledged ({acked_before} before the kill, {acked_after} after)",
        log.len(),
        acked.len()
    );
    assert!(
        acked_before > 0,
        "no write was acknowledged before the kill"
    );
    assert!(
        acked_after > 0,
        "the survivors accepted no write after the leader died"
    );

    for &f in &followers {
        let mut missing = Vec::new();
        // A follower's local store applies a commit shortly after it is acknowledged.
        let complete = poll(Duration::from_secs(10), || {
            let names = service_names(&cluster, f);
            missing = acked
                .iter()
                .filter(|n| !names.contains(*n))
                .cloned()
                .collect();
            missing.is_empty()
        });
        assert!(
            complete,
            "{} acknowledged writes missing on {}: {missing:?}\n{}",
            missing.len(),
            cluster.managers[f].name,
            cluster.managers[f].log_tail(20)
        );
    }
}

fn service_names(cluster: &Managers, i: usize) -> BTreeSet<String> {
    let out = cluster.ctl(i, &["service", "ls", "--format", "json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["Name"].as_str().map(str::to_string))
        .collect()
}
