//! `swarmctl node …`: ls, inspect, update, promote, demote, rm, ps, mesh.

use anyhow::{bail, Context, Result};
use api::control as pc;
use clap::{Args, Subcommand, ValueEnum};
use types::{Node, NodeAvailability, NodeRole, NodeState, Reachability};

use crate::client::{answering_node, status_error, Control, StatusExt};
use crate::output::{self, print_rows, Format, ListFlags};
use crate::parse;
use crate::service::list::print_tasks;

#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// List nodes in the swarm
    #[command(alias = "list")]
    Ls(ListFlags),
    /// Display detailed information on one or more nodes ("self" is the node answering)
    Inspect {
        #[arg(long)]
        pretty: bool,
        #[arg(required = true)]
        nodes: Vec<String>,
    },
    /// Update a node
    Update(UpdateArgs),
    /// Promote one or more nodes to manager
    Promote {
        #[arg(required = true)]
        nodes: Vec<String>,
    },
    /// Demote one or more nodes from manager to worker
    Demote {
        #[arg(required = true)]
        nodes: Vec<String>,
    },
    /// Remove one or more nodes from the swarm
    #[command(alias = "remove")]
    Rm {
        /// Force remove a node from the swarm
        #[arg(long, short = 'f')]
        force: bool,
        #[arg(required = true)]
        nodes: Vec<String>,
    },
    /// List tasks running on a node (default: the node answering)
    Ps {
        #[arg(long)]
        no_trunc: bool,
        #[arg(long, short = 'f')]
        filter: Vec<String>,
        #[arg(long, short = 'q')]
        quiet: bool,
        #[arg(long)]
        format: Option<String>,
        node: Option<String>,
    },
    /// Show a node's live routing-mesh table, like `ipvsadm -L -n`
    Mesh {
        /// Print what the kernel said, verbatim (`nft -j list table`, plus the IPVS dump)
        #[arg(long)]
        raw: bool,
        #[arg(long)]
        format: Option<String>,
        node: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AvailabilityArg {
    Active,
    Pause,
    Drain,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Availability of the node
    #[arg(long, value_enum)]
    availability: Option<AvailabilityArg>,
    /// Add or update a node label (KEY=VALUE)
    #[arg(long, value_parser = parse::key_value)]
    label_add: Vec<(String, String)>,
    /// Remove a node label if exists
    #[arg(long)]
    label_rm: Vec<String>,
    /// Role of the node
    #[arg(long, value_parser = ["worker", "manager"])]
    role: Option<String>,
    node: String,
}

pub async fn run(client: &mut Control, command: NodeCommand) -> Result<()> {
    match command {
        NodeCommand::Ls(ListFlags { quiet, format }) => ls(client, quiet, format.as_deref()).await,
        NodeCommand::Inspect { pretty, nodes } => inspect(client, pretty, nodes).await,
        NodeCommand::Update(args) => {
            let node = args.node.clone();
            update(client, &node, |spec| {
                if let Some(a) = args.availability {
                    spec.availability = match a {
                        AvailabilityArg::Active => NodeAvailability::Active,
                        AvailabilityArg::Pause => NodeAvailability::Pause,
                        AvailabilityArg::Drain => NodeAvailability::Drain,
                    };
                }
                for k in &args.label_rm {
                    spec.labels.remove(k);
                }
                spec.labels.extend(args.label_add.iter().cloned());
                if let Some(r) = &args.role {
                    spec.desired_role = if r == "manager" {
                        NodeRole::Manager
                    } else {
                        NodeRole::Worker
                    };
                }
            })
            .await?;
            println!("{node}");
            Ok(())
        }
        NodeCommand::Promote { nodes } => set_role(client, nodes, NodeRole::Manager).await,
        NodeCommand::Demote { nodes } => set_role(client, nodes, NodeRole::Worker).await,
        NodeCommand::Rm { force, nodes } => remove(client, force, nodes).await,
        NodeCommand::Ps {
            no_trunc,
            filter,
            quiet,
            format,
            node,
        } => {
            let node = match node {
                Some(n) if n != "self" => n,
                _ => self_id(client).await?,
            };
            let req = pc::ListTasksRequest {
                node_ids: vec![node],
                ..Default::default()
            };
            print_tasks(client, req, &filter, no_trunc, quiet, format.as_deref()).await
        }
        NodeCommand::Mesh { raw, format, node } => {
            crate::mesh::show(client, raw, format.as_deref(), node).await
        }
    }
}

/// Nodes and, when the manager says, which one answered.
async fn list(client: &mut Control) -> Result<(Vec<Node>, Option<String>)> {
    let response = client
        .list_nodes(pc::ListNodesRequest {})
        .await
        .map_err(status_error)?;
    let me = answering_node(&response);
    let nodes = response
        .into_inner()
        .nodes
        .into_iter()
        .map(|n| Node::try_from(n).context("unreadable node from the manager"))
        .collect::<Result<_>>()?;
    Ok((nodes, me))
}

async fn self_id(client: &mut Control) -> Result<String> {
    list(client)
        .await?
        .1
        .context("the manager did not say which node it is; name the node")
}

/// docker's MANAGER STATUS column.
/// The node's state; a Ready node whose engine cannot run tasks says so.
fn node_state(node: &Node) -> String {
    match (&node.status.state, node.description.engine_available()) {
        (NodeState::Ready, false) => "Ready (no engine)".into(),
        (state, _) => state.as_str().into(),
    }
}

pub fn manager_status(node: &Node) -> &'static str {
    match &node.manager_status {
        None => "",
        Some(m) if m.leader => "Leader",
        Some(m) => match m.reachability {
            Reachability::Reachable => "Reachable",
            Reachability::Unreachable => "Unreachable",
            Reachability::Unknown => "Unknown",
        },
    }
}

