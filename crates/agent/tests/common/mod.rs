//! One dispatcher leading over a local store, served over real gRPC on 127.0.0.1, and an agent
//! dialing it: the harness of this crate's integration tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Agent, AgentConfig, RecordingNetwork, TestExecutor};
use api::dispatcher::dispatcher_server::DispatcherServer;
use manager::dispatcher::service::{DispatcherService, DispatcherSlot, LeaderHint};
use manager::dispatcher::{Dispatcher, DispatcherConfig};
use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::{Node, NodeRole};

pub const HEARTBEAT: Duration = Duration::from_millis(100);

struct NoOtherLeader;

impl LeaderHint for NoOtherLeader {
    fn leader_addr(&self) -> Option<String> {
        None
    }
}

/// A store holding node `n1`, a dispatcher leading over it, served on 127.0.0.1.
pub async fn leader(stop: &CancellationToken) -> (Store, SocketAddr) {
    let store = Store::local();
    store
        .update(|_, tx| {
            tx.create(Object::Node(Node {
                id: "n1".into(),
                role: NodeRole::Worker,
                ..Default::default()
            }));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let dispatcher = Dispatcher::new(
        store.clone(),
        DispatcherConfig {
            heartbeat_period: HEARTBEAT,
            ..DispatcherConfig::default()
        },
    );
    tokio::spawn(dispatcher.clone().run(stop.clone()));
    let slot = Arc::new(DispatcherSlot::default());
    slot.set(Some(dispatcher));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = DispatcherService::new(slot, Arc::new(NoOtherLeader));
    let stopped = stop.clone();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(DispatcherServer::new(service))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async move { stopped.cancelled().await },
            ),
    );
    (store, addr)
}

pub fn start_agent(
    addr: SocketAddr,
    engine: &TestExecutor,
    network: Arc<RecordingNetwork>,
    stop: &CancellationToken,
) {
    let agent = Agent::new(
        AgentConfig {
            node_id: "n1".into(),
            managers: vec![addr.to_string()],
            hostname: "node1".into(),
            listen_addr: "127.0.0.1:1".into(),
            drain_delay: Duration::from_millis(10),
            dial: AgentConfig::plaintext_dial(),
            files_root: None,
            metrics: metrics::Metrics::default(),
        },
        Arc::new(engine.clone()),
        network,
    );
    tokio::spawn(agent.run(stop.clone()));
}

pub async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
