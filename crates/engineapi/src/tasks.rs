//! `/tasks`: the list `service ps`, `node ps`, `stack ps`, the progress loop and the visualizer
//! poll, and one task (`service logs` reads each task's slot and node).

use std::collections::HashMap;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use bollard::models::TaskState;
use manager::controlapi::ControlApi;
use tonic::Request;

use crate::convert::attachment::Networks;
use crate::convert::service_spec_out::RUNTIME_CONTAINER;
use crate::convert::task::{state, task, TaskJson};
use crate::error::EngineError;
use crate::filters::Filters;
use crate::params::Params;
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/{id}", get(inspect))
}

const FILTERS: &[&str] = &[
    "id",
    "name",
    "label",
    "service",
    "node",
    "desired-state",
    "_up-to-date",
    "runtime",
];

/// moby's task filters. `service` and `node` take names, IDs or ID prefixes (the control API
/// resolves them, and answers 404 for one that does not exist); `label` matches the labels of
/// the task's service; `_up-to-date` keeps the tasks made from their service's current spec.
async fn list(
    State(engine): State<Shared>,
    Query(params): Params,
) -> Result<Json<Vec<TaskJson>>, EngineError> {
    let filters = Filters::parse(params.get("filters").map(String::as_str), FILTERS)?;
    let desired = filters
        .values("desired-state")
        .map(|v| {
            v.parse::<TaskState>().map_err(|()| {
                EngineError::bad_request(format!(
                    "invalid filter 'desired-state={v}': use a task state such as running, shutdown or accepted"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let up_to_date = filters
        .values("_up-to-date")
        .any(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true"));
    let control = engine.control()?;
    let request = pc::ListTasksRequest {
        service_ids: filters.values("service").map(str::to_string).collect(),
        node_ids: filters.values("node").map(str::to_string).collect(),
        desired_running_only: false,
    };
    let tasks = control
        .list_tasks(Request::new(request))
        .await?
        .into_inner()
        .tasks;
    let services: HashMap<String, pb::Service> = control
        .list_services(Request::new(pc::ListServicesRequest {}))
        .await?
        .into_inner()
        .services
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let empty = HashMap::new();
    let networks = Networks::load(control).await?;
    let kept = tasks.into_iter().filter(|t| {
        let service = services.get(&t.service_id);
        let labels = service
            .and_then(|s| s.spec.as_ref())
            .map_or(&empty, |s| &s.labels);
        filters.prefix("id", &t.id)
            && filters.prefix("name", &name(t))
            && filters.labels("label", labels)
            && (desired.is_empty() || desired.contains(&state(t.desired_state)))
            && (!up_to_date || service.is_some_and(|s| s.spec_version == t.spec_version))
            && filters.exact("runtime", RUNTIME_CONTAINER)
    });
    Ok(Json(kept.map(|t| task(t, &networks)).collect()))
}

/// swarmkit's task name, which the `name` filter matches by prefix: `web.1.<id>` for
/// replicated tasks, `web.<node>.<id>` for global ones.
fn name(t: &pb::Task) -> String {
    let place = if t.slot > 0 {
        t.slot.to_string()
    } else {
        t.node_id.clone()
    };
    format!("{}.{place}.{}", t.service_name, t.id)
}

/// One task by full ID or unique ID prefix.
async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<TaskJson>, EngineError> {
    let control = engine.control()?;
    let found = lookup(control, &id).await?;
    let networks = Networks::load(control).await?;
    Ok(Json(task(found, &networks)))
}

/// A task by full ID or unique ID prefix (the control API has no single-task read).
pub(crate) async fn lookup(control: &ControlApi, query: &str) -> Result<pb::Task, EngineError> {
    let tasks = control
        .list_tasks(Request::new(pc::ListTasksRequest::default()))
        .await?
        .into_inner()
        .tasks;
    find(tasks, query)
}

/// The task `query` names among `tasks`: its full ID, or a prefix of exactly one.
pub(crate) fn find(tasks: Vec<pb::Task>, query: &str) -> Result<pb::Task, EngineError> {
    let mut matches: Vec<pb::Task> = tasks
        .into_iter()
        .filter(|t| !query.is_empty() && t.id.starts_with(query))
        .collect();
    if let Some(exact) = matches.iter().position(|t| t.id == query) {
        return Ok(matches.swap_remove(exact));
    }
    match matches.len() {
        0 => Err(EngineError::not_found(format!("task {query} not found"))),
        1 => Ok(matches.remove(0)),
        n => Err(EngineError::bad_request(format!(
            "task {query} is ambiguous ({n} matches found); give more of its ID"
        ))),
    }
}
