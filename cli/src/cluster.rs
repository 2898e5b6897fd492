//! `swarmctl cluster …`: inspect, join-token, client-cert.

use std::path::PathBuf;

use anyhow::{Context, Result};
use api::control as pc;
use clap::{Subcommand, ValueEnum};
use types::{Cluster, Node};

use crate::client::{answering_node, status_error, Control, StatusExt};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Display the cluster's settings (join token secrets are not shown: use `join-token`)
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
    /// Get a client certificate for remote control (`swarmctl --tls-dir DIR -H MANAGER:PORT`)
    ClientCert {
        /// Directory to write ca.crt, client.crt and client.key (mode 0600) into
        #[arg(long)]
        out: PathBuf,
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
            output::print_inspect(&[redacted(&cluster)?])
        }
        ClusterCommand::ClientCert { out } => client_cert(client, out).await,
        ClusterCommand::JoinToken {
            role,
            rotate,
            quiet,
        } => join_token(client, role, rotate, quiet).await,
    }
}

/// The cluster as `inspect` shows it: token secrets replaced, and no CA section (managers keep
/// the CA; the API never sends it).
fn redacted(cluster: &Cluster) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(cluster)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("root_ca");
    }
    for role in ["worker", "manager"] {
        if let Some(token) = value.pointer_mut(&format!("/join_tokens/{role}")) {
            let shown = match token
                .as_str()
                .and_then(|t| security::parse_join_token(t).ok())
            {
                Some(parsed) => format!("SWMTKN-1-{}-[redacted]", parsed.digest),
                None => "[redacted]".to_string(),
            };
            *token = serde_json::Value::String(shown);
        }
    }
    Ok(value)
}

/// A new key (made here, never sent) and the certificate a manager signs for it.
async fn client_cert(client: &mut Control, out: PathBuf) -> Result<()> {
    let (key, csr) = security::new_key_and_csr()?;
    let reply = client
        .issue_client_certificate(pc::IssueClientCertificateRequest { csr })
        .await
        .or_status()?;
    let issued = security::verify_issued(&reply.certificate, &reply.ca_certificate)
        .context("the manager's answer")?;
    security::CredentialFiles::new(&out, crate::client::CLIENT_CERT_NAME)
        .save(&reply.ca_certificate, &reply.certificate, &key)
        .with_context(|| format!("writing the certificate into {}", out.display()))?;
    let valid = issued
        .not_after
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    println!(
        "Client certificate {} written to {} (valid for {}).\nUse it with: swarmctl --tls-dir {} -H MANAGER_IP:2377 ...",
        issued.node_id,
        out.display(),
        humantime::format_duration(std::time::Duration::from_secs(valid.as_secs())),
        out.display()
    );
    Ok(())
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
    fn inspect_hides_token_secrets_and_the_ca() {
        let digest = "0".repeat(50);
        let mut cluster = Cluster {
            id: "c".into(),
            meta: Default::default(),
            spec: Default::default(),
            join_tokens: Default::default(),
            root_ca: Default::default(),
            data_key: Default::default(),
        };
        cluster.join_tokens.worker = format!("SWMTKN-1-{digest}-{}", "s".repeat(25));
        cluster.join_tokens.manager = "garbage".into();
        let shown = redacted(&cluster).unwrap().to_string();
        assert!(!shown.contains("sssss"), "{shown}");
        assert!(!shown.contains("garbage"), "{shown}");
        assert!(
            shown.contains(&format!("SWMTKN-1-{digest}-[redacted]")),
            "{shown}"
        );
        assert!(!shown.contains("root_ca"), "{shown}");
    }

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
