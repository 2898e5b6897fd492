//! `/tasks` as `service ps`, `node ps`, `stack ps`, the progress loop and the visualizer read
//! it. The tasks are written into the store here (the harness runs no orchestrator).

mod common;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Map, Value};
use store::{Object, StoreError};
use types::{Network, NetworkAttachment, NetworkSpec, Task, TaskState, TaskStatus};

const RUNNING: &str = "t1running0000000000000000";
const OLD: &str = "t2old00000000000000000000";
const GLOBAL: &str = "t3global00000000000000000";

/// `web` (replicated, a stack's, one port in host mode and one through the mesh) has a running
/// task on `w1` and a failed one of an older spec on `w2`; `edge` (global) one assigned to `m1`.
async fn fixture() -> (Router, String) {
    let store = common::store().await;
    let api = common::manager(&store);
    let web = json!({"Name":"web","Labels":{"com.docker.stack.namespace":"app"},
        "TaskTemplate":{"ContainerSpec":{"Image":"nginx:alpine"}},"Mode":{"Replicated":{"Replicas":2}},
        "EndpointSpec":{"Ports":[{"Protocol":"udp","TargetPort":53,"PublishedPort":5353,"PublishMode":"host"},
          {"TargetPort":80,"PublishedPort":8080}]}});
    let edge = json!({"Name":"edge","TaskTemplate":{"ContainerSpec":{"Image":"traefik:3"}},"Mode":{"Global":{}}});
    let mut ids = Vec::new();
    for body in [web, edge] {
        let (status, out) = common::post(&api, "/v1.50/services/create", body).await;
        assert_eq!(status, StatusCode::CREATED, "{out}");
        ids.push(out["ID"].as_str().unwrap().to_string());
    }
    let services = store.view(|t| [t.services[&ids[0]].clone(), t.services[&ids[1]].clone()]);
    // As the orchestrator, allocator and an agent would have written them.
    let task = |id: &str, service: usize, slot, node: &str| Task {
        id: id.into(),
        service_id: services[service].id.clone(),
        service_name: services[service].spec.name.clone(),
        slot,
        node_id: node.into(),
        spec: services[service].spec.task.clone(),
        spec_version: 1,
        desired_state: TaskState::Running,
        status: TaskStatus {
            state: TaskState::Running,
            timestamp_ms: 1_700_000_000_000,
            message: "started".into(),
            ..Default::default()
        },
        endpoint_ports: services[service].endpoint_ports.clone(),
        ..Default::default()
    };
    let mut running = task(RUNNING, 0, 1, "w1");
    running.status.container_id = "c0ffee".into();
    let addr = "10.0.1.5".into();
    running.networks = vec![NetworkAttachment {
        network_id: "net1".into(),
        addr,
        mac: "".into(),
    }];
    let mut old = task(OLD, 0, 2, "w2");
    (old.spec_version, old.desired_state) = (0, TaskState::Shutdown);
    (old.status.state, old.status.exit_code) = (TaskState::Failed, 1);
    old.status.err = "task: non-zero exit (1)".into();
    let mut global = task(GLOBAL, 1, 0, "m1");
    global.status.state = TaskState::Assigned;
    let overlay = NetworkSpec {
        subnet: "10.0.1.0/24".into(),
        ..NetworkSpec::overlay("appnet")
    };
    let net = Network {
        id: "net1".into(),
        meta: Default::default(),
        spec: overlay,
    };
    store
        .update(|_, tx| {
            tx.create(Object::Network(net.clone()));
            for t in [&running, &old, &global] {
                tx.create(Object::Task(t.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    (api, ids.swap_remove(0))
}

/// `/v1.50/tasks?filters=…` with the JSON percent-encoded, as the CLI sends it.
fn filtered(json: &str) -> String {
    format!("/v1.50/tasks?filters={}", common::encoded(json))
}

/// The IDs listed, sorted.
fn ids(tasks: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["ID"].as_str())
        .collect();
    ids.sort();
    ids
}

/// Only the `keys` of an object.
fn pick(object: &Value, keys: &[&str]) -> Value {
    let picked: Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), object[k].clone()))
        .collect();
    Value::Object(picked)
}

#[tokio::test]
async fn tasks_carry_what_the_cli_and_the_visualizer_read() {
    let (api, web) = fixture().await;
    let (status, all) = common::get(&api, "/tasks").await;
    assert_eq!(
        (status, ids(&all)),
        (StatusCode::OK, vec![RUNNING, OLD, GLOBAL])
    );
    let (_, t) = common::get(&api, &format!("/v1.50/tasks/{RUNNING}")).await;
    let keys = [
        "ID",
        "ServiceID",
        "Slot",
        "NodeID",
        "DesiredState",
        "Labels",
    ];
    let want = json!({"ID": RUNNING, "ServiceID": web, "Slot": 1, "NodeID": "w1",
        "DesiredState": "running", "Labels": {}});
    assert_eq!(pick(&t, &keys), want);
    assert!(t["Version"]["Index"].as_u64().unwrap() > 0 && t["CreatedAt"].is_string());
    assert_eq!(t["Spec"]["ContainerSpec"]["Image"], "nginx:alpine");
    // Host-mode ports only: the mesh's are the service's `Endpoint.Ports`.
    let status = json!({"State": "running", "Timestamp": "2023-11-14T22:13:20.000000000Z",
        "Message": "started", "ContainerStatus": {"ContainerID": "c0ffee", "PID": 0, "ExitCode": 0},
        "PortStatus": {"Ports": [{"Protocol": "udp", "TargetPort": 53, "PublishedPort": 5353, "PublishMode": "host"}]}});
    assert_eq!(t["Status"], status);
    let attached = &t["NetworksAttachments"][0];
    assert_eq!(attached["Addresses"], json!(["10.0.1.5/24"]));
    let network = pick(&attached["Network"], &["ID", "Spec"]);
    assert_eq!(
        (&network["ID"], &network["Spec"]["Name"]),
        (&json!("net1"), &json!("appnet"))
    );

    // Not yet started: the visualizer still finds a container status. Global tasks: slot 0.
    let (_, g) = common::get(&api, &format!("/v1.50/tasks/{}", &GLOBAL[..6])).await;
    let want = json!({"Slot": 0, "NodeID": "m1", "Status": {"State": "assigned", "Message": "started",
        "Timestamp": "2023-11-14T22:13:20.000000000Z", "ContainerStatus": {"ContainerID": "", "PID": 0, "ExitCode": 0},
        "PortStatus": {}}});
    assert_eq!(pick(&g, &["Slot", "NodeID", "Status"]), want);
    let (_, old) = common::get(&api, &format!("/v1.50/tasks/{OLD}")).await;
    let failed = json!({"Err": "task: non-zero exit (1)", "State": "failed"});
    assert_eq!(pick(&old["Status"], &["Err", "State"]), failed);
    assert_eq!(
        (
            &old["DesiredState"],
            &old["Status"]["ContainerStatus"]["ExitCode"]
        ),
        (&json!("shutdown"), &json!(1))
    );

    // Through bollard's model, field for field (NetworksAttachments aside, which it lacks).
    let mut ours = t.clone();
    ours.as_object_mut().unwrap().remove("NetworksAttachments");
    let parsed: bollard::models::Task = serde_json::from_value(ours.clone()).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), ours);
}

