//! Nodes: list, get, update (availability, labels, desired role) and remove.
//!
//! Promotion and demotion only write `spec.desired_role`; the daemon watches it and changes Raft
//! membership. What is refused here is what would leave the cluster without a working Raft
//! majority: demoting the last manager, or a demotion that loses quorum.

use api::control as pc;
use store::{Kind, Object, Store, Tables};
use types::validate::validate_node_spec;
use types::{Node, NodeRole, NodeSpec, NodeState, Reachability};

use super::error::ApiError;
use super::services::check_version;

pub fn list(store: &Store) -> Vec<Node> {
    store.view(|t| t.nodes.values().cloned().collect())
}

pub fn get(store: &Store, query: &str) -> Result<Node, ApiError> {
    Ok(store.view(|t| t.find_node(query).cloned())?)
}

/// The name users know a node by.
fn name(node: &Node) -> &str {
    if node.description.hostname.is_empty() {
        &node.id
    } else {
        &node.description.hostname
    }
}

/// A manager now, or one on its way to becoming one.
fn is_manager(node: &Node) -> bool {
    node.role == NodeRole::Manager || node.spec.desired_role == NodeRole::Manager
}

/// Whether `node` may be demoted without leaving the cluster unable to commit.
fn check_demote(tables: &Tables, node: &Node) -> Result<(), ApiError> {
    let staying: Vec<&Node> = tables
        .nodes
        .values()
        .filter(|n| n.id != node.id && n.spec.desired_role == NodeRole::Manager)
        .collect();
    if staying.is_empty() {
        return Err(ApiError::FailedPrecondition(format!(
            "node {} is the last manager of the cluster and cannot be demoted; promote another node first (`swarmctl node promote NODE`)",
            name(node)
        )));
    }
    // Raft voters after the change, and how many of them answer. Unknown reachability counts as
    // reachable: only managers known to be unreachable make the majority unsafe.
    let voters: Vec<&&Node> = staying
        .iter()
        .filter(|n| n.role == NodeRole::Manager)
        .collect();
    let reachable = voters
        .iter()
        .filter(|n| {
            n.manager_status
                .as_ref()
                .is_none_or(|m| m.reachability != Reachability::Unreachable)
        })
        .count();
    if !voters.is_empty() && reachable <= voters.len() / 2 {
        return Err(ApiError::FailedPrecondition(format!(
            "demoting node {} would leave {reachable} of {} managers reachable, short of a Raft majority; bring the unreachable managers back (or remove them) first",
            name(node),
            voters.len()
        )));
    }
    Ok(())
}

pub async fn update(store: &Store, req: pc::UpdateNodeRequest) -> Result<Node, ApiError> {
    let spec = req.spec.ok_or_else(|| {
        ApiError::InvalidArgument("spec is missing; send the node's full spec".into())
    })?;
    let spec = NodeSpec::try_from(spec)?;
    validate_node_spec(&spec)?;
    let id = store
        .update(|tables, tx| {
            let node = tables.find_node(&req.id)?;
            check_version("node", &node.id, req.version, node.meta.version)?;
            if spec.desired_role == NodeRole::Worker && is_manager(node) {
                check_demote(tables, node)?;
            }
            if spec != node.spec {
                let mut node = node.clone();
                node.spec = spec.clone();
                tx.update(Object::Node(node));
            }
            Ok::<_, ApiError>(node.id.clone())
        })
        .await?;
    store
        .view(|t| t.nodes.get(&id).cloned())
        .ok_or_else(|| ApiError::NotFound(format!("node {id} was removed meanwhile")))
}

/// Forgets a node. A node still up must be forced out; a manager must leave Raft (be demoted)
/// first unless it is down, in which case the daemon removes it from membership.
pub async fn remove(store: &Store, req: pc::RemoveNodeRequest) -> Result<(), ApiError> {
    store
        .update(|tables, tx| {
            let node = tables.find_node(&req.id)?;
            let down = node.status.state == NodeState::Down;
            if is_manager(node) && !down {
                return Err(ApiError::FailedPrecondition(format!(
                    "node {} is a manager and a member of Raft; demote it first (`swarmctl node demote {}`), then remove it",
                    name(node),
                    name(node)
                )));
            }
            if node.status.state == NodeState::Ready && !req.force {
                return Err(ApiError::FailedPrecondition(format!(
                    "node {} is not down and can't be removed; stop its swarmd first, or use --force",
                    name(node)
                )));
            }
            tx.remove(Kind::Node, node.id.clone());
            Ok(())
        })
        .await
}
