//! One harness for the Engine API's tests: the real router over a real `ControlApi` on an
//! in-memory store holding a cluster and three nodes (no Raft, no agents, no orchestrator:
//! tests that need tasks write them into the store themselves).

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::sync::Arc;

use api::dispatcher::agent_client::AgentClient;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use engineapi::Engine;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use manager::controlapi::{ControlApi, NodeConnector};
use serde_json::Value;
use store::{Object, Store, StoreError};
use tonic::transport::Channel;
use tonic::Status;
use tower::ServiceExt;
use types::{
    Cluster, ManagerStatus, Node, NodeDescription, NodeRole, NodeSpec, NodeState, NodeStatus,
    Reachability,
};

/// Every connection to an agent is refused in these tests.
struct NoAgents;

impl NodeConnector for NoAgents {
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>> {
        let msg = format!("no agent for {} in this test", node.id);
        Box::pin(async move { Err(Status::unavailable(msg)) })
    }
}

pub fn node(id: &str, hostname: &str, role: NodeRole) -> Node {
    Node {
        id: id.into(),
        spec: NodeSpec {
            desired_role: role,
            ..Default::default()
        },
        description: NodeDescription {
            hostname: hostname.into(),
            engine_version: "28.2.2".into(),
            ..Default::default()
        },
        status: NodeStatus {
            state: NodeState::Ready,
            addr: "10.0.0.1".into(),
            ..Default::default()
        },
        role,
        manager_status: (role == NodeRole::Manager).then(|| ManagerStatus {
            reachability: Reachability::Reachable,
            leader: true,
            addr: "10.0.0.1:4242".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A store with the cluster object and nodes `m1` (manager, leader), `w1`, `w2`.
pub async fn store() -> Store {
    let store = Store::local();
    let ca = security::RootCa::create("cluster1").unwrap();
    let nodes = [
        node("m1", "node-1", NodeRole::Manager),
        node("w1", "node-2", NodeRole::Worker),
        node("w2", "node-3", NodeRole::Worker),
    ];
    store
        .update(|_, tx| {
            tx.create(Object::Cluster(Cluster {
                id: "cluster1".into(),
                meta: Default::default(),
                spec: Default::default(),
                join_tokens: types::JoinTokens {
                    worker: security::new_join_token(&ca.digest()),
                    manager: security::new_join_token(&ca.digest()),
                },
                root_ca: ca.material(),
                data_key: Default::default(),
            }));
            for n in &nodes {
                tx.create(Object::Node(n.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    store
}

/// The Engine API of manager `m1` over `store`.
pub fn manager(store: &Store) -> Router {
    let control = ControlApi::new(store.clone(), Arc::new(NoAgents), "m1");
    engineapi::router(Arc::new(Engine::new(Some(control), "m1".into(), None)))
}

/// The Engine API of a worker: no control API.
pub fn worker() -> Router {
    engineapi::router(Arc::new(Engine::new(None, "w1".into(), None)))
}

/// One call; the body is JSON when there is one (`Value::Null` when empty or not JSON).
pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, bytes) = call_raw(router, method, path, body.map(|b| b.to_string())).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One call with a raw body; the raw answer.
pub async fn call_raw(
    router: &Router,
    method: Method,
    path: &str,
    body: Option<String>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

pub async fn get(router: &Router, path: &str) -> (StatusCode, Value) {
    call(router, Method::GET, path, None).await
}

pub async fn post(router: &Router, path: &str, body: Value) -> (StatusCode, Value) {
    call(router, Method::POST, path, Some(body)).await
}

/// `filters` as the CLI sends it: JSON, percent-encoded.
pub fn encoded(json: &str) -> String {
    let escape = |b: u8| match b.is_ascii_alphanumeric() {
        true => (b as char).to_string(),
        false => format!("%{b:02X}"),
    };
    json.bytes().map(escape).collect()
}
