//! `/services` as the docker CLI and `docker stack deploy` use it: the bodies are the ones the
//! CLI 28.2.2 was seen sending (ENGINE-API.md appendix B).

mod common;

use axum::http::{Method, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use store::{Object, Store, StoreError};
use types::{DataKind, DataObject, DataSpec, Network, NetworkSpec};

/// `docker service create --name web --replicas 3 --publish 8080:80 nginx`, verbatim.
const CLI_CREATE: &str = r#"{"Name":"web","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:latest@sha256:28327d2d1d8875964c0e44e38f1f7e86c329f8be9e1bb5857c7f9a0ea4f6707b","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"},{"Architecture":"arm64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}"#;

/// `docker stack deploy`'s body for a service with a secret, a config, a network (by name),
/// a constraint and an update config.
fn stack_web() -> Value {
    json!({"Name":"app_web","Labels":{"com.docker.stack.image":"nginx:alpine","com.docker.stack.namespace":"app"},
      "TaskTemplate":{"ContainerSpec":{"Image":"nginx:alpine","Labels":{"com.docker.stack.namespace":"app"},
        "Privileges":{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false},
        "Secrets":[{"File":{"Name":"s2","UID":"0","GID":"0","Mode":292},"SecretID":"secret2","SecretName":"app_s2"}],
        "Configs":[{"File":{"Name":"/etc/nginx/conf.d/extra.conf","UID":"0","GID":"0","Mode":292},"ConfigID":"config2","ConfigName":"app_c2"}],
        "StopGracePeriod":2000000000,
        "Mounts":[{"Type":"volume","Source":"data","Target":"/data","VolumeOptions":{"DriverConfig":{"Name":"local"}}}]},
        "Resources":{"Limits":{"NanoCPUs":500000000,"MemoryBytes":268435456}},
        "RestartPolicy":{"Condition":"on-failure","MaxAttempts":3},
        "Placement":{"Constraints":["node.role==worker"],"Preferences":[{"Spread":{"SpreadDescriptor":"node.labels.zone"}}],
          "Platforms":[{"Architecture":"amd64","OS":"linux"}]},
        "Networks":[{"Target":"app_appnet","Aliases":["web"]}],"ForceUpdate":0},
      "Mode":{"Replicated":{"Replicas":2}},
      "UpdateConfig":{"Parallelism":2,"Delay":1000000000,"FailureAction":"rollback","Monitor":0,"MaxFailureRatio":0.25,"Order":"start-first"},
      "RollbackConfig":{"Parallelism":1,"FailureAction":"continue"},
      "EndpointSpec":{"Ports":[{"Protocol":"udp","TargetPort":53,"PublishedPort":5353,"PublishMode":"host"}]}})
}

/// A store with the stack's network, secret and config, as `stack deploy` creates them first.
async fn store_with_stack_objects() -> Store {
    let store = common::store().await;
    let data = |id: &str, name: &str, kind| {
        let spec = DataSpec {
            name: name.into(),
            data: b"x".to_vec(),
            ..Default::default()
        };
        Object::Data(DataObject {
            id: id.into(),
            kind,
            spec,
            ..Default::default()
        })
    };
    store
        .update(|_, tx| {
            tx.create(Object::Network(Network {
                id: "appnet1".into(),
                meta: Default::default(),
                spec: NetworkSpec {
                    subnet: "10.0.1.0/24".into(),
                    vni: 4097,
                    ..NetworkSpec::overlay("app_appnet")
                },
            }));
            tx.create(data("secret2", "app_s2", DataKind::Secret));
            tx.create(data("config2", "app_c2", DataKind::Config));
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    store
}

/// `/v1.50/services?filters={"key":{"value":true}}`, percent-encoded as the CLI sends it.
fn filtered(key: &str, value: &str) -> String {
    let json = json!({ key: { value: true } }).to_string();
    format!("/v1.50/services?filters={}", common::encoded(&json))
}

async fn create(api: &Router, body: Value) -> String {
    let (status, out) = common::post(api, "/v1.50/services/create", body).await;
    assert_eq!(status, StatusCode::CREATED, "{out}");
    assert_eq!(out["Warnings"], Value::Null);
    assert!(out.as_object().unwrap().contains_key("Warnings"));
    out["ID"].as_str().unwrap().to_string()
}

async fn inspect(api: &Router, id: &str) -> Value {
    let (status, out) =
        common::get(api, &format!("/v1.50/services/{id}?insertDefaults=true")).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    out
}

async fn update(api: &Router, id: &str, query: &str, spec: &Value) -> (StatusCode, Value) {
    let url = format!("/v1.50/services/{id}/update?{query}");
    common::post(api, &url, spec.clone()).await
}

fn version(service: &Value) -> u64 {
    service["Version"]["Index"].as_u64().unwrap()
}

fn image(service: &Value) -> &Value {
    &service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
}

/// Whether every field of `want` is in `got` with the same value (arrays element by element).
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(got), Value::Object(want)) => want
            .iter()
            .all(|(k, w)| got.get(k).is_some_and(|g| contains(g, w))),
        (Value::Array(got), Value::Array(want)) => {
            got.len() == want.len() && got.iter().zip(want).all(|(g, w)| contains(g, w))
        }
        _ => got == want,
    }
}