#[tokio::test]
async fn filters_select_as_moby_does() {
    let (api, _) = fixture().await;
    for (query, want) in [
        (r#"{"service":{"web":true}}"#, vec![RUNNING, OLD]),
        (r#"{"node":{"node-2":true}}"#, vec![RUNNING]),
        (
            r#"{"node":{"m1":true},"service":{"edge":true}}"#,
            vec![GLOBAL],
        ),
        (
            r#"{"desired-state":{"running":true}}"#,
            vec![RUNNING, GLOBAL],
        ),
        (
            r#"{"desired-state":{"shutdown":true,"accepted":true}}"#,
            vec![OLD],
        ),
        (
            r#"{"_up-to-date":{"true":true},"service":{"web":true}}"#,
            vec![RUNNING],
        ),
        (
            r#"{"label":{"com.docker.stack.namespace=app":true}}"#,
            vec![RUNNING, OLD],
        ),
        (
            r#"{"label":{"com.docker.stack.namespace":true},"desired-state":{"running":true}}"#,
            vec![RUNNING],
        ),
        (r#"{"name":{"web.1":true}}"#, vec![RUNNING]),
        (r#"{"name":{"edge.m1":true}}"#, vec![GLOBAL]),
        (r#"{"id":{"t2":true}}"#, vec![OLD]),
        (
            r#"{"runtime":{"container":true}}"#,
            vec![RUNNING, OLD, GLOBAL],
        ),
        (r#"{"runtime":{"plugin":true}}"#, vec![]),
    ] {
        let (status, found) = common::get(&api, &filtered(query)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {found}");
        assert_eq!(ids(&found), want, "{query}");
    }
    for (query, code) in [
        (r#"{"colour":{"x":true}}"#, StatusCode::BAD_REQUEST),
        (
            r#"{"desired-state":{"asleep":true}}"#,
            StatusCode::BAD_REQUEST,
        ),
        (r#"{"service":{"nosuch":true}}"#, StatusCode::NOT_FOUND),
    ] {
        let (status, out) = common::get(&api, &filtered(query)).await;
        assert_eq!(status, code, "{query}: {out}");
        assert!(!out["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn one_task_by_id_or_prefix_else_404() {
    let (api, _) = fixture().await;
    let (status, t) = common::get(&api, &format!("/tasks/{}", &RUNNING[..4])).await;
    assert_eq!((status, t["ID"].as_str()), (StatusCode::OK, Some(RUNNING)));
    let (status, out) = common::get(&api, "/v1.50/tasks/nosuch").await;
    let not_found = (StatusCode::NOT_FOUND, Some("task nosuch not found"));
    assert_eq!((status, out["message"].as_str()), not_found);
    let (status, _) = common::get(&api, "/v1.50/tasks/t").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "three tasks start with `t`"
    );
    let (status, _) = common::get(&common::worker(), "/v1.50/tasks").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn service_ls_counts_running_tasks_out_of_desired_ones() {
    let (api, web) = fixture().await;
    let (_, listed) = common::get(&api, "/v1.50/services?status=true").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for s in listed.as_array().unwrap() {
        // web: 2 replicas, 1 running; edge (global): 1 task meant to run, still assigned.
        let (running, desired) = if s["ID"] == web.as_str() {
            (1, 2)
        } else {
            (0, 1)
        };
        let want = json!({"RunningTasks": running, "DesiredTasks": desired, "CompletedTasks": 0});
        assert_eq!(s["ServiceStatus"], want, "{}", s["Spec"]["Name"]);
    }
}
