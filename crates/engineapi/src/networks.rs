//! `/networks`: list (with docker's filters), inspect, create, remove, through the control API.
//! Every network swarmd has is a swarm-scoped overlay; `ingress` is the built-in one.

use std::collections::BTreeSet;

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{NetworkCreateRequest, NetworkCreateResponse, NetworkInspect};
use serde::Deserialize;
use tonic::Request;

use crate::body::DockerJson;
use crate::convert::network::{network, network_spec};
use crate::error::EngineError;
use crate::filters::Filters;
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/create", post(create))
        .route("/networks/{id}", get(inspect).delete(remove))
}

#[derive(Deserialize)]
struct ListQuery {
    filters: Option<String>,
}

const FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];

/// `GET /networks`. `id` and `name` match a part of the ID or name (moby matches them as
/// patterns); `dangling=true` keeps the networks no service uses; `type` is `builtin` for
/// `ingress` and `custom` for the rest; `driver` and `scope` match exactly.
async fn list(
    State(engine): State<Shared>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<NetworkInspect>>, EngineError> {
    let filters = Filters::parse(query.filters.as_deref(), FILTERS)?;
    let dangling = dangling_filter(&filters)?;
    if let Some(bad) = filters
        .values("type")
        .find(|v| !["builtin", "custom"].contains(v))
    {
        return Err(EngineError::bad_request(format!(
            "invalid filter 'type={bad}': use builtin or custom"
        )));
    }
    let control = engine.control()?;
    let networks = control
        .list_networks(Request::new(pc::ListNetworksRequest {}))
        .await?
        .into_inner()
        .networks;
    let used = match dangling {
        Some(_) => used_networks(&engine).await?,
        None => BTreeSet::new(),
    };
    let mut shown: Vec<NetworkInspect> = networks
        .into_iter()
        .filter(|n| {
            let in_use = used.contains(&n.id) || is_ingress(n);
            dangling.is_none_or(|want| want != in_use) && matches(&filters, n)
        })
        .map(network)
        .collect();
    shown.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(shown))
}

/// `dangling`: `true`/`1` or `false`/`0`, as moby takes it.
fn dangling_filter(filters: &Filters) -> Result<Option<bool>, EngineError> {
    let mut wanted = None;
    for value in filters.values("dangling") {
        let want = match value.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(EngineError::bad_request(format!(
                    "invalid filter 'dangling={value}': use true or false"
                )))
            }
        };
        wanted = Some(want);
    }
    Ok(wanted)
}

/// IDs of the networks some service is attached to.
async fn used_networks(engine: &Shared) -> Result<BTreeSet<String>, EngineError> {
    let services = engine
        .control()?
        .list_services(Request::new(pc::ListServicesRequest {}))
        .await?
        .into_inner()
        .services;
    Ok(services
        .into_iter()
        .filter_map(|s| s.spec?.task)
        .flat_map(|t| t.networks.into_iter().map(|n| n.target))
        .collect())
}

fn is_ingress(n: &pb::Network) -> bool {
    n.spec.as_ref().is_some_and(|s| s.ingress)
}

fn matches(filters: &Filters, n: &pb::Network) -> bool {
    let spec = n.spec.clone().unwrap_or_default();
    let part = |key: &str, value: &str| {
        !filters.has(key) || filters.values(key).any(|v| value.contains(v))
    };
    let kind = if spec.ingress { "builtin" } else { "custom" };
    part("id", &n.id)
        && part("name", &spec.name)
        && filters.labels("label", &spec.labels)
        && filters.exact("driver", crate::convert::network::OVERLAY)
        && filters.exact("scope", "swarm")
        && filters.exact("type", kind)
}

/// `GET /networks/{id}` (`?scope=` and `?verbose=` change nothing: every network is swarm
/// scoped and there is no more to show).
async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<NetworkInspect>, EngineError> {
    let found = engine
        .control()?
        .get_network(Request::new(pc::GetNetworkRequest { id }))
        .await?
        .into_inner();
    Ok(Json(network(found)))
}

/// `POST /networks/create`: 201 with the new network's ID.
async fn create(
    State(engine): State<Shared>,
    DockerJson(request): DockerJson<NetworkCreateRequest>,
) -> Result<(StatusCode, Json<NetworkCreateResponse>), EngineError> {
    let spec = network_spec(request)?;
    let created = engine
        .control()?
        .create_network(Request::new(pc::CreateNetworkRequest { spec: Some(spec) }))
        .await?
        .into_inner();
    let answer = NetworkCreateResponse {
        id: created.id,
        warning: String::new(),
    };
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /networks/{id}`: 204.
async fn remove(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, EngineError> {
    engine
        .control()?
        .remove_network(Request::new(pc::RemoveNetworkRequest { id }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
