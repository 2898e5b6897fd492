//! `GET /services/{id}/logs` and `GET /tasks/{id}/logs`: the control API's `ServiceLogs`
//! stream, written as docker's multiplexed stream by [`frame`].
//!
//! With `details=1` each line starts with where it came from,
//! `com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… `:
//! `docker service logs` reads those keys to print `web.1.abc123@node-1 | …` and fails on a
//! line without them (`--raw` drops `details`). The control API's lines carry the node and
//! task; the service ID comes from resolving the request's service or task.

pub mod frame;

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use manager::controlapi::ControlApi;
use tonic::Request;

use crate::error::EngineError;
use crate::params::{flag, Params};
use crate::Shared;

/// What docker answers for a non-TTY log stream (API ≥ 1.42).
pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/services/{id}/logs", get(service_logs))
        .route("/tasks/{id}/logs", get(task_logs))
}

/// The query of a logs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Lines per task counted from the end; -1 for all of them.
    pub tail: i64,
    pub timestamps: bool,
    pub details: bool,
    /// Only lines stamped at or after this time, in ms since the epoch.
    pub since_ms: Option<i64>,
}

impl LogOptions {
    pub fn parse(params: &HashMap<String, String>) -> Result<Self, EngineError> {
        let options = LogOptions {
            stdout: flag(params, "stdout"),
            stderr: flag(params, "stderr"),
            follow: flag(params, "follow"),
            tail: tail(params.get("tail").map_or("all", String::as_str))?,
            timestamps: flag(params, "timestamps"),
            details: flag(params, "details"),
            since_ms: params.get("since").map(|s| since_ms(s)).transpose()?,
        };
        if !options.stdout && !options.stderr {
            // moby's text, word for word.
            return Err(EngineError::bad_request(
                "Bad parameters: you must choose at least one stream",
            ));
        }
        Ok(options)
    }
}

fn tail(raw: &str) -> Result<i64, EngineError> {
    if raw.is_empty() || raw == "all" {
        return Ok(-1);
    }
    match raw.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(EngineError::bad_request(format!(
            "invalid tail `{raw}`: pass a number of lines (0 or more) or `all`"
        ))),
    }
}

/// docker sends `since` as Unix seconds with an optional fraction (`1700000000.123456789`).
pub(crate) fn since_ms(raw: &str) -> Result<i64, EngineError> {
    let bad = || {
        EngineError::bad_request(format!(
            "invalid since `{raw}`: pass a Unix time in seconds, such as 1700000000 or 1700000000.5"
        ))
    };
    let (secs, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().map_err(|_| bad())?;
    secs.checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .ok_or_else(bad)
}

async fn service_logs(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, EngineError> {
    let options = LogOptions::parse(&params)?;
    let control = engine.control()?;
    let service = control
        .get_service(Request::new(pc::GetServiceRequest { id }))
        .await?
        .into_inner();
    stream(control, service.id.clone(), service.id, options).await
}

async fn task_logs(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, EngineError> {
    let options = LogOptions::parse(&params)?;
    let control = engine.control()?;
    let task = crate::tasks::lookup(control, &id).await?;
    stream(control, task.id, task.service_id, options).await
}

/// `target` is the service or task ID for `ServiceLogs`; `service_id` goes into `details`.
async fn stream(
    control: &ControlApi,
    target: String,
    service_id: String,
    options: LogOptions,
) -> Result<Response, EngineError> {
    let lines = control
        .service_logs(Request::new(pc::ServiceLogsRequest {
            service: target,
            follow: options.follow,
            tail: options.tail,
            timestamps: options.timestamps,
        }))
        .await?
        .into_inner();
    let body = Body::from_stream(frame::frames(lines, service_id, options));
    Ok(([(CONTENT_TYPE, MULTIPLEXED)], body).into_response())
}

#[cfg(test)]
mod tests;
