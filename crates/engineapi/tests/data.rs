//! `/secrets` and `/configs` as `docker secret/config …` and `docker stack deploy/rm` use them.

mod common;

use axum::http::{Method, StatusCode};
use axum::Router;
use serde_json::{json, Value};

/// `hunter2\n`, base64, as `docker secret create s1 -` sends it.
const DATA: &str = "aHVudGVyMgo=";

async fn create(api: &Router, kind: &str, body: Value) -> (StatusCode, Value) {
    common::post(api, &format!("/v1.50/{kind}s/create"), body).await
}

async fn delete(api: &Router, path: &str) -> (StatusCode, Value) {
    common::call(api, Method::DELETE, path, None).await
}

#[tokio::test]
async fn secrets_are_created_listed_and_inspected_without_their_data() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (status, created) =
        create(&api, "secret", json!({"Name":"s1","Labels":{},"Data":DATA})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["ID"].as_str().unwrap().to_string();
    let labels = json!({"com.docker.stack.namespace": "app"});
    let body = json!({"Name": "app_s2", "Labels": labels, "Data": "dG9wc2VjcmV0Cg=="});
    let (status, _) = create(&api, "secret", body).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, listed) = common::get(&api, "/v1.50/secrets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for query in ["s1", id.as_str(), &id[..6]] {
        let (status, s) = common::get(&api, &format!("/v1.50/secrets/{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(
            (s["ID"].as_str(), s["Spec"]["Name"].as_str()),
            (Some(id.as_str()), Some("s1"))
        );
        assert!(
            s["Spec"].get("Data").is_none(),
            "a secret's data never comes back: {s}"
        );
        assert!(s["Version"]["Index"].as_u64().unwrap() > 0);
        assert!(s["CreatedAt"].is_string() && s["UpdatedAt"].is_string());
    }
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["Spec"].get("Data").is_none()));
    for (filters, want) in [
        (
            r#"{"label":{"com.docker.stack.namespace=app":true}}"#,
            vec!["app_s2"],
        ),
        (r#"{"name":{"app_s2":true}}"#, vec!["app_s2"]),
        (r#"{"name":{"s":true}}"#, vec!["s1"]),
        (r#"{"names":{"s":true}}"#, vec![]),
        (r#"{"names":{"s1":true}}"#, vec!["s1"]),
    ] {
        let (status, body) = common::get(
            &api,
            &format!("/v1.50/secrets?filters={}", common::encoded(filters)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{filters}: {body}");
        let names: Vec<&str> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Spec"]["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{filters}");
    }
    // `stack deploy` creates what answers 404.
    let (status, body) = common::get(&api, "/v1.50/secrets/app_s3").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("secret app_s3 not found"));
}

#[tokio::test]
async fn configs_show_their_data() {
    let store = common::store().await;
    let api = common::manager(&store);
    let body = json!({"Name": "c1", "Labels": {}, "Data": "Y29uZmlnLWRhdGEK"});
    let (status, created) = create(&api, "config", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, c) = common::get(&api, "/v1.50/configs/c1").await;
    assert_eq!(c["ID"], created["ID"]);
    assert_eq!(
        c["Spec"],
        json!({"Name": "c1", "Labels": {}, "Data": "Y29uZmlnLWRhdGEK"})
    );
    let parsed: bollard::models::Config = serde_json::from_value(c.clone()).unwrap();
    assert_eq!(serde_json::to_value(parsed).unwrap(), c);
    let (_, secrets) = common::get(&api, "/v1.50/secrets").await;
    assert_eq!(secrets, json!([]), "configs and secrets live apart");
}

#[tokio::test]
async fn updates_change_labels_only_at_the_version_read() {
    let store = common::store().await;
    let api = common::manager(&store);
    for kind in ["secret", "config"] {
        let (_, created) = create(
            &api,
            kind,
            json!({"Name": "s1", "Labels": {}, "Data": DATA}),
        )
        .await;
        let id = created["ID"].as_str().unwrap();
        let (_, read) = common::get(&api, &format!("/v1.50/{kind}s/{id}")).await;
        let version = read["Version"]["Index"].as_u64().unwrap();
        let path = format!("/v1.50/{kind}s/{id}/update?version={version}");
        // Re-running `stack deploy`: the same data, new labels.
        let spec = json!({"Name": "s1", "Labels": {"a": "b"}, "Data": DATA});
        let (status, body) = common::post(&api, &path, spec.clone()).await;
        assert_eq!((status, &body), (StatusCode::OK, &Value::Null), "{kind}");
        let (_, read) = common::get(&api, &format!("/v1.50/{kind}s/s1")).await;
        assert_eq!(read["Spec"]["Labels"], json!({"a": "b"}), "{kind}");
        let new_version = read["Version"]["Index"].as_u64().unwrap();
        assert!(new_version > version);

        let (status, body) = common::post(&api, &path, spec).await;
        assert_eq!(status, StatusCode::CONFLICT, "{kind}, stale: {body}");
        let path = format!("/v1.50/{kind}s/{id}/update?version={new_version}");
        let other = json!({"Name": "s1", "Labels": {}, "Data": "b3RoZXIK"});
        let (status, body) = common::post(&api, &path, other).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("only updates to Labels are allowed"),
            "{message}"
        );
        let (_, after) = common::get(&api, &format!("/v1.50/{kind}s/s1")).await;
        assert_eq!(after, read, "{kind}: a refused update changed nothing");
    }
}

#[tokio::test]
async fn refusals_and_rm() {
    let store = common::store().await;
    let api = common::manager(&store);
    let (_, created) = create(&api, "secret", json!({"Name": "s1", "Data": DATA})).await;
    let (status, body) = create(&api, "secret", json!({"Name": "s1", "Data": DATA})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already exists"));
    let vault = json!({"Name": "s2", "Data": DATA, "Driver": {"Name": "vault"}});
    let (status, body) = create(&api, "secret", vault).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Driver: swarmd does not support"));
    let templated = json!({"Name": "c2", "Data": DATA, "Templating": {"Name": "golang"}});
    let (status, body) = create(&api, "config", templated).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Templating: swarmd does not support"));
    let (status, body) = create(&api, "secret", json!({"Name": "s3", "Data": "%%"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Data: not valid base64"));
    let (_, listed) = common::get(&api, "/v1.50/secrets").await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing else was created"
    );

    let path = format!("/v1.50/secrets/{}", created["ID"].as_str().unwrap());
    assert_eq!(
        delete(&api, &path).await,
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(delete(&api, &path).await.0, StatusCode::NOT_FOUND);
    let (status, _) = common::get(&api, "/v1.50/secrets/s1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = common::get(&common::worker(), "/v1.50/configs").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
