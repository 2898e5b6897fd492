//! A leader giving up leadership (what the manager does when its components keep failing):
//! another manager takes over, and the old leader can be made a voter again.

mod common;

use std::time::Duration;

use common::{bind, cluster3, config, create, wait_for_leader, wait_visible, Manager};
use store::raft::{RaftNodeError, Reachability};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_that_steps_down_is_replaced_and_can_vote_again() {
    let root = tempfile::tempdir().unwrap();
    let mut managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    let old = managers.remove(leader);
    // The leader hears from both followers before it may leave.
    wait_reachable(&old).await;

    old.node.step_down().await.unwrap();
    // openraft steps down on its next tick after the change is applied.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while old.node.is_leader() {
        assert!(tokio::time::Instant::now() < deadline, "still leads");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The others elect one of them; the old leader is out of the group.
    let new = &managers[wait_for_leader(&managers, Duration::from_secs(5)).await];
    let members = new.node.members().await;
    assert!(
        members.iter().all(|m| m.id != old.id),
        "the old leader left the group: {members:?}"
    );
    create(&new.store, "after-step-down").await.unwrap();

    // What the next leader's role manager does for a manager that is not a voter; the old
    // leader then catches up on what it missed.
    new.node.add_voter(old.id, old.addr.clone()).await.unwrap();
    let members = new.node.members().await;
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.voter), "{members:?}");
    wait_visible(&old.memory, "after-step-down", Duration::from_secs(3)).await;
    managers.push(old);
    for m in managers {
        m.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_only_manager_refuses_to_step_down() {
    let root = tempfile::tempdir().unwrap();
    let listener = bind("127.0.0.1:0").await;
    let addr = listener.local_addr().unwrap().to_string();
    let alone = Manager::start(config(1, &addr, &root.path().join("m1")), listener).await;
    alone.node.initialize_single().await.unwrap();
    wait_for_leader(std::slice::from_ref(&alone), Duration::from_secs(5)).await;

    let err = alone.node.step_down().await.unwrap_err();
    assert!(
        matches!(&err, RaftNodeError::StepDownRefused(why) if why.contains("only manager")),
        "{err}"
    );
    assert!(alone.node.is_leader(), "still leads");
    alone.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_does_not_step_down_when_the_others_would_lose_the_quorum() {
    let root = tempfile::tempdir().unwrap();
    let mut managers = cluster3(root.path(), |_| {}).await;
    let leader = wait_for_leader(&managers, Duration::from_secs(5)).await;
    let down = managers.remove((leader + 1) % 3);
    let down_id = down.id;
    down.kill().await;
    let leader = managers
        .iter()
        .position(|m| m.node.is_leader())
        .expect("the leader kept its quorum");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while managers[leader]
        .node
        .members()
        .await
        .iter()
        .any(|m| m.id == down_id && m.reachability == Reachability::Reachable)
    {
        assert!(tokio::time::Instant::now() < deadline, "still reachable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let err = managers[leader].node.step_down().await.unwrap_err();
    assert!(
        matches!(&err, RaftNodeError::StepDownRefused(why) if why.contains("unreachable")),
        "{err}"
    );
    assert!(managers[leader].node.is_leader(), "still leads");
    for m in managers {
        m.kill().await;
    }
}

/// Waits until `m` (the leader) reaches every other manager.
async fn wait_reachable(m: &Manager) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let members = m.node.members().await;
        if members
            .iter()
            .all(|x| x.reachability == Reachability::Reachable)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "peers not reachable: {members:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