pub fn ls_rows(nodes: &[Node], me: Option<&str>) -> Vec<Vec<String>> {
    let mut nodes: Vec<&Node> = nodes.iter().collect();
    nodes.sort_by(|a, b| a.description.hostname.cmp(&b.description.hostname));
    nodes
        .into_iter()
        .map(|n| {
            let id = if Some(n.id.as_str()) == me {
                format!("{} *", n.id)
            } else {
                n.id.clone()
            };
            vec![
                id,
                n.description.hostname.clone(),
                node_state(n),
                n.spec.availability.as_str().into(),
                manager_status(n).into(),
                n.description.engine_version.clone(),
            ]
        })
        .collect()
}

async fn ls(client: &mut Control, quiet: bool, format: Option<&str>) -> Result<()> {
    let format = Format::parse(format)?;
    let (nodes, me) = list(client).await?;
    // The `*` marking the answering node is for eyes; JSON consumers get clean IDs.
    let me = me.filter(|_| format == Format::Table);
    let rows = ls_rows(&nodes, me.as_deref());
    if quiet {
        let mut ids: Vec<&Node> = nodes.iter().collect();
        ids.sort_by(|a, b| a.description.hostname.cmp(&b.description.hostname));
        ids.iter().for_each(|n| println!("{}", n.id));
        return Ok(());
    }
    print_rows(
        format,
        &[
            "ID",
            "HOSTNAME",
            "STATUS",
            "AVAILABILITY",
            "MANAGER STATUS",
            "ENGINE VERSION",
        ],
        &[
            "ID",
            "Hostname",
            "Status",
            "Availability",
            "ManagerStatus",
            "EngineVersion",
        ],
        &rows,
    );
    Ok(())
}

async fn get(client: &mut Control, query: &str) -> Result<Node> {
    let id = if query == "self" {
        self_id(client).await?
    } else {
        query.to_string()
    };
    let node = client
        .get_node(pc::GetNodeRequest { id })
        .await
        .or_status()?;
    Node::try_from(node).context("unreadable node from the manager")
}

async fn inspect(client: &mut Control, pretty: bool, queries: Vec<String>) -> Result<()> {
    let mut nodes = Vec::new();
    for q in &queries {
        nodes.push(get(client, q).await?);
    }
    if !pretty {
        return output::print_inspect(&nodes);
    }
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", pretty_node(n));
    }
    Ok(())
}

/// `node inspect --pretty`, laid out like docker's.
pub fn pretty_node(n: &Node) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<24}{v}\n"));
    line("ID:", n.id.clone());
    line("Hostname:", n.description.hostname.clone());
    line("Joined at:", output::rfc3339_ms(n.meta.created_at_ms));
    if !n.spec.labels.is_empty() {
        line("Labels:", String::new());
        for (k, v) in &n.spec.labels {
            line(&format!(" - {k}"), format!("= {v}"));
        }
    }
    line("Status:", String::new());
    line(" State:", node_state(n));
    if !n.status.message.is_empty() {
        line(" Message:", n.status.message.clone());
    }
    line(" Availability:", n.spec.availability.as_str().into());
    line(" Address:", n.status.addr.clone());
    if let Some(m) = &n.manager_status {
        line("Manager Status:", String::new());
        line(" Address:", m.addr.clone());
        line(" Raft Status:", format!("{:?}", m.reachability));
        line(" Leader:", if m.leader { "Yes" } else { "No" }.into());
    }
    if n.spec.desired_role != n.role {
        line("Desired Role:", n.spec.desired_role.as_str().into());
    }
    line("Platform:", String::new());
    line(" Operating System:", n.description.platform.os.clone());
    line(" Architecture:", n.description.platform.arch.clone());
    line("Resources:", String::new());
    line(
        " CPUs:",
        format!("{}", n.description.resources.nano_cpus as f64 / 1e9),
    );
    line(
        " Memory:",
        parse::format_bytes(n.description.resources.memory_bytes),
    );
    if !n.description.engine_labels.is_empty() {
        line("Engine Labels:", String::new());
        for (k, v) in &n.description.engine_labels {
            line(&format!(" - {k}"), format!("= {v}"));
        }
    }
    line("Engine Version:", n.description.engine_version.clone());
    if let Some(e) = &n.description.engine_error {
        line("Engine:", format!("unavailable, no new tasks here ({e})"));
    }
    line("Ingress Address:", n.ingress_addr.clone());
    line("Mesh Backend:", n.description.mesh_backend.to_string());
    if !n.description.warnings.is_empty() {
        line("Warnings:", String::new());
        for w in &n.description.warnings {
            line(" -", w.clone());
        }
    }
    out
}