fn spec_version(store: &Store, id: &str) -> u64 {
    store.view(|t| t.services[id].spec_version)
}

#[tokio::test]
async fn the_clis_create_body_makes_the_service_it_describes() {
    let store = common::store().await;
    let api = common::manager(&store);
    let id = create(&api, serde_json::from_str(CLI_CREATE).unwrap()).await;
    let s = inspect(&api, "web").await;
    assert_eq!(s["ID"], id.as_str());
    assert_eq!(inspect(&api, &id[..5]).await, s, "by unique ID prefix too");
    assert!(version(&s) > 0 && s["CreatedAt"].as_str().unwrap().ends_with('Z'));
    let want = json!({"Spec": {"Name": "web", "Mode": {"Replicated": {"Replicas": 3}},
        "TaskTemplate": {"ContainerSpec": {"StopGracePeriod": 10_000_000_000i64}, "Runtime": "container"},
        "UpdateConfig": {"Monitor": 5_000_000_000i64}},
      "Endpoint": {"Spec": {"Mode": "vip"},
        "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"}]}});
    assert!(contains(&s, &want), "{s:#}");
    assert!(image(&s).as_str().unwrap().starts_with("nginx:latest@"));
    assert!(s.get("UpdateStatus").is_none() && s.get("PreviousSpec").is_none());
    // Through bollard's model, field for field (PreviousSpec aside, which it lacks).
    let parsed: bollard::models::Service = serde_json::from_value(s.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), s);
}

#[tokio::test]
async fn a_spec_read_and_sent_back_changes_nothing() {
    let store = store_with_stack_objects().await;
    let api = common::manager(&store);
    for body in [serde_json::from_str(CLI_CREATE).unwrap(), stack_web()] {
        let id = create(&api, body).await;
        let before = inspect(&api, &id).await;
        let query = format!("version={}&registryAuthFrom=spec", version(&before));
        let (status, out) = update(&api, &id, &query, &before["Spec"]).await;
        assert_eq!((status, out), (StatusCode::OK, json!({"Warnings": null})));
        assert_eq!(inspect(&api, &id).await, before, "no write at all");
        assert_eq!(spec_version(&store, &id), 1);
    }
    let web = inspect(&api, "app_web").await;
    // Names resolved to IDs; docker's defaults where the body had none (or a 0 monitor).
    let want = json!({"Spec": {"TaskTemplate": {
        "ContainerSpec": {"Secrets": [{"SecretID": "secret2", "SecretName": "app_s2"}],
          "Configs": [{"File": {"Name": "/etc/nginx/conf.d/extra.conf"}}],
          "Mounts": [{"VolumeOptions": {"DriverConfig": {"Name": "local"}}}]},
        "Networks": [{"Target": "appnet1", "Aliases": ["web"]}],
        "Placement": {"Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]},
        "RestartPolicy": {"Delay": 5_000_000_000i64}},
      "UpdateConfig": {"Monitor": 5_000_000_000i64}, "RollbackConfig": {"FailureAction": "continue"}},
      "Endpoint": {"VirtualIPs": [{"NetworkID": "appnet1"}]}});
    assert!(contains(&web, &want), "{web:#}");
    let vip = web["Endpoint"]["VirtualIPs"][0]["Addr"].as_str().unwrap();
    assert!(vip.starts_with("10.0.1.") && vip.ends_with("/24"), "{vip}");
}

#[tokio::test]
async fn list_filters_and_counts_replicas() {
    let store = store_with_stack_objects().await;
    let api = common::manager(&store);
    let web = create(&api, serde_json::from_str(CLI_CREATE).unwrap()).await;
    create(&api, stack_web()).await;
    let (_, all) = common::get(&api, "/v1.50/services?status=true").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, one) = common::get(&api, &format!("{}&status=true", filtered("id", &web))).await;
    let counts = json!({"RunningTasks": 0, "DesiredTasks": 3, "CompletedTasks": 0});
    assert_eq!(one[0]["ServiceStatus"], counts);
    let stack = "com.docker.stack.namespace";
    for (key, value, want) in [
        ("name", "we", Some("web")),
        ("name", "app", Some("app_web")),
        ("label", stack, Some("app_web")),
        ("label", &format!("{stack}=other"), None),
        ("mode", "global", None),
        ("runtime", "plugin", None),
        ("id", &web[..6], Some("web")),
    ] {
        let (status, found) = common::get(&api, &filtered(key, value)).await;
        assert_eq!(status, StatusCode::OK, "{key}={value}: {found}");
        let first = found.pointer("/0/Spec/Name").and_then(Value::as_str);
        assert_eq!((first, found[1].is_null()), (want, true), "{key}={value}");
        assert!(found[0]["ServiceStatus"].is_null(), "only with status=true");
    }
    let (status, out) = common::get(&api, &filtered("colour", "x")).await;
    let refused = (StatusCode::BAD_REQUEST, Some("invalid filter 'colour'"));
    assert_eq!((status, out["message"].as_str()), refused);
}

