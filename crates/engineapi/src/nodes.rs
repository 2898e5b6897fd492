//! `/nodes`: list (with docker's filters), inspect, update, remove; each through the control
//! API, so `docker node …` and `swarmctl node …` follow the same rules and say the same things.

use api::control as pc;
use api::control::control_server::Control;
use api::objects as pb;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use bollard::models::{Node, NodeSpec};
use serde::Deserialize;
use tonic::Request;

use crate::body::DockerJson;
use crate::convert::node::{node, node_spec};
use crate::error::EngineError;
use crate::filters::Filters;
use crate::params::{flag, version, Params};
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/nodes", get(list))
        .route("/nodes/{id}", get(inspect).delete(remove))
        .route("/nodes/{id}/update", post(update))
}

#[derive(Deserialize)]
struct ListQuery {
    filters: Option<String>,
}

const FILTERS: &[&str] = &["id", "name", "label", "node.label", "role", "membership"];

/// `GET /nodes`: `id` and `name` (hostname) by prefix, `label` on the engine's labels,
/// `node.label` on the node's own, `role` (manager|worker), `membership` (accepted|pending).
async fn list(
    State(engine): State<Shared>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<Node>>, EngineError> {
    let filters = Filters::parse(query.filters.as_deref(), FILTERS)?;
    check_values(&filters, "role", &["manager", "worker"])?;
    check_values(&filters, "membership", &["accepted", "pending"])?;
    let nodes = engine
        .control()?
        .list_nodes(Request::new(pc::ListNodesRequest {}))
        .await?
        .into_inner()
        .nodes;
    let mut shown: Vec<Node> = nodes
        .into_iter()
        .filter(|n| matches(&filters, n))
        .map(node)
        .collect();
    shown.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(shown))
}

/// Refuses a filter value docker would refuse, naming the ones it takes.
fn check_values(filters: &Filters, key: &str, allowed: &[&str]) -> Result<(), EngineError> {
    match filters.values(key).find(|v| !allowed.contains(v)) {
        Some(bad) => Err(EngineError::bad_request(format!(
            "invalid filter '{key}={bad}': use one of {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn matches(filters: &Filters, n: &pb::Node) -> bool {
    let description = n.description.clone().unwrap_or_default();
    let spec = n.spec.clone().unwrap_or_default();
    let role = match pb::NodeRole::try_from(n.role) {
        Ok(pb::NodeRole::Manager) => "manager",
        _ => "worker",
    };
    filters.prefix("id", &n.id)
        && filters.prefix("name", &description.hostname)
        && filters.labels("label", &description.engine_labels)
        && filters.labels("node.label", &spec.labels)
        && filters.exact("role", role)
        // Every node the store holds has been accepted into the cluster (joined with a token).
        && filters.exact("membership", "accepted")
}

/// `GET /nodes/{id}`: by ID, hostname or unique ID prefix.
async fn inspect(
    State(engine): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Node>, EngineError> {
    let found = engine
        .control()?
        .get_node(Request::new(pc::GetNodeRequest { id }))
        .await?
        .into_inner();
    Ok(Json(node(found)))
}

/// `POST /nodes/{id}/update?version=N`: the whole spec as read, edited.
async fn update(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
    DockerJson(spec): DockerJson<NodeSpec>,
) -> Result<(), EngineError> {
    let request = pc::UpdateNodeRequest {
        id,
        version: version(&params)?,
        spec: Some(node_spec(spec)?),
    };
    engine.control()?.update_node(Request::new(request)).await?;
    Ok(())
}

/// `DELETE /nodes/{id}?force=1`.
async fn remove(
    State(engine): State<Shared>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<(), EngineError> {
    let force = flag(&params, "force");
    engine
        .control()?
        .remove_node(Request::new(pc::RemoveNodeRequest { id, force }))
        .await?;
    Ok(())
}
