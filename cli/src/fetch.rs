//! Reads of the cluster that several commands share, as domain types: one service, tasks,
//! nodes, networks. Below both the commands and the convergence wait, so neither imports the other.

use anyhow::{Context, Result};
use api::control as pc;
use types::{Node, Service, Task};

use crate::client::{Control, StatusExt};

pub async fn service(client: &mut Control, query: &str) -> Result<Service> {
    let s = client
        .get_service(pc::GetServiceRequest { id: query.into() })
        .await
        .or_status()?;
    Service::try_from(s).context("the manager sent a service this swarmctl cannot read")
}

pub async fn list_tasks(client: &mut Control, req: pc::ListTasksRequest) -> Result<Vec<Task>> {
    let reply = client.list_tasks(req).await.or_status()?;
    reply
        .tasks
        .into_iter()
        .map(|t| Task::try_from(t).context("unreadable task from the manager"))
        .collect()
}

pub async fn list_nodes(client: &mut Control) -> Result<Vec<Node>> {
    let reply = client
        .list_nodes(pc::ListNodesRequest {})
        .await
        .or_status()?;
    reply
        .nodes
        .into_iter()
        .map(|n| Node::try_from(n).context("unreadable node from the manager"))
        .collect()
}

pub async fn list_networks(client: &mut Control) -> Result<Vec<types::Network>> {
    let reply = client
        .list_networks(pc::ListNetworksRequest {})
        .await
        .or_status()?;
    Ok(reply.networks.into_iter().map(Into::into).collect())
}
