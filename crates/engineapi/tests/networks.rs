//! `/networks` as `docker network create/ls/inspect/rm` and `docker stack deploy/rm` use it.

mod common;

use axum::http::{Method, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use store::{Object, Store, StoreError};

/// `docker network create -d overlay appnet`, byte for byte (ENGINE-API.md, appendix B).
const CLI_BODY: &str = r#"{"Driver":"overlay","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"appnet"}"#;

/// `docker stack deploy`'s network for `app`.
const STACK_BODY: &str = r#"{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"app"},"Name":"app_appnet"}"#;

async fn create_raw(api: &Router, body: &str) -> (StatusCode, Value) {
    let (status, bytes) = common::call_raw(
        api,
        Method::POST,
        "/v1.50/networks/create",
        Some(body.into()),
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn names(api: &Router, filters: &str) -> Vec<String> {
    let (status, body) = common::get(
        api,
        &format!("/v1.50/networks?filters={}", common::encoded(filters)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filters}: {body}");
    let list = body.as_array().unwrap();
    list.iter()
        .map(|n| n["Name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_clis_create_then_ls_and_inspect() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (status, created) = create_raw(&api, CLI_BODY).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["Warning"], "");
    let id = created["Id"].as_str().unwrap().to_string();
    let (status, listed) = common::get(&api, "/v1.50/networks").await;
    assert_eq!(status, StatusCode::OK);
    let n = &listed[0];
    assert_eq!(n["Id"], id.as_str(), "docker's lower-case d");
    assert_eq!(
        (n["Name"].as_str(), n["Scope"].as_str()),
        (Some("appnet"), Some("swarm"))
    );
    assert_eq!(
        (n["Driver"].as_str(), n["EnableIPv4"].as_bool()),
        (Some("overlay"), Some(true))
    );
    assert_eq!(n["EnableIPv6"], false);
    assert_eq!(n["IPAM"]["Driver"], "default");
    assert!(n["IPAM"]["Config"][0]["Subnet"]
        .as_str()
        .unwrap()
        .contains('/'));
    assert!(n["IPAM"]["Config"][0]["Gateway"].is_string());
    assert_eq!(
        (n["Internal"].as_bool(), n["Attachable"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(n["Ingress"], false);
    assert_eq!(n["ConfigFrom"], json!({"Network": ""}));
    assert_eq!(
        (n["ConfigOnly"].clone(), n["Containers"].clone()),
        (json!(false), json!({}))
    );
    assert_eq!(
        (n["Options"].clone(), n["Labels"].clone()),
        (json!({}), json!({}))
    );
    assert!(n["Created"].as_str().unwrap().ends_with('Z'));
    for query in [
        "appnet",
        &id,
        &id[..5],
        &format!("{id}?scope=swarm&verbose=false"),
    ] {
        let (status, found) = common::get(&api, &format!("/v1.50/networks/{query}")).await;
        assert_eq!((status, &found), (StatusCode::OK, n), "{query}");
    }
    let (status, body) = common::get(&api, "/v1.50/networks/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("network nosuch not found"));
}

#[tokio::test]
async fn stack_deploys_network_and_its_label_filter() {
    let store = common::store().await;
    let api = common::manager(&store);
    create_raw(&api, CLI_BODY).await;
    let (status, created) = create_raw(&api, STACK_BODY).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let filter = r#"{"label":{"com.docker.stack.namespace=app":true}}"#;
    assert_eq!(names(&api, filter).await, ["app_appnet"]);
    let (_, n) = common::get(&api, "/v1.50/networks/app_appnet").await;
    assert_eq!(n["Attachable"], true);
    assert_eq!(n["Labels"], json!({"com.docker.stack.namespace": "app"}));
    assert_eq!(
        names(&api, r#"{"label":{"other":true}}"#).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(&api, r#"{"name":{"app":true}}"#).await,
        ["app_appnet", "appnet"]
    );
    assert_eq!(
        names(&api, r#"{"driver":{"bridge":true}}"#).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn ipam_subnet_and_gateway_are_honoured() {
    let store = common::store().await;
    let api = common::manager(&store);
    let body = json!({"Name": "fixed", "Driver": "overlay", "Internal": true,
        "Options": {"com.docker.network.driver.mtu": "1400"},
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.20.0.0/24", "Gateway": "10.20.0.254"}]}});
    let (status, created) = common::post(&api, "/v1.50/networks/create", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, n) = common::get(&api, "/v1.50/networks/fixed").await;
    let config = json!([{"Subnet": "10.20.0.0/24", "Gateway": "10.20.0.254"}]);
    assert_eq!(n["IPAM"]["Config"], config);
    assert_eq!(n["Internal"], true);
    assert_eq!(n["Options"]["com.docker.network.driver.mtu"], "1400");
}

#[tokio::test]
async fn refusals_say_why_and_create_nothing() {
    let store = common::store().await;
    let api = common::manager(&store);
    create_raw(&api, CLI_BODY).await;
    let (status, body) = create_raw(&api, CLI_BODY).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already exists"));
    for (body, start) in [
        (
            json!({"Name": "b", "Driver": "bridge"}),
            "Driver: `bridge` is not available",
        ),
        (
            json!({"Name": "b", "Ingress": true}),
            "Ingress: the cluster has its ingress",
        ),
        (
            json!({"Name": "b", "Scope": "local"}),
            "Scope: `local` is not available",
        ),
        (
            json!({"Name": "b", "EnableIPv6": true}),
            "EnableIPv6: swarmd does not support",
        ),
        (
            json!({"Name": "b", "Colour": "red"}),
            "invalid JSON: unknown field Colour",
        ),
    ] {
        let (status, answer) = common::post(&api, "/v1.50/networks/create", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(start), "{message}");
    }
    assert_eq!(
        names(&api, "").await,
        ["appnet"],
        "nothing else was created"
    );
}

/// A service using `network`, written straight into the store (the harness runs no
/// orchestrator).
async fn service_on(store: &Store, network: &str) {
    let mut service = types::Service {
        id: "svc1".into(),
        ..Default::default()
    };
    service.spec.name = "web".into();
    service.spec.task.networks = vec![types::NetworkTarget {
        target: network.into(),
        aliases: vec![],
    }];
    let ingress = types::Network {
        id: "ingress1".into(),
        meta: Default::default(),
        spec: types::NetworkSpec::ingress("10.255.0.0/16"),
    };
    store
        .update(|_, tx| {
            tx.create(Object::Service(service.clone()));
            tx.create(Object::Network(ingress.clone()));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn dangling_type_and_rm() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (_, used) = create_raw(&api, CLI_BODY).await;
    create_raw(&api, STACK_BODY).await;
    service_on(&store, used["Id"].as_str().unwrap()).await;
    assert_eq!(
        names(&api, r#"{"dangling":{"true":true}}"#).await,
        ["app_appnet"]
    );
    let in_use = names(&api, r#"{"dangling":{"false":true}}"#).await;
    assert_eq!(in_use, ["appnet", "ingress"]);
    assert_eq!(
        names(&api, r#"{"type":{"builtin":true}}"#).await,
        ["ingress"]
    );
    assert_eq!(
        names(&api, r#"{"type":{"custom":true}}"#).await,
        ["app_appnet", "appnet"]
    );
    let maybe = common::encoded(r#"{"dangling":{"maybe":true}}"#);
    let (status, _) = common::get(&api, &format!("/v1.50/networks?filters={maybe}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let delete = |path: &'static str| common::call(&api, Method::DELETE, path, None);
    let (status, body) = delete("/v1.50/networks/appnet").await;
    assert_eq!(status, StatusCode::CONFLICT, "in use by web: {body}");
    assert!(body["message"].as_str().unwrap().contains("web"));
    let (status, _) = delete("/v1.50/networks/ingress").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = delete("/v1.50/networks/app_appnet").await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, _) = common::get(&api, "/v1.50/networks/app_appnet").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_network_round_trips_through_dockers_model() {
    let store = common::store().await;
    let api = common::manager(&store);
    create_raw(&api, STACK_BODY).await;
    let (_, sent) = common::get(&api, "/v1.50/networks/app_appnet").await;
    let parsed: bollard::models::NetworkInspect = serde_json::from_value(sent.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), sent);
    let summary: bollard::models::NetworkSummary = serde_json::from_value(sent).unwrap();
    assert_eq!(summary.attachable, Some(true));
}
