//! `/nodes` as `docker node ls/inspect/update/rm`, the progress loop and the visualizer use it.

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|n| n["ID"].as_str().unwrap())
        .collect()
}

async fn list(api: &axum::Router, filters: &str) -> (StatusCode, Value) {
    common::get(
        api,
        &format!("/v1.50/nodes?filters={}", common::encoded(filters)),
    )
    .await
}

#[tokio::test]
async fn ls_shows_every_field_the_cli_and_the_visualizer_read() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (status, body) = common::get(&api, "/v1.50/nodes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), ["m1", "w1", "w2"]);
    let m1 = &body[0];
    assert!(m1["Version"]["Index"].as_u64().unwrap() > 0);
    assert_eq!(m1["Spec"]["Role"], "manager");
    assert_eq!(m1["Spec"]["Availability"], "active");
    assert_eq!(m1["Spec"]["Labels"], json!({}));
    let d = &m1["Description"];
    assert_eq!(d["Hostname"], "node-1");
    assert!(d["Platform"]["Architecture"].is_string() && d["Platform"]["OS"].is_string());
    assert!(d["Resources"]["MemoryBytes"].is_i64() && d["Resources"]["NanoCPUs"].is_i64());
    assert_eq!(d["Engine"]["EngineVersion"], "28.2.2");
    assert_eq!(d["Engine"]["Plugins"], json!([]));
    assert_eq!(
        m1["Status"],
        json!({"State": "ready", "Message": "", "Addr": "10.0.0.1"})
    );
    assert_eq!(
        m1["ManagerStatus"],
        json!({"Leader": true, "Reachability": "reachable", "Addr": "10.0.0.1:4242"})
    );
    assert!(body[1].get("ManagerStatus").is_none(), "workers have none");
    // The visualizer asks unversioned.
    let (status, _) = common::get(&api, "/nodes").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn filters_match_as_dockers() {
    let store = common::store().await;
    let api = common::manager(&store);
    for (filters, want) in [
        (r#"{"role":{"manager":true}}"#, vec!["m1"]),
        (r#"{"role":{"worker":true}}"#, vec!["w1", "w2"]),
        (r#"{"name":{"node-":true}}"#, vec!["m1", "w1", "w2"]),
        (r#"{"name":{"node-2":true}}"#, vec!["w1"]),
        (r#"{"id":{"w":true}}"#, vec!["w1", "w2"]),
        (
            r#"{"membership":{"accepted":true}}"#,
            vec!["m1", "w1", "w2"],
        ),
        (r#"{"membership":{"pending":true}}"#, vec![]),
        (r#"{"node.label":{"zone":true}}"#, vec![]),
    ] {
        let (status, body) = list(&api, filters).await;
        assert_eq!(status, StatusCode::OK, "{filters}: {body}");
        assert_eq!(ids(&body), want, "{filters}");
    }
    let (status, body) = list(&api, r#"{"role":{"boss":true}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "invalid filter 'role=boss': use one of manager, worker"
    );
    let (status, _) = list(&api, r#"{"colour":{"x":true}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn inspect_by_id_hostname_or_unique_prefix() {
    let store = common::store().await;
    let api = common::manager(&store);
    for query in ["w1", "node-2"] {
        let (status, body) = common::get(&api, &format!("/v1.50/nodes/{query}")).await;
        assert_eq!(
            (status, body["ID"].as_str()),
            (StatusCode::OK, Some("w1")),
            "{query}"
        );
    }
    let (status, body) = common::get(&api, "/v1.50/nodes/m").await;
    assert_eq!(
        (status, body["ID"].as_str()),
        (StatusCode::OK, Some("m1")),
        "a unique prefix"
    );
    let (status, body) = common::get(&api, "/v1.50/nodes/w").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "ambiguous: {body}");
    let (status, body) = common::get(&api, "/v1.50/nodes/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("node nosuch not found"));
    let (status, _) = common::get(&common::worker(), "/v1.50/nodes/m1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn update_takes_the_whole_spec_at_the_version_read() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (_, node) = common::get(&api, "/v1.50/nodes/node-2").await;
    let version = node["Version"]["Index"].as_u64().unwrap();
    // `docker node update --label-add a=b --availability drain node-2`, as the CLI sends it.
    let spec = json!({"Labels": {"a": "b"}, "Role": "worker", "Availability": "drain"});
    let path = format!("/v1.50/nodes/w1/update?version={version}");
    let (status, body) = common::post(&api, &path, spec.clone()).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    let (_, node) = common::get(&api, "/v1.50/nodes/w1").await;
    assert_eq!(node["Spec"], spec, "the spec reads back as sent");
    assert!(node["Version"]["Index"].as_u64().unwrap() > version);
    let (_, body) = list(&api, r#"{"node.label":{"a=b":true}}"#).await;
    assert_eq!(ids(&body), ["w1"]);

    let (status, body) = common::post(&api, &path, spec.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "a stale version: {body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("changed by someone else"));
    let (status, body) = common::post(&api, "/v1.50/nodes/w1/update", spec).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("missing version"));
    let path = format!(
        "/v1.50/nodes/w1/update?version={}",
        node["Version"]["Index"]
    );
    let (status, body) = common::post(&api, &path, json!({"Labels": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Role: missing"));
}

#[tokio::test]
async fn rm_follows_the_control_apis_rules() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (status, body) = common::call(&api, Method::DELETE, "/v1.50/nodes/node-1", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "the leader: {body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("demote it first"));
    let (status, body) = common::call(&api, Method::DELETE, "/v1.50/nodes/w1", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "a live node: {body}");
    assert!(body["message"].as_str().unwrap().contains("--force"));
    let (status, _) = common::call(&api, Method::DELETE, "/v1.50/nodes/w1?force=1", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = common::get(&api, "/v1.50/nodes/w1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_node_round_trips_through_dockers_model() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (_, sent) = common::get(&api, "/v1.50/nodes/m1").await;
    let parsed: bollard::models::Node = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), sent);
    assert_eq!(
        parsed.manager_status.unwrap().reachability,
        Some(bollard::models::Reachability::REACHABLE)
    );
}
