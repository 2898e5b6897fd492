//! Service and task logs through the real router and control API. The harness's agents refuse
//! every connection, so a task's logs end in the one error frame naming its node; the framing
//! of the lines themselves is unit-tested in `src/logs/tests.rs`.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use store::{Object, StoreError};
use tower::ServiceExt;
use types::{Service, ServiceSpec, Task, TaskState, TaskStatus};

const SERVICE_ID: &str = "svc0000000000000000000web";
const TASK_ID: &str = "tsk0000000000000000000one";

/// Service `web`, with one running task on `w1` (hostname `node-2`) when `running`.
async fn with_web(running: bool) -> Router {
    let store = common::store().await;
    let service = Service {
        id: SERVICE_ID.into(),
        spec: ServiceSpec {
            name: "web".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let task = Task {
        id: TASK_ID.into(),
        service_id: SERVICE_ID.into(),
        service_name: "web".into(),
        slot: 1,
        node_id: "w1".into(),
        desired_state: TaskState::Running,
        status: TaskStatus {
            state: TaskState::Running,
            ..Default::default()
        },
        ..Default::default()
    };
    store
        .update(|_, tx| {
            tx.create(Object::Service(service.clone()));
            if running {
                tx.create(Object::Task(task.clone()));
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    common::manager(&store)
}

/// Status, content type and body of a GET.
async fn fetch(api: &Router, path: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body.to_vec())
}

#[tokio::test]
async fn a_request_for_no_stream_is_refused_with_dockers_text() {
    let api = with_web(true).await;
    for path in [
        "/v1.50/services/web/logs?follow=1&tail=all",
        "/v1.50/tasks/tsk0/logs?stdout=0&stderr=false",
    ] {
        let (status, body) = common::get(&api, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            body["message"],
            "Bad parameters: you must choose at least one stream"
        );
    }
    let (status, body) = common::get(&api, "/v1.50/services/web/logs?stdout=1&tail=-2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("invalid tail `-2`"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_services_and_tasks_are_404() {
    let api = with_web(true).await;
    let (status, _) = common::get(&api, "/v1.50/services/nope/logs?stdout=1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = common::get(&api, "/v1.50/tasks/nope/logs?stdout=1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "task nope not found");
}

#[tokio::test]
async fn logs_are_a_multiplexed_stream_ending_with_the_nodes_that_could_not_be_read() {
    let api = with_web(true).await;
    for path in [
        "/v1.50/services/web/logs?details=1&stderr=1&stdout=1&tail=all",
        "/v1.50/tasks/tsk000/logs?stdout=1&timestamps=1",
    ] {
        let (status, content_type, body) = fetch(&api, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(content_type, "application/vnd.docker.multiplexed-stream");
        assert_eq!(&body[..4], &[3, 0, 0, 0], "a daemon error frame: {body:?}");
        let len = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
        assert_eq!(body.len(), 8 + len, "one frame only");
        let text = String::from_utf8_lossy(&body[8..]);
        assert!(
            text.starts_with("Error grabbing logs: warning: incomplete log stream."),
            "{text}"
        );
        assert!(text.contains("cannot read logs from node node-2"), "{text}");
    }
}

#[tokio::test]
async fn a_service_without_containers_has_an_empty_stream() {
    let api = with_web(false).await;
    let (status, content_type, body) = fetch(&api, "/services/web/logs?stdout=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/vnd.docker.multiplexed-stream");
    assert!(body.is_empty(), "{body:?}");
}

#[tokio::test]
async fn workers_refuse_logs_as_not_a_manager() {
    let (status, body) = common::get(&common::worker(), "/v1.50/services/web/logs?stdout=1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["message"], engineapi::error::NOT_MANAGER);
}
