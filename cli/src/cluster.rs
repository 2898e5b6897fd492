//! `swarmctl cluster …`: inspect, join-token.

use anyhow::{Context, Result};
use api::control as pc;
use clap::{Subcommand, ValueEnum};
use types::{Cluster, Node};

use crate::client::{answering_node, status_error, Control, StatusExt};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Display the cluster's settings and join tokens
    Inspect,
    /// Manage join tokens
    JoinToken {
        role: Role,
        /// Rotate the join token
        #[arg(long)]
        rotate: bool,
        /// Only display the token
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Worker,
    Manager,
}

pub async fn run(client: &mut Control, command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Inspect => {
            let cluster = get(client).await?;
            output::print_inspect(&[cluster])
        }
        ClusterCommand::JoinToken {
            role,
            rotate,
            quiet,
        } => join_token(client, role, rotate, quiet).await,
    }
}

async fn get(client: &mut Control) -> Result<Cluster> {
    let c = client
        .get_cluster(pc::GetClusterRequest {})
        .await
        .or_status()?;
    Ok(Cluster::from(c))
}

/// The address a joining node should dial: the answering manager's, else the leader's.
pub fn join_addr(nodes: &[Node], me: Option<&str>) -> Option<String> {
    let addr_of = |n: &Node| n.manager_status.as_ref().map(|m| m.addr.clone());
    me.and_then(|id| nodes.iter().find(|n| n.id == id))
        .and_then(addr_of)
        .or_else(|| {
            nodes
                .iter()
                .find(|n| n.manager_status.as_ref().is_some_and(|m| m.leader))
                .and_then(addr_of)
        })
        .filter(|a| !a.is_empty())
}

pub fn join_instructions(role: Role, token: &str, addr: &str) -> String {
    let who = match role {
        Role::Worker => "a worker",
        Role::Manager => "a manager",
    };
    format!(
        "To add {who} to this swarm, run the following command:\n\n    swarmd --join-token {token} --join-addr {addr} --state-dir DIR --hostname NAME --advertise-addr IP:PORT\n"
    )
}

async fn join_token(client: &mut Control, role: Role, rotate: bool, quiet: bool) -> Result<()> {
    if rotate {
        client
            .rotate_join_token(pc::RotateJoinTokenRequest {
                worker: role == Role::Worker,
                manager: role == Role::Manager,
            })
            .await
            .or_status()?;
        if !quiet {
            let which = if role == Role::Worker {
                "worker"
            } else {
                "manager"
            };
            println!("Successfully rotated {which} join token.\n");
        }
    }
    let cluster = get(client).await?;
    let token = match role {
        Role::Worker => cluster.join_tokens.worker,
        Role::Manager => cluster.join_tokens.manager,
    };
    if quiet {
        println!("{token}");
        return Ok(());
    }
    let response = client
        .list_nodes(pc::ListNodesRequest {})
        .await
        .map_err(status_error)?;
    let me = answering_node(&response);
    let nodes: Vec<Node> = response
        .into_inner()
        .nodes
        .into_iter()
        .map(|n| Node::try_from(n).context("unreadable node from the manager"))
        .collect::<Result<_>>()?;
    let addr = join_addr(&nodes, me.as_deref()).unwrap_or_else(|| "MANAGER_IP:2377".into());
    print!("{}", join_instructions(role, &token, &addr));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::ManagerStatus;

    #[test]
    fn instructions_name_the_token_and_the_answering_manager() {
        let mut m1 = Node {
            id: "m1".into(),
            ..Default::default()
        };
        m1.manager_status = Some(ManagerStatus {
            addr: "10.0.0.1:2377".into(),
            leader: true,
            ..Default::default()
        });
        let mut m2 = m1.clone();
        m2.id = "m2".into();
        m2.manager_status = Some(ManagerStatus {
            addr: "10.0.0.2:2377".into(),
            ..Default::default()
        });
        let nodes = vec![m1, m2];
        assert_eq!(join_addr(&nodes, Some("m2")).unwrap(), "10.0.0.2:2377");
        assert_eq!(join_addr(&nodes, None).unwrap(), "10.0.0.1:2377");
        let text = join_instructions(Role::Worker, "SWMTKN-1-x-y", "10.0.0.1:2377");
        assert!(text.starts_with("To add a worker to this swarm, run the following command:\n\n    swarmd --join-token SWMTKN-1-x-y --join-addr 10.0.0.1:2377"));
    }
}