/// Reads a node's spec, lets `edit` change it, and writes it back with the version read.
async fn update(
    client: &mut Control,
    query: &str,
    edit: impl FnOnce(&mut types::NodeSpec),
) -> Result<Node> {
    let node = get(client, query).await?;
    let mut spec = node.spec.clone();
    edit(&mut spec);
    let updated = client
        .update_node(pc::UpdateNodeRequest {
            id: node.id.clone(),
            version: node.meta.version,
            spec: Some(spec.into()),
        })
        .await
        .or_status()?;
    Node::try_from(updated).context("unreadable node from the manager")
}

async fn set_role(client: &mut Control, nodes: Vec<String>, role: NodeRole) -> Result<()> {
    let mut failed = 0;
    for q in &nodes {
        let result = async {
            let node = get(client, q).await?;
            let name = node.description.hostname.clone();
            if node.spec.desired_role == role {
                println!("Node {name} is already a {}.", role.as_str());
                return Ok(());
            }
            update(client, &node.id, |s| s.desired_role = role).await?;
            match role {
                NodeRole::Manager => println!("Node {name} promoted to a manager in the swarm."),
                NodeRole::Worker => println!("Manager {name} demoted in the swarm."),
            }
            Ok::<_, anyhow::Error>(())
        }
        .await;
        if let Err(e) = result {
            eprintln!("{e:#}");
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} node(s) could not be changed");
    }
    Ok(())
}

async fn remove(client: &mut Control, force: bool, nodes: Vec<String>) -> Result<()> {
    let mut failed = 0;
    for q in &nodes {
        match client
            .remove_node(pc::RemoveNodeRequest {
                id: q.clone(),
                force,
            })
            .await
            .or_status()
        {
            Ok(_) => println!("{q}"),
            Err(e) => {
                eprintln!("{e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} node(s) could not be removed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::ManagerStatus;

    fn node(id: &str, host: &str, manager: Option<(bool, Reachability)>) -> Node {
        let mut n = Node {
            id: id.into(),
            ..Default::default()
        };
        n.description.hostname = host.into();
        n.description.engine_version = "27.1.1".into();
        n.status.state = NodeState::Ready;
        n.manager_status = manager.map(|(leader, reachability)| ManagerStatus {
            leader,
            reachability,
            ..Default::default()
        });
        n
    }

    #[test]
    fn node_ls_marks_self_and_manager_status() {
        let nodes = vec![
            node("w1", "worker1", None),
            node("m2", "manager2", Some((false, Reachability::Unreachable))),
            node("m1", "manager1", Some((true, Reachability::Reachable))),
        ];
        let out = output::table(
            &[
                "ID",
                "HOSTNAME",
                "STATUS",
                "AVAILABILITY",
                "MANAGER STATUS",
                "ENGINE VERSION",
            ],
            &ls_rows(&nodes, Some("m1")),
        );
        assert_eq!(
            out,
            "ID        HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n\
             m1 *      manager1   Ready     Active         Leader           27.1.1\n\
             m2        manager2   Ready     Active         Unreachable      27.1.1\n\
             w1        worker1    Ready     Active                          27.1.1\n"
        );
    }

    #[test]
    fn a_ready_node_without_its_engine_says_so() {
        let mut n = node("w1", "worker1", None);
        n.description.engine_error = Some("container engine unreachable: refused".into());
        let rows = ls_rows(&[n.clone()], None);
        assert_eq!(rows[0][2], "Ready (no engine)");
        let text = pretty_node(&n);
        assert!(text.contains("unavailable, no new tasks here"), "{text}");
    }
}