#[tokio::test]
async fn scale_stale_version_rollback_remove_and_404() {
    let store = common::store().await;
    let api = common::manager(&store);
    let id = create(&api, serde_json::from_str(CLI_CREATE).unwrap()).await;
    let first = inspect(&api, &id).await;
    let v1 = format!("version={}", version(&first));
    let mut spec: Value = serde_json::from_str(CLI_CREATE).unwrap();
    spec["Mode"]["Replicated"]["Replicas"] = json!(5);
    let (status, out) = update(&api, "web", &v1, &spec).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let scaled = inspect(&api, &id).await;
    assert_eq!(scaled["Spec"]["Mode"]["Replicated"]["Replicas"], 5);
    let kept = spec_version(&store, &id);
    assert_eq!(kept, 1, "scaling does not replace tasks");

    // The same, now stale, version again: refused with the control API's text; no change.
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!("nginx:2");
    let (status, out) = update(&api, &id, &v1, &spec).await;
    assert!(status.is_client_error(), "{status} {out}");
    assert!(!out["message"].as_str().unwrap().is_empty());
    assert_eq!(inspect(&api, &id).await, scaled);
    let (status, _) = update(&api, &id, "", &spec).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "version is required");

    let (status, _) = update(&api, &id, &format!("version={}", version(&scaled)), &spec).await;
    assert_eq!(status, StatusCode::OK);
    let updated = inspect(&api, &id).await;
    assert_eq!(updated["PreviousSpec"]["Mode"]["Replicated"]["Replicas"], 5);
    assert_eq!(image(&updated), "nginx:2");
    assert_eq!(spec_version(&store, &id), 2);

    // `service rollback` sends the current spec; it is ignored.
    let query = format!("rollback=previous&version={}", version(&updated));
    let (status, out) = update(&api, &id, &query, &updated["Spec"]).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let back = inspect(&api, &id).await;
    assert_eq!(image(&back), image(&first));
    let rolling_back = json!({"UpdateStatus": {"State": "rollback_started",
        "Message": "manually requested rollback"}});
    assert!(contains(&back, &rolling_back), "{back:#}");

    let (status, body) = common::call_raw(&api, Method::DELETE, "/v1.50/services/web", None).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    let (status, out) = common::get(&api, &format!("/v1.50/services/{id}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "`service inspect` says `no such service`"
    );
    assert!(out["message"].as_str().unwrap().contains(&id), "{out}");
}

#[tokio::test]
async fn bad_bodies_are_refused_and_create_nothing() {
    let store = common::store().await;
    let api = common::manager(&store);
    let cli: Value = serde_json::from_str(CLI_CREATE).unwrap();
    // The CLI's body with one field (a JSON pointer) set to a bad value, and the refusal.
    const BAD: &[(&str, &str, &str)] = &[
        ("/Mode/Replicated/Replicas", "-1", "-1 is negative"),
        ("/TaskTemplate/ContainerSpec/Init", "true", ".Init: swarmd"),
        ("/Mode", r#"{"GlobalJob":{}}"#, "Mode.GlobalJob: swarmd"),
        (
            "/TaskTemplate/ContainerSpec/Image",
            r#""""#,
            "image is empty",
        ),
        ("", r#"{"Name":"#, "invalid JSON"),
    ];
    for (pointer, value, want) in BAD {
        let body = match pointer.rsplit_once('/') {
            Some((parent, key)) => {
                let mut body = cli.clone();
                body.pointer_mut(parent).unwrap()[key] = serde_json::from_str(value).unwrap();
                body.to_string()
            }
            None => value.to_string(),
        };
        let url = "/v1.50/services/create";
        let (status, out) = common::call_raw(&api, Method::POST, url, Some(body.clone())).await;
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {out}");
        let message = out["message"].as_str().unwrap();
        assert!(message.contains(want), "{want}: {message}");
    }
    assert_eq!(common::get(&api, "/v1.50/services").await.1, json!([]));
    let (status, _) = common::post(&common::worker(), "/v1.50/services/create", cli).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
