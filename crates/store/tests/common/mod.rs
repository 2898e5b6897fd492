//! In-process managers on 127.0.0.1 with real tonic servers, for the cluster tests.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use store::raft::{serve, RaftConfig, RaftNode};
use store::{MemoryStore, Object, Store, StoreAction, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Manager {
    pub node: Arc<RaftNode>,
    pub store: Store,
    pub memory: Arc<MemoryStore>,
    pub id: u64,
    pub addr: String,
    pub dir: PathBuf,
    stop_server: CancellationToken,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

pub fn config(id: u64, addr: &str, dir: &Path) -> RaftConfig {
    RaftConfig::new(id, addr, dir)
}

/// Binds `addr` (port 0 for any), retrying briefly: a just-closed listener may linger.
pub async fn bind(addr: &str) -> TcpListener {
    for _ in 0..50 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot bind {addr}");
}

impl Manager {
    /// Starts a manager whose server listens on `listener`.
    pub async fn start(config: RaftConfig, listener: TcpListener) -> Manager {
        let memory = Arc::new(MemoryStore::new());
        let node = Arc::new(
            RaftNode::start(config.clone(), memory.clone())
                .await
                .expect("start raft node"),
        );
        let stop_server = CancellationToken::new();
        let server = serve(listener, node.service(), stop_server.clone());
        Manager {
            store: node.store(),
            node,
            memory,
            id: config.id,
            addr: config.addr.clone(),
            dir: config.dir.clone(),
            stop_server,
            server,
        }
    }

    /// Stops Raft and the server, as a crash of the manager would for its peers.
    pub async fn kill(self) {
        self.node.shutdown().await.expect("shutdown");
        self.stop_server.cancel();
        self.server
            .await
            .expect("server task")
            .expect("server stopped cleanly");
    }
}

/// Three managers: 1 creates the cluster, 2 and 3 are added as voters.
pub async fn cluster3(root: &Path, tweak: impl Fn(&mut RaftConfig)) -> Vec<Manager> {
    let mut managers = Vec::new();
    for id in 1..=3u64 {
        let listener = bind("127.0.0.1:0").await;
        let addr = listener.local_addr().unwrap().to_string();
        let mut c = config(id, &addr, &root.join(format!("m{id}")));
        tweak(&mut c);
        managers.push(Manager::start(c, listener).await);
    }
    managers[0].node.initialize_single().await.unwrap();
    wait_for_leader(&managers[..1], Duration::from_secs(5)).await;
    for m in &managers[1..] {
        managers[0]
            .node
            .add_voter(m.id, m.addr.clone())
            .await
            .unwrap();
    }
    managers
}

/// Waits until all `managers` agree on one leader among them; returns its index.
pub async fn wait_for_leader(managers: &[Manager], within: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let leaders: Vec<_> = managers.iter().map(|m| m.node.leader()).collect();
        if let Some(Some((id, _))) = leaders.first() {
            if leaders.iter().all(|l| l.as_ref().map(|x| x.0) == Some(*id)) {
                if let Some(i) = managers.iter().position(|m| m.id == *id) {
                    if managers[i].node.is_leader() {
                        return i;
                    }
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no agreed leader within {within:?}: {leaders:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn node(id: &str) -> Object {
    Object::Node(types::Node {
        id: id.into(),
        ..Default::default()
    })
}

pub async fn create(store: &Store, id: &str) -> Result<(), StoreError> {
    store.propose(vec![StoreAction::Create(node(id))]).await
}

/// Waits until `memory` holds node `id`.
pub async fn wait_visible(memory: &MemoryStore, id: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while !memory.view(|t| t.nodes.contains_key(id)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} not replicated within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
