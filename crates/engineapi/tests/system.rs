//! `/_ping`, `/version`, `/info`, `/swarm` as the docker CLI reads them.

mod common;

use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn ping_says_which_swarm_role_answers_and_every_answer_carries_the_api_version() {
    let store = common::store().await;
    for (api, role) in [
        (common::manager(&store), "active/manager"),
        (common::worker(), "active/worker"),
    ] {
        for method in [Method::HEAD, Method::GET] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/_ping")
                .body(axum::body::Body::empty())
                .unwrap();
            let response = api.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{method}");
            let h = response.headers();
            assert_eq!(h["swarm"], role);
            assert_eq!(h["api-version"], "1.50");
            assert_eq!(h["ostype"], "linux");
        }
    }
    let (status, body) = common::get(&common::manager(&store), "/v1.44/version").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ApiVersion"], "1.50");
    assert_eq!(body["MinAPIVersion"], "1.24");
    assert_eq!(body["Components"][0]["Name"], "Engine");
}

#[tokio::test]
async fn info_names_this_node_and_the_cluster() {
    let store = common::store().await;
    let (status, info) = common::get(&common::manager(&store), "/v1.50/info").await;
    assert_eq!(status, StatusCode::OK);
    let swarm = &info["Swarm"];
    assert_eq!(swarm["NodeID"], "m1");
    assert_eq!(swarm["ControlAvailable"], true);
    assert_eq!(swarm["LocalNodeState"], "active");
    assert_eq!(
        (swarm["Nodes"].as_i64(), swarm["Managers"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(swarm["RemoteManagers"][0]["Addr"], "10.0.0.1:4242");
    assert_eq!(swarm["Cluster"]["ID"], "cluster1");
    assert_eq!(info["Name"], "node-1");

    let (status, info) = common::get(&common::worker(), "/info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["Swarm"]["ControlAvailable"], false);
    assert_eq!(info["Swarm"]["NodeID"], "w1");
}

#[tokio::test]
async fn join_tokens_rotate_and_run_time_settings_are_refused_unchanged() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (_, before) = common::get(&api, "/swarm").await;
    let worker = before["JoinTokens"]["Worker"].as_str().unwrap().to_string();
    assert!(worker.starts_with("SWMTKN-"), "{worker}");
    let version = before["Version"]["Index"].as_u64().unwrap();

    let path = format!("/v1.50/swarm/update?rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version={version}");
    let (status, body) = common::post(&api, &path, before["Spec"].clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after) = common::get(&api, "/swarm").await;
    assert_ne!(
        after["JoinTokens"]["Worker"], worker,
        "the worker token rotated"
    );
    assert_eq!(
        after["JoinTokens"]["Manager"],
        before["JoinTokens"]["Manager"]
    );

    let mut spec = after["Spec"].clone();
    spec["Dispatcher"]["HeartbeatPeriod"] = json!(9_000_000_000i64);
    let (status, body) =
        common::post(&api, "/swarm/update?rotateWorkerToken=true&version=1", spec).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Spec.Dispatcher.HeartbeatPeriod:"),
        "{body}"
    );
    let (_, unchanged) = common::get(&api, "/swarm").await;
    assert_eq!(
        unchanged["JoinTokens"], after["JoinTokens"],
        "a refused update rotates nothing"
    );
}

#[tokio::test]
async fn workers_refuse_swarm_routes_with_dockers_text_and_init_says_already_in_a_swarm() {
    let (status, body) = common::get(&common::worker(), "/v1.50/swarm").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("This node is not a swarm manager."));
    let store = common::store().await;
    let (status, body) = common::post(&common::manager(&store), "/swarm/init", json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("already part of a swarm"));
    let (status, _) =
        common::get(&common::manager(&store), "/distribution/nginx:latest/json").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no registry: the CLI warns and sends the tag"
    );
}
