//! A state directory that cannot be used stops the node with an error naming the file,
//! never a panic, and leaves what it found untouched.

use std::sync::Arc;

use store::raft::{RaftConfig, RaftNode, RaftNodeError};
use store::MemoryStore;

async fn start(dir: &std::path::Path) -> Result<RaftNode, RaftNodeError> {
    RaftNode::start(
        RaftConfig::new(1, "127.0.0.1:1", dir),
        Arc::new(MemoryStore::new()),
    )
    .await
}

#[tokio::test]
async fn corrupted_database_is_refused_and_left_as_found() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("raft.redb");
    let garbage: Vec<u8> = (0..16_384u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&file, &garbage).unwrap();

    let err = start(dir.path())
        .await
        .err()
        .expect("corrupted state accepted");
    let msg = err.to_string();
    assert!(matches!(err, RaftNodeError::State { .. }), "{msg}");
    assert!(msg.contains("raft.redb"), "{msg}");
    assert_eq!(std::fs::read(&file).unwrap(), garbage, "file modified");
}

#[tokio::test]
async fn state_dir_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("state");
    std::fs::write(&not_a_dir, b"x").unwrap();

    let err = start(&not_a_dir)
        .await
        .err()
        .expect("file accepted as state dir");
    let msg = err.to_string();
    assert!(matches!(err, RaftNodeError::State { .. }), "{msg}");
    assert!(msg.contains("cannot create directory"), "{msg}");
}

#[tokio::test]
async fn state_dir_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path()).await.unwrap();
    let err = start(dir.path())
        .await
        .err()
        .expect("second node on the same dir");
    assert!(err.to_string().contains("already in use"), "{err}");
    first.shutdown().await.unwrap();
    // Released on shutdown: the directory can be used again.
    start(dir.path()).await.unwrap().shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_config_is_refused_before_touching_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let err = RaftNode::start(
        RaftConfig::new(0, "127.0.0.1:1", &state),
        Arc::new(MemoryStore::new()),
    )
    .await
    .err()
    .expect("id 0 accepted");
    assert!(matches!(err, RaftNodeError::Config(_)), "{err}");
    assert!(!state.exists());
}

#[tokio::test]
async fn second_initialize_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path()).await.unwrap();
    assert!(!node.is_initialized().await.unwrap());
    node.initialize_single().await.unwrap();
    assert!(node.is_initialized().await.unwrap());
    assert_eq!(
        node.initialize_single().await.unwrap_err(),
        RaftNodeError::AlreadyInitialized
    );
    node.shutdown().await.unwrap();
    // Idempotent.
    node.shutdown().await.unwrap();
}
