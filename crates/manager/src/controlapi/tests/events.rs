//! `Events` over a local store with a running recorder: live events, replay with `since`,
//! and refused filters.

use std::time::Duration;

use api::control as pc;
use api::control::control_server::Control;
use futures::StreamExt;
use store::Store;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status};

use super::{api_over, assert_status, create, spec, store_with};
use crate::controlapi::events::EventStream;
use crate::controlapi::ControlApi;
use crate::events::{EventHistory, EventRecorder, HistoryLimits};

/// The control API with a recorder feeding its history; cancel the token to stop it.
async fn recorded(store: &Store) -> (ControlApi, EventHistory, CancellationToken) {
    let history = EventHistory::new(HistoryLimits::default());
    let token = CancellationToken::new();
    let recorder = EventRecorder::new(store.clone(), history.clone());
    tokio::spawn(recorder.run(token.clone()));
    // The test runtime has one thread: this lets the recorder subscribe to the store.
    tokio::task::yield_now().await;
    (api_over(store).with_events(history.clone()), history, token)
}

fn request(
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    filters: &[(&str, &str)],
) -> pc::EventsRequest {
    pc::EventsRequest {
        since_ms,
        until_ms,
        filters: filters
            .iter()
            .map(|(k, v)| pc::EventFilter {
                key: k.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

async fn events(api: &ControlApi, req: pc::EventsRequest) -> Result<EventStream, Status> {
    Ok(api.events(Request::new(req)).await?.into_inner())
}

/// What a refused request answers (a stream is not `Debug`).
async fn refused(api: &ControlApi, req: pc::EventsRequest) -> Result<(), Status> {
    events(api, req).await.map(drop)
}

async fn next(stream: &mut EventStream) -> pc::Event {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream is open")
        .expect("an event, not an error")
}

#[tokio::test]
async fn creating_a_service_streams_a_service_create_event() {
    let store = store_with(vec![]).await;
    let (api, _, token) = recorded(&store).await;
    let mut stream = events(&api, request(None, None, &[("type", "service")]))
        .await
        .unwrap();
    let web = create(&api, spec("web")).await.unwrap();
    let event = next(&mut stream).await;
    assert_eq!(
        (event.r#type.as_str(), event.action.as_str()),
        ("service", "create")
    );
    assert_eq!(event.id, web.id);
    assert_eq!(
        event.attributes.get("name").map(String::as_str),
        Some("web")
    );
    assert!(event.time_nano > 0);
    token.cancel();
}

#[tokio::test]
async fn since_replays_the_history_and_until_ends_the_stream() {
    let store = store_with(vec![]).await;
    let (api, history, token) = recorded(&store).await;
    create(&api, spec("web")).await.unwrap();
    api.remove_service(Request::new(pc::RemoveServiceRequest { id: "web".into() }))
        .await
        .unwrap();
    while history.len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let now = types::now_ms();
    let stream = events(&api, request(Some(0), Some(now + 100), &[("name", "web")]))
        .await
        .unwrap();
    let got: Vec<pc::Event> =
        tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>())
            .await
            .expect("the stream ends once `until` passes")
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|e| (e.r#type.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(seen, [("service", "create"), ("service", "remove")]);
    // Without `since` or `until` nothing is replayed.
    let mut live = events(&api, request(None, None, &[])).await.unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(100), live.next()).await;
    assert!(quiet.is_err(), "nothing new happened: {quiet:?}");
    token.cancel();
}

#[tokio::test]
async fn bad_filters_are_refused_naming_what_is_accepted() {
    let store = store_with(vec![]).await;
    let (api, _, token) = recorded(&store).await;
    assert_status(
        refused(&api, request(None, None, &[("type", "bogus")])).await,
        Code::InvalidArgument,
        &["type=bogus", "service, node, task, network, secret, config"],
    );
    assert_status(
        refused(&api, request(None, None, &[("event", "die")])).await,
        Code::InvalidArgument,
        &["create, update, remove"],
    );
    assert_status(
        refused(&api, request(None, None, &[("colour", "red")])).await,
        Code::InvalidArgument,
        &["`colour`", "type, name, id, event"],
    );
    assert_status(
        refused(&api, request(Some(2_000), Some(1_000), &[])).await,
        Code::InvalidArgument,
        &["since_ms 2000 is after until_ms 1000"],
    );
    token.cancel();
    // A control API with no history says so rather than streaming nothing.
    assert_status(
        refused(&api_over(&store), request(None, None, &[])).await,
        Code::Unavailable,
        &["no event history"],
    );
}
