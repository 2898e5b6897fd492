//! `/secrets` and `/configs`: list, create, inspect, update (labels only), remove, through the
//! control API. One set of handlers serves both kinds; they differ in their JSON model and in
//! that a config's data is shown.

use api::control as pc;
use api::control::control_server::Control;
use api::objects::{self as pb, DataKind};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{Config, ConfigSpec, Secret, SecretSpec};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tonic::Request;

use crate::body::parse;
use crate::convert::data::{config, config_spec, secret, secret_spec};
use crate::error::EngineError;
use crate::filters::Filters;
use crate::params::{version, Params};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .merge(routes_of(DataKind::Secret))
        .merge(routes_of(DataKind::Config))
}

fn routes_of(kind: DataKind) -> Router<Shared> {
    let base = format!("/{}s", what(kind));
    Router::new()
        .route(
            &base,
            get(move |s: State<Shared>, q: Query<ListQuery>| list(kind, s, q)),
        )
        .route(
            &format!("{base}/create"),
            post(move |s: State<Shared>, body: Bytes| create(kind, s, body)),
        )
        .route(
            &format!("{base}/{{id}}"),
            get(move |s: State<Shared>, id: Path<String>| inspect(kind, s, id))
                .delete(move |s: State<Shared>, id: Path<String>| remove(kind, s, id)),
        )
        .route(
            &format!("{base}/{{id}}/update"),
            post(
                move |s: State<Shared>, id: Path<String>, p: Params, body: Bytes| {
                    update(kind, s, id, p, body)
                },
            ),
        )
}

fn what(kind: DataKind) -> &'static str {
    match kind {
        DataKind::Secret => "secret",
        DataKind::Config => "config",
    }
}

/// A secret or a config in docker's model.
#[derive(Serialize)]
#[serde(untagged)]
enum Shown {
    Secret(Secret),
    Config(Config),
}

fn shown(kind: DataKind, object: pb::DataObject) -> Shown {
    match kind {
        DataKind::Secret => Shown::Secret(secret(object)),
        DataKind::Config => Shown::Config(config(object)),
    }
}

/// A request body: docker's spec of the kind, as ours.
fn spec_in(kind: DataKind, body: &[u8]) -> Result<pb::DataSpec, EngineError> {
    match kind {
        DataKind::Secret => secret_spec(parse::<SecretSpec>(body)?),
        DataKind::Config => config_spec(parse::<ConfigSpec>(body)?),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    filters: Option<String>,
}

const FILTERS: &[&str] = &["id", "name", "names", "label"];

/// `GET /secrets|/configs`: `id` and `name` by prefix, `names` exactly, `label`.
async fn list(
    kind: DataKind,
    State(engine): State<Shared>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Shown>>, EngineError> {
    let filters = Filters::parse(query.filters.as_deref(), FILTERS)?;
    let mut objects = engine
        .control()?
        .list_data(Request::new(pc::ListDataRequest { kind: kind.into() }))
        .await?
        .into_inner()
        .objects;
    objects.retain(|o| {
        let spec = o.spec.clone().unwrap_or_default();
        filters.prefix("id", &o.id)
            && filters.prefix("name", &spec.name)
            && filters.exact("names", &spec.name)
            && filters.labels("label", &spec.labels)
    });
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(objects.into_iter().map(|o| shown(kind, o)).collect()))
}

/// `POST /secrets|/configs/create`: 201 `{"ID"}` (bollard's `IdResponse` would write `id`).
async fn create(
    kind: DataKind,
    State(engine): State<Shared>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), EngineError> {
    let spec = spec_in(kind, &body)?;
    let created = engine
        .control()?
        .create_data(Request::new(pc::CreateDataRequest {
            kind: kind.into(),
            spec: Some(spec),
        }))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(json!({ "ID": created.id }))))
}

/// `GET /secrets|/configs/{id}`: by ID, name or unique ID prefix; 404 when there is none
/// (`stack deploy` creates it then).
async fn inspect(
    kind: DataKind,
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Shown>, EngineError> {
    let found = engine
        .control()?
        .get_data(Request::new(pc::GetDataRequest {
            kind: kind.into(),
            id,
        }))
        .await?
        .into_inner();
    Ok(Json(shown(kind, found)))
}

/// `POST /secrets|/configs/{id}/update?version=N`: the spec as read (with the same data, or
/// none), its labels changed.
async fn update(
    kind: DataKind,
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
    body: Bytes,
) -> Result<(), EngineError> {
    let request = pc::UpdateDataRequest {
        kind: kind.into(),
        id,
        version: version(&params)?,
        spec: Some(spec_in(kind, &body)?),
    };
    engine.control()?.update_data(Request::new(request)).await?;
    Ok(())
}

/// `DELETE /secrets|/configs/{id}`: 204.
async fn remove(
    kind: DataKind,
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, EngineError> {
    engine
        .control()?
        .remove_data(Request::new(pc::RemoveDataRequest {
            kind: kind.into(),
            id,
        }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
