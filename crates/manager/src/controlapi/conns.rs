//! `ServiceConns`: the live connections the routing mesh carries to one service's tasks.
//!
//! Every Ready node's agent is asked, concurrently and within [`NODE_TIMEOUT`], for what its
//! connection tracking says the mesh forwarded; [`match_conns`] keeps the connections whose
//! backend is an address of one of the service's tasks. A node that does not answer is named
//! in `unreachable` and the others still count.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use api::control::{ServiceConn, ServiceConnsRequest, ServiceConnsResponse};
use api::dispatcher::{AgentConnsRequest, MeshConn};
use store::{Store, Tables};
use tokio::task::JoinSet;
use tonic::{Request, Response, Status};
use types::{Node, NodeState, TaskState};

use super::agents::NodeConnector;
use super::error::ApiError;

/// How long one node may take to answer before it is reported unreachable.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(2);

/// A task of the service as the mesh can reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBackend {
    pub task_id: String,
    /// `service.slot`, or `service.node-id` for a global task.
    pub name: String,
    /// Hostname of the node that runs it.
    pub node: String,
    /// Its addresses on ingress and its other networks.
    pub addrs: Vec<Ipv4Addr>,
}

/// What one node's connection tracking said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConns {
    pub hostname: String,
    pub conns: Vec<MeshConn>,
}

/// The rows for connections whose backend is one of `tasks`, ordered by node then client.
/// Entries whose addresses do not parse cannot name a task and are left out.
pub fn match_conns(tasks: &[TaskBackend], nodes: &[NodeConns]) -> Vec<ServiceConn> {
    let by_addr: HashMap<Ipv4Addr, &TaskBackend> = tasks
        .iter()
        .flat_map(|t| t.addrs.iter().map(move |a| (*a, t)))
        .collect();
    let mut rows = Vec::new();
    for node in nodes {
        for c in &node.conns {
            let (Ok(backend), Ok(published)) = (
                c.backend.parse::<SocketAddrV4>(),
                c.published.parse::<SocketAddrV4>(),
            ) else {
                continue;
            };
            let Some(task) = by_addr.get(backend.ip()) else {
                continue;
            };
            rows.push(ServiceConn {
                client: c.client.clone(),
                via_node: node.hostname.clone(),
                published_port: u32::from(published.port()),
                protocol: c.protocol.clone(),
                task_id: task.task_id.clone(),
                task_name: task.name.clone(),
                task_node: task.node.clone(),
                task_addr: c.backend.clone(),
                state: c.state.clone(),
                timeout_secs: c.timeout_secs,
                age_secs: c.age_secs,
            });
        }
    }
    rows.sort_by(|a, b| (&a.via_node, &a.client).cmp(&(&b.via_node, &b.client)));
    rows
}

/// The service's tasks that hold an address (those not finished yet: a finished task's
/// address may already belong to another service's task).
fn backends(tables: &Tables, service_id: &str) -> Vec<TaskBackend> {
    tables
        .tasks_of_service(service_id)
        .filter(|t| t.status.state <= TaskState::Running && !t.networks.is_empty())
        .map(|t| {
            let node = tables.nodes.get(&t.node_id);
            TaskBackend {
                task_id: t.id.clone(),
                name: match t.slot {
                    0 => format!("{}.{}", t.service_name, t.node_id),
                    slot => format!("{}.{slot}", t.service_name),
                },
                node: node.map_or_else(|| t.node_id.clone(), |n| n.description.hostname.clone()),
                addrs: t
                    .networks
                    .iter()
                    .filter_map(|a| a.addr.parse().ok())
                    .collect(),
            }
        })
        .collect()
}

pub async fn service_conns(
    store: &Store,
    connector: &Arc<dyn NodeConnector>,
    request: Request<ServiceConnsRequest>,
) -> Result<Response<ServiceConnsResponse>, Status> {
    let req = request.into_inner();
    let (tasks, nodes) = store
        .view(|t| {
            let service = t.find_service(&req.service)?;
            let nodes: Vec<Node> = t
                .nodes
                .values()
                .filter(|n| n.status.state == NodeState::Ready)
                .cloned()
                .collect();
            Ok::<_, store::LookupError>((backends(t, &service.id), nodes))
        })
        .map_err(ApiError::from)?;
    let mut readers = JoinSet::new();
    for node in nodes {
        let connector = connector.clone();
        readers.spawn(async move {
            let hostname = node.description.hostname.clone();
            let read = async {
                let mut client = connector.agent(&node).await?;
                Ok::<_, Status>(client.conns(AgentConnsRequest {}).await?.into_inner())
            };
            let result = match tokio::time::timeout(NODE_TIMEOUT, read).await {
                Ok(Ok(reply)) => Ok(reply.conns),
                Ok(Err(status)) => Err(status.message().to_string()),
                Err(_) => Err(format!("no answer within {}s", NODE_TIMEOUT.as_secs())),
            };
            (hostname, result)
        });
    }
    let mut read = Vec::new();
    let mut unreachable = Vec::new();
    while let Some(joined) = readers.join_next().await {
        match joined {
            Ok((hostname, Ok(conns))) => read.push(NodeConns { hostname, conns }),
            Ok((hostname, Err(why))) => unreachable.push(format!("{hostname}: {why}")),
            Err(e) => unreachable.push(format!("a node reader failed: {e}")),
        }
    }
    unreachable.sort();
    Ok(Response::new(ServiceConnsResponse {
        conns: match_conns(&tasks, &read),
        unreachable,
    }))
}

#[cfg(test)]
#[path = "conns_tests.rs"]
mod tests;
