//! Three managers in one process over real gRPC on 127.0.0.1: replication, failover,
//! restart, loss of quorum, membership.

mod common;

use std::time::Duration;

use common::{bind, cluster3, create, wait_for_leader, wait_visible, Manager};
use store::raft::Reachability;
use store::StoreError;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn write_on_follower_is_visible_on_all() {
    let root = tempfile::tempdir().unwrap();
    let managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    let follower = &managers[(leader + 1) % 3];
    assert!(!follower.node.is_leader());

    create(&follower.store, "n1").await.unwrap();
    // Read-your-writes on the manager that took the write.
    assert!(follower.memory.view(|t| t.nodes.contains_key("n1")));
    for m in &managers {
        wait_visible(&m.memory, "n1", Duration::from_secs(2)).await;
    }
    // A failed check travels back from the leader as the write's answer.
    let dup = create(&follower.store, "n1").await.unwrap_err();
    assert!(matches!(dup, StoreError::AlreadyExists { .. }), "{dup}");

    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_loss_elects_a_new_leader_that_accepts_writes_within_2s() {
    let root = tempfile::tempdir().unwrap();
    let mut managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    create(&managers[0].store, "before").await.unwrap();
    let old = managers.remove(leader);
    let old_id = old.id;
    let mut watch = managers[0].node.leadership();

    let killed = Instant::now();
    old.kill().await;
    // Writes on a survivor keep retrying while the election runs.
    create(&managers[0].store, "after").await.unwrap();
    let elapsed = killed.elapsed();
    assert!(
        elapsed <= Duration::from_secs(2),
        "write accepted after {elapsed:?}"
    );

    let new = wait_for_leader(&managers, Duration::from_secs(2)).await;
    assert_ne!(managers[new].id, old_id);
    wait_visible(&managers[1].memory, "after", Duration::from_secs(2)).await;
    // The leadership watch saw the change.
    let seen = watch.borrow_and_update().clone();
    assert_eq!(seen.leader.map(|l| l.0), Some(managers[new].id));
    assert_eq!(seen.is_self, new == 0);

    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restart_of_all_managers_keeps_the_state() {
    let root = tempfile::tempdir().unwrap();
    let managers = cluster3(root.path(), |_| {}).await;
    for i in 0..20 {
        create(&managers[i % 3].store, &format!("n{i}"))
            .await
            .unwrap();
    }
    let configs: Vec<_> = managers.iter().map(|m| m.node.config().clone()).collect();
    let before = managers[0].memory.view(|t| t.clone());
    for m in managers {
        m.kill().await;
    }

    let mut managers = Vec::new();
    for c in configs {
        let listener = bind(&c.addr).await;
        managers.push(Manager::start(c, listener).await);
    }
    wait_for_leader(&managers, Duration::from_secs(5)).await;
    for m in &managers {
        wait_visible(&m.memory, "n19", Duration::from_secs(3)).await;
        assert_eq!(m.memory.view(|t| t.clone()), before, "manager {}", m.id);
    }
    create(&managers[2].store, "after-restart").await.unwrap();
    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_manager_cannot_commit() {
    let root = tempfile::tempdir().unwrap();
    let mut managers = cluster3(root.path(), |c| {
        c.write_timeout = Duration::from_millis(1500);
    })
    .await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    create(&managers[leader].store, "before").await.unwrap();
    // Keep the leader, which would commit locally if anything could.
    let alone = managers.remove(leader);
    for m in managers {
        m.kill().await;
    }
    let before = alone.memory.view(|t| t.clone());

    let err = create(&alone.store, "lost").await.unwrap_err();
    assert!(matches!(err, StoreError::NoLeader(_)), "{err}");
    assert_eq!(alone.memory.view(|t| t.clone()), before, "state unchanged");
    // Its own view shows the others gone.
    let members = alone.node.members().await;
    assert_eq!(members.len(), 3);
    for m in members.iter().filter(|m| m.id != alone.id) {
        assert_eq!(m.reachability, Reachability::Unreachable, "{m:?}");
    }
    alone.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_show_reachability_and_a_down_manager_can_be_removed() {
    let root = tempfile::tempdir().unwrap();
    let mut managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    let follower = (leader + 1) % 3;

    let members = managers[follower].node.members().await;
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.voter));
    assert_eq!(members.iter().filter(|m| m.leader).count(), 1);
    assert!(
        members
            .iter()
            .all(|m| m.reachability == Reachability::Reachable),
        "{members:?}"
    );

    // Take down a follower; the leader notices, and removing it works from any manager.
    let down_index = (leader + 2) % 3;
    let down = managers.remove(down_index);
    let down_id = down.id;
    down.kill().await;
    let asker = managers
        .iter()
        .position(|m| !m.node.is_leader())
        .unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let members = managers[asker].node.members().await;
        let m = members.iter().find(|m| m.id == down_id).unwrap();
        if m.reachability == Reachability::Unreachable {
            break;
        }
        assert!(Instant::now() < deadline, "down manager still {m:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    managers[asker].node.remove_node(down_id).await.unwrap();
    let members = managers[0].node.members().await;
    assert_eq!(
        members
            .iter()
            .map(|m| m.id)
            .filter(|id| *id == down_id)
            .count(),
        0
    );
    // Two voters left, both needed for a quorum, both up: writes still commit.
    create(&managers[asker].store, "after-remove")
        .await
        .unwrap();
    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_manager_added_late_catches_up_by_snapshot() {
    let root = tempfile::tempdir().unwrap();
    let small_snapshots = |c: &mut store::RaftConfig| {
        c.snapshot_interval = 20;
        c.logs_kept_after_snapshot = 0;
        c.replication_lag_threshold = 40;
    };
    let mut managers = cluster3(root.path(), small_snapshots).await;
    for i in 0..200 {
        create(&managers[0].store, &format!("n{i}")).await.unwrap();
    }
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    // The leader's log no longer starts at 1: a newcomer cannot be fed from the log alone.
    let purged = managers[leader].node.metrics().borrow().purged;
    assert!(
        purged.is_some_and(|p| p.index > 100),
        "leader purged {purged:?}"
    );

    let listener = bind("127.0.0.1:0").await;
    let addr = listener.local_addr().unwrap().to_string();
    let mut c = common::config(4, &addr, &root.path().join("m4"));
    small_snapshots(&mut c);
    let late = Manager::start(c, listener).await;
    // Added through a follower, which forwards to the leader.
    let via = (leader + 1) % 3;
    managers[via].node.add_voter(4, addr).await.unwrap();

    wait_visible(&late.memory, "n199", Duration::from_secs(5)).await;
    let snapshot = late.node.metrics().borrow().snapshot;
    assert!(
        snapshot.is_some_and(|s| s.index > 100),
        "newcomer holds snapshot {snapshot:?}"
    );
    assert_eq!(
        late.memory.view(|t| t.clone()),
        managers[leader].memory.view(|t| t.clone())
    );
    assert_eq!(
        late.node.members().await.iter().filter(|m| m.voter).count(),
        4
    );
    managers.push(late);
    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_log_entries() {
    let root = tempfile::tempdir().unwrap();
    let managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    let before = managers[leader]
        .node
        .metrics()
        .borrow()
        .last_log_index
        .unwrap();

    let writes: Vec<_> = (0..200)
        .map(|i| {
            let store = managers[i % 3].store.clone();
            tokio::spawn(async move { create(&store, &format!("c{i}")).await })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let after = managers[leader]
        .node
        .metrics()
        .borrow()
        .last_log_index
        .unwrap();
    assert!(
        after - before < 200,
        "200 concurrent writes took {} log entries",
        after - before
    );
    // The writes committed in no set order: c199 applied says nothing of the others.
    for m in &managers {
        for i in 0..200 {
            wait_visible(&m.memory, &format!("c{i}"), Duration::from_secs(2)).await;
        }
        assert_eq!(m.memory.view(|t| t.nodes.len()), 200);
    }
    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adding_an_unreachable_manager_times_out_and_keeps_the_quorum() {
    let root = tempfile::tempdir().unwrap();
    let listener = bind("127.0.0.1:0").await;
    let addr = listener.local_addr().unwrap().to_string();
    let mut c = common::config(1, &addr, &root.path().join("m1"));
    c.catch_up_timeout = Duration::from_secs(1);
    let m = Manager::start(c, listener).await;
    m.node.initialize_single().await.unwrap();
    wait_for_leader(std::slice::from_ref(&m), Duration::from_secs(5)).await;
    // Nothing listens there any more.
    let dead = bind("127.0.0.1:0").await;
    let dead_addr = dead.local_addr().unwrap().to_string();
    drop(dead);

    let err = m.node.add_voter(9, dead_addr).await.unwrap_err();
    assert!(
        matches!(err, store::RaftNodeError::CatchUpTimeout { id: 9, .. }),
        "{err}"
    );
    // It stays a learner, outside the quorum: this manager alone still commits.
    create(&m.store, "still-writable").await.unwrap();
    let members = m.node.members().await;
    let nine = members.iter().find(|x| x.id == 9).expect("learner listed");
    assert!(!nine.voter);
    m.kill().await;
}
