//! One harness for the Engine API's tests: the real router over a real `ControlApi` on an
//! in-memory store holding a cluster and three nodes (no Raft, no agents, no orchestrator:
//! tests that need tasks write them into the store themselves).

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use engineapi::Engine;
use http_body_util::BodyExt;
use manager::controlapi::testing;
use serde_json::Value;
use store::Store;
use tower::ServiceExt;
use types::{Node, NodeRole, NodeState};

/// A Ready node with what docker's columns show: engine version, address, leadership.
pub fn node(id: &str, hostname: &str, role: NodeRole) -> Node {
    let mut node = testing::node(id, hostname, role, NodeState::Ready);
    node.description.engine_version = "28.2.2".into();
    node.status.addr = "10.0.0.1".into();
    if let Some(m) = node.manager_status.as_mut() {
        m.leader = true;
        m.addr = "10.0.0.1:4242".into();
    }
    node
}

/// A store with the cluster object and nodes `m1` (manager, leader), `w1`, `w2`.
pub async fn store() -> Store {
    testing::store_with(vec![
        node("m1", "node-1", NodeRole::Manager),
        node("w1", "node-2", NodeRole::Worker),
        node("w2", "node-3", NodeRole::Worker),
    ])
    .await
}

/// The Engine API of manager `m1` over `store`.
pub fn manager(store: &Store) -> Router {
    let control = testing::api_over(store, "m1");
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
