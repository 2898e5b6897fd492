//! `GET /events`: swarm events from the manager's history (the control API's `Events`) when the
//! request asks for nothing else (`--filter scope=swarm`, or only swarm types such as
//! `--filter type=service`); every other request goes to the node's engine as before, since
//! container and image events are the engine's.
//!
//! For swarm events only the `type`, `event` and `scope` filters are served.

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use types::convert::event::docker_message;

use crate::error::EngineError;
use crate::filters::Filters;
use crate::params::Params;
use crate::{proxy, Shared};

/// The filter keys docker's `/events` takes.
const DOCKER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];
/// Types only the cluster has (networks are the engine's too: asked alone, they go there).
const SWARM_TYPES: &[&str] = &["service", "node", "task", "secret", "config"];
/// The filters served for swarm events.
const SWARM_KEYS: &[&str] = &["type", "event", "scope"];

pub fn routes() -> Router<Shared> {
    Router::new().route("/events", get(events))
}

/// Whether the request wants swarm events and nothing else.
pub fn asks_for_swarm(filters: &Filters) -> bool {
    let scopes: Vec<&str> = filters.values("scope").collect();
    let types: Vec<&str> = filters.values("type").collect();
    if !scopes.is_empty() {
        return scopes == ["swarm"];
    }
    !types.is_empty() && types.iter().all(|t| SWARM_TYPES.contains(t))
}

async fn events(State(engine): State<Shared>, Query(params): Params, request: Request) -> Response {
    // A filter we cannot read is the engine's to judge, as before this route existed.
    let raw = params.get("filters").map(String::as_str);
    match Filters::parse(raw, DOCKER_KEYS) {
        Ok(filters) if asks_for_swarm(&filters) => swarm_events(&engine, &params, &filters)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        _ => proxy::pass(State(engine), request).await,
    }
}

/// The control API's request for docker's query.
pub fn events_request(
    params: &HashMap<String, String>,
    filters: &Filters,
) -> Result<pc::EventsRequest, EngineError> {
    if let Some(key) = DOCKER_KEYS
        .iter()
        .find(|k| filters.has(k) && !SWARM_KEYS.contains(k))
    {
        return Err(EngineError::bad_request(format!(
            "filter '{key}' is not served for swarm events; use type, event or scope (swarmctl \
             events --filter name=… does names), or leave out scope=swarm to ask the node's engine"
        )));
    }
    let time = |key: &str| {
        params
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                crate::logs::since_ms(v).map_err(|_| {
                    EngineError::bad_request(format!(
                        "invalid {key} `{v}`: pass a Unix time in seconds, such as 1700000000 or 1700000000.5"
                    ))
                })
            })
            .transpose()
    };
    let pair = |key: &str, value: &str| pc::EventFilter {
        key: key.into(),
        value: value.into(),
    };
    let types = filters.values("type").map(|t| pair("type", t));
    let actions = filters.values("event").map(|a| pair("event", a));
    Ok(pc::EventsRequest {
        since_ms: time("since")?,
        until_ms: time("until")?,
        filters: types.chain(actions).collect(),
    })
}

async fn swarm_events(
    engine: &Shared,
    params: &HashMap<String, String>,
    filters: &Filters,
) -> Result<Response, EngineError> {
    let request = events_request(params, filters)?;
    let stream = engine
        .control()?
        .events(tonic::Request::new(request))
        .await?
        .into_inner();
    let lines = stream.map(|event| event.map(|e| Bytes::from(format!("{}\n", docker_message(&e)))));
    let body = Body::from_stream(lines);
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}
