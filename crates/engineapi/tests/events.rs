//! `GET /events`: swarm events from the manager's history when asked for alone, docker's
//! message shape, refused filters, and everything else still going to the engine.

mod common;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use axum::Router;
use engineapi::events::asks_for_swarm;
use engineapi::filters::Filters;
use engineapi::Engine;
use manager::controlapi::testing;
use manager::events::{EventHistory, EventRecorder, HistoryLimits};
use serde_json::Value;
use store::{Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::Service;

/// The Engine API of `m1` with a recorder feeding its event history.
async fn recorded(store: &Store, token: &CancellationToken) -> Router {
    let history = EventHistory::new(HistoryLimits::default());
    tokio::spawn(EventRecorder::new(store.clone(), history.clone()).run(token.clone()));
    // The test runtime has one thread: this lets the recorder subscribe to the store.
    tokio::task::yield_now().await;
    let control = testing::api_over(store, "m1").with_events(history);
    engineapi::router(Arc::new(Engine::new(Some(control), "m1".into(), None)))
}

fn filters(json: &str) -> Filters {
    Filters::parse(Some(json), &["scope", "type", "event", "container"]).unwrap()
}

#[test]
fn only_requests_for_swarm_events_alone_are_served_here() {
    assert!(asks_for_swarm(&filters(r#"{"scope":{"swarm":true}}"#)));
    assert!(asks_for_swarm(&filters(
        r#"{"type":{"service":true,"node":true}}"#
    )));
    assert!(!asks_for_swarm(&filters(r#"{}"#)));
    assert!(!asks_for_swarm(&filters(r#"{"type":{"container":true}}"#)));
    assert!(!asks_for_swarm(&filters(
        r#"{"type":{"service":true,"container":true}}"#
    )));
    assert!(!asks_for_swarm(&filters(r#"{"scope":{"local":true}}"#)));
}

#[tokio::test]
async fn a_created_service_comes_back_as_docker_prints_it() {
    let store = common::store().await;
    let token = CancellationToken::new();
    let api = recorded(&store, &token).await;
    let mut web = Service {
        id: "svc1".into(),
        ..Default::default()
    };
    web.spec.name = "web".into();
    store
        .update(|_, tx| {
            tx.create(Object::Service(web.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 0.5;
    let path = format!(
        "/v1.50/events?since=0&until={until:.3}&filters={}",
        common::encoded(r#"{"type":{"service":true}}"#)
    );
    let (status, body) = common::call_raw(&api, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let e = &lines[0];
    assert_eq!(e["Type"], "service");
    assert_eq!(e["Action"], "create");
    assert_eq!(e["Actor"]["ID"], "svc1");
    assert_eq!(e["Actor"]["Attributes"]["name"], "web");
    assert_eq!(e["scope"], "swarm");
    assert!(e["timeNano"].as_i64().unwrap() / 1_000_000_000 == e["time"].as_i64().unwrap());
    token.cancel();
}

#[tokio::test]
async fn bad_swarm_filters_are_refused_and_other_events_go_to_the_engine() {
    let store = common::store().await;
    let token = CancellationToken::new();
    let api = recorded(&store, &token).await;
    let query = common::encoded(r#"{"scope":{"swarm":true},"container":{"x":true}}"#);
    let (status, out) = common::get(&api, &format!("/v1.50/events?filters={query}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("filter 'container'"),
        "{out}"
    );
    let query = common::encoded(r#"{"scope":{"swarm":true},"event":{"die":true}}"#);
    let (status, out) = common::get(&api, &format!("/v1.50/events?filters={query}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("create, update, remove"),
        "{out}"
    );
    // Not asking for swarm events alone: the engine's, and this node has none.
    let (status, out) = common::get(&api, "/v1.50/events").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("container engine"),
        "{out}"
    );
    token.cancel();
}
