//! The fallback proxy between a real Engine API socket and a stand-in container engine on
//! another unix socket: paths, bodies, streamed answers, upgraded connections, and the
//! answers when there is no engine or it does not answer.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use engineapi::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

/// The lines `GET /events` streams, handed over by the test.
type Events = Arc<Mutex<Option<mpsc::Receiver<Result<Bytes, std::io::Error>>>>>;

/// A stand-in engine speaking API 1.41, as Debian's dockerd 20.10.
fn engine(events: Events) -> Router {
    Router::new()
        .route(
            "/_ping",
            get(|| async { ([("api-version", "1.41")], "OK") }),
        )
        .route("/v1.41/events", get(stream_events))
        .route("/v1.41/exec/{id}/start", post(exec_start))
        .fallback(echo)
        .with_state(events)
}

/// Answers with what it received.
async fn echo(request: Request) -> Json<Value> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Json(json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "host": parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn stream_events(State(events): State<Events>) -> Body {
    let rx = events.lock().unwrap().take().expect("one events request");
    Body::from_stream(ReceiverStream::new(rx))
}

/// As docker's exec: 101, then the raw stream; this one answers what it read, upper-cased,
/// once the client has closed its side.
async fn exec_start(mut request: Request) -> Response {
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let mut io = TokioIo::new(upgrade.await.expect("the client upgrades"));
        let mut input = Vec::new();
        io.read_to_end(&mut input).await.unwrap();
        io.write_all(&input.to_ascii_uppercase()).await.unwrap();
        io.shutdown().await.unwrap();
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "Upgrade"), (header::UPGRADE, "tcp")],
    )
        .into_response()
}

struct Sockets {
    _dir: tempfile::TempDir,
    api: PathBuf,
    events: mpsc::Sender<Result<Bytes, std::io::Error>>,
    stop: CancellationToken,
}

impl Drop for Sockets {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The stand-in engine and a worker's Engine API in front of it.
async fn start() -> Sockets {
    let dir = tempfile::tempdir().unwrap();
    let (engine_path, api) = (dir.path().join("engine.sock"), dir.path().join("api.sock"));
    let (events, rx) = mpsc::channel(4);
    let double = engine(Arc::new(Mutex::new(Some(rx))));
    let listener = UnixListener::bind(&engine_path).unwrap();
    tokio::spawn(async move { axum::serve(listener, double).await.unwrap() });
    let stop = CancellationToken::new();
    let engine = Engine::new(None, "w1".into(), Some(engine_path));
    let listener = UnixListener::bind(&api).unwrap();
    tokio::spawn(engineapi::serve(listener, engine, stop.clone()));
    Sockets {
        _dir: dir,
        api,
        events,
        stop,
    }
}

/// One request on a new connection to `socket`, as the docker CLI sends them.
async fn send(socket: &Path, method: &str, path: &str, body: &str) -> hyper::Response<Incoming> {
    let stream = UnixStream::connect(socket).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection.with_upgrades());
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "api.moby.localhost")
        .header(header::CONTENT_TYPE, "application/json");
    if path.contains("/exec/") {
        request = request
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, "tcp");
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    sender.send_request(request).await.unwrap()
}

async fn json_of(response: hyper::Response<Incoming>) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn requests_reach_the_engine_as_sent_with_an_older_engines_version() {
    let s = start().await;
    let r = send(
        &s.api,
        "POST",
        "/v1.50/containers/create?name=a",
        r#"{"Image":"x"}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let seen = json_of(r).await;
    assert_eq!(seen["method"], "POST");
    assert_eq!(
        seen["uri"], "/v1.41/containers/create?name=a",
        "lowered to 1.41"
    );
    assert_eq!(seen["body"], r#"{"Image":"x"}"#);
    assert_eq!(seen["host"], "api.moby.localhost");
    let seen = json_of(send(&s.api, "GET", "/v1.30/images/json?all=1", "").await).await;
    assert_eq!(
        seen["uri"], "/v1.30/images/json?all=1",
        "older than the engine: kept"
    );
    let seen = json_of(send(&s.api, "DELETE", "/volumes/v1", "").await).await;
    assert_eq!(seen["uri"], "/volumes/v1", "unversioned: kept");
}

#[tokio::test]
async fn a_streamed_answer_arrives_as_produced_and_ends_when_the_client_goes() {
    let s = start().await;
    let mut body = send(&s.api, "GET", "/v1.50/events", "").await.into_body();
    s.events.send(Ok(Bytes::from("one\n"))).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first event is passed on before the stream ends");
    assert_eq!(first.unwrap().unwrap().into_data().unwrap(), "one\n");
    drop(body);
    tokio::time::timeout(Duration::from_secs(5), s.events.closed())
        .await
        .expect("the engine's stream is closed once the client has gone");
}

#[tokio::test]
async fn an_upgraded_connection_carries_bytes_both_ways() {
    let s = start().await;
    let mut response = send(&s.api, "POST", "/v1.50/exec/e1/start", r#"{"Tty":false}"#).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    let mut io = TokioIo::new(upgraded);
    io.write_all(b"hello engine").await.unwrap();
    io.shutdown().await.unwrap(); // docker's CloseWrite when stdin ends
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), io.read_to_end(&mut answer))
        .await
        .expect("the engine answers after the client's half-close")
        .unwrap();
    assert_eq!(answer, b"HELLO ENGINE");
}

#[tokio::test]
async fn an_engine_that_does_not_answer_is_a_502_naming_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-dockerd.sock");
    let engine = Engine::new(None, "w1".into(), Some(missing.clone()));
    let api = engineapi::router(Arc::new(engine));
    let (status, body) = common::get(&api, "/v1.50/containers/json").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(message.contains("--docker-host"), "{message}");
}

#[tokio::test]
async fn a_node_without_an_engine_answers_503_saying_so() {
    let (status, body) = common::get(&common::worker(), "/v1.50/containers/json").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["message"],
        "this node has no container engine configured (swarmd --docker-host)"
    );
}
