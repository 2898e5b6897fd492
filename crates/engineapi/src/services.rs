//! `/services`: list (with `service ls`'s replica counts), create, inspect, update (scale,
//! update, rollback), remove. Each goes to the control API in-process; this module only
//! reads docker's parameters and bodies and writes docker's answers.

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::ServiceSpec;
use serde_json::{json, Value};
use tonic::Request;

use crate::body::{self, DockerJson};
use crate::convert::attachment::Networks;
use crate::convert::service::{service, service_status, ServiceJson};
use crate::convert::service_spec_in::service_spec;
use crate::convert::service_spec_out::RUNTIME_CONTAINER;
use crate::error::EngineError;
use crate::filters::Filters;
use crate::params::{self, Params};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/services", get(list))
        .route("/services/create", post(create))
        .route("/services/{id}", get(inspect).delete(remove))
        .route("/services/{id}/update", post(update))
}

const FILTERS: &[&str] = &["id", "name", "label", "mode", "runtime"];
const MODES: &[&str] = &["replicated", "global"];

async fn list(
    State(engine): State<Shared>,
    Query(params): Params,
) -> Result<Json<Vec<ServiceJson>>, EngineError> {
    let filters = Filters::parse(params.get("filters").map(String::as_str), FILTERS)?;
    if let Some(bad) = filters.values("mode").find(|m| !MODES.contains(m)) {
        return Err(EngineError::bad_request(format!(
            "invalid filter 'mode={bad}': use replicated or global"
        )));
    }
    let control = engine.control()?;
    let services = control
        .list_services(Request::new(pc::ListServicesRequest {}))
        .await?
        .into_inner()
        .services;
    let services: Vec<pb::Service> = services
        .into_iter()
        .filter(|s| matches(&filters, s))
        .collect();
    // `service ls` asks for the counts; one read of the tasks serves every service.
    let tasks = if params::flag(&params, "status") {
        let request = pc::ListTasksRequest::default();
        Some(
            control
                .list_tasks(Request::new(request))
                .await?
                .into_inner()
                .tasks,
        )
    } else {
        None
    };
    let networks = Networks::load(control).await?;
    Ok(Json(
        services
            .into_iter()
            .map(|s| {
                let status = tasks.as_ref().map(|tasks| service_status(&s, tasks));
                let mut out = service(s, &networks);
                out.service.service_status = status;
                out
            })
            .collect(),
    ))
}

/// moby's service filters: `id` and `name` by prefix, `label` on the service's labels.
fn matches(filters: &Filters, s: &pb::Service) -> bool {
    let empty = HashMap::new();
    let spec = s.spec.as_ref();
    let mode = match spec.and_then(|s| s.mode) {
        Some(pb::service_spec::Mode::Global(true)) => "global",
        _ => "replicated",
    };
    filters.prefix("id", &s.id)
        && filters.prefix("name", spec.map_or("", |s| s.name.as_str()))
        && filters.labels("label", spec.map_or(&empty, |s| &s.labels))
        && filters.exact("mode", mode)
        && filters.exact("runtime", RUNTIME_CONTAINER)
}

/// `X-Registry-Auth` is not read: swarmd carries no registry credentials to the nodes, which
/// pull anonymously (a private image must already be on them).
async fn create(
    State(engine): State<Shared>,
    DockerJson(spec): DockerJson<ServiceSpec>,
) -> Result<(StatusCode, Json<Value>), EngineError> {
    let control = engine.control()?;
    let request = pc::CreateServiceRequest {
        spec: Some(service_spec(spec)?),
    };
    let created = control
        .create_service(Request::new(request))
        .await?
        .into_inner();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ID": created.id, "Warnings": null })),
    ))
}

/// `insertDefaults` is not read: the defaults the CLI relies on (update config and its
/// monitor period, restart policy, stop grace period) are always written out.
async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<ServiceJson>, EngineError> {
    let control = engine.control()?;
    let found = control
        .get_service(Request::new(pc::GetServiceRequest { id }))
        .await?
        .into_inner();
    let networks = Networks::load(control).await?;
    Ok(Json(service(found, &networks)))
}

/// `?version=` is required (docker's optimistic concurrency). `rollback=previous` goes back to
/// the previous spec and ignores the body (`service rollback` sends the current spec).
/// `registryAuthFrom` is not read, as `X-Registry-Auth` is not on create.
async fn update(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
    bytes: Bytes,
) -> Result<Json<Value>, EngineError> {
    let version = params::version(&params)?;
    let rollback = match params.get("rollback").map(String::as_str) {
        None | Some("") => false,
        Some("previous") => true,
        Some(other) => {
            return Err(EngineError::bad_request(format!(
                "invalid rollback `{other}`: the only value is `previous`"
            )))
        }
    };
    let control = engine.control()?;
    let spec = if rollback {
        None
    } else {
        Some(service_spec(body::parse(&bytes)?)?)
    };
    let request = pc::UpdateServiceRequest {
        id,
        version,
        spec,
        rollback,
    };
    control.update_service(Request::new(request)).await?;
    Ok(Json(json!({ "Warnings": null })))
}

async fn remove(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, EngineError> {
    let request = pc::RemoveServiceRequest { id };
    engine
        .control()?
        .remove_service(Request::new(request))
        .await?;
    Ok(StatusCode::OK)
}
