//! `swarmctl network …`: ls, inspect (with every node's and task's address on the network).

use std::collections::BTreeMap;

use anyhow::Result;
use api::control as pc;
use clap::Subcommand;
use serde::Serialize;
use types::{Network, Node, Task};

use crate::client::{Control, StatusExt};
use crate::fetch::{list_nodes, list_tasks};
use crate::output::{self, print_rows, short_id, Format};

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// List networks
    #[command(alias = "list")]
    Ls {
        #[arg(long, short = 'q')]
        quiet: bool,
        #[arg(long)]
        format: Option<String>,
    },
    /// Display detailed information on one or more networks
    Inspect {
        #[arg(required = true)]
        networks: Vec<String>,
    },
}

/// What `network inspect` shows: the network and who holds which address on it.
#[derive(Debug, Serialize)]
pub struct NetworkReport {
    #[serde(flatten)]
    pub network: Network,
    /// Each node's address on the network, by hostname.
    pub peers: Vec<Peer>,
    /// Each task's address on the network.
    pub tasks: Vec<TaskAddr>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Peer {
    pub node_id: String,
    pub hostname: String,
    pub underlay_addr: String,
    pub ingress_addr: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TaskAddr {
    pub task_id: String,
    pub name: String,
    pub node: String,
    pub addr: String,
    pub mac: String,
    pub state: String,
}

pub fn report(network: Network, nodes: &[Node], tasks: &[Task]) -> NetworkReport {
    let hostnames: BTreeMap<&str, &str> = nodes
        .iter()
        .map(|n| (n.id.as_str(), n.description.hostname.as_str()))
        .collect();
    let mut peers: Vec<Peer> = nodes
        .iter()
        .map(|n| Peer {
            node_id: n.id.clone(),
            hostname: n.description.hostname.clone(),
            underlay_addr: n.status.addr.clone(),
            ingress_addr: n.ingress_addr.clone(),
        })
        .collect();
    peers.sort_by(|a, b| a.hostname.cmp(&b.hostname));
    let mut task_addrs: Vec<TaskAddr> = tasks
        .iter()
        .flat_map(|t| {
            t.networks
                .iter()
                .filter(|a| a.network_id == network.id && !a.addr.is_empty())
                .map(|a| TaskAddr {
                    task_id: t.id.clone(),
                    name: t.display_name(),
                    node: hostnames.get(t.node_id.as_str()).unwrap_or(&"").to_string(),
                    addr: a.addr.clone(),
                    mac: a.mac.clone(),
                    state: t.status.state.as_str().into(),
                })
        })
        .collect();
    task_addrs.sort_by(|a, b| a.name.cmp(&b.name).then(a.task_id.cmp(&b.task_id)));
    NetworkReport {
        network,
        peers,
        tasks: task_addrs,
    }
}

pub async fn run(client: &mut Control, command: NetworkCommand) -> Result<()> {
    match command {
        NetworkCommand::Ls { quiet, format } => {
            let format = Format::parse(format.as_deref())?;
            let reply = client
                .list_networks(pc::ListNetworksRequest {})
                .await
                .or_status()?;
            let mut networks: Vec<Network> =
                reply.networks.into_iter().map(Network::from).collect();
            networks.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
            if quiet {
                networks.iter().for_each(|n| println!("{}", n.id));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = networks
                .iter()
                .map(|n| {
                    vec![
                        short_id(&n.id).into(),
                        n.spec.name.clone(),
                        "overlay".into(),
                        "swarm".into(),
                    ]
                })
                .collect();
            print_rows(
                format,
                &["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                &["ID", "Name", "Driver", "Scope"],
                &rows,
            );
            Ok(())
        }
        NetworkCommand::Inspect { networks } => {
            let nodes = list_nodes(client).await?;
            let tasks = list_tasks(client, pc::ListTasksRequest::default()).await?;
            let mut reports = Vec::new();
            for q in networks {
                let n = client
                    .get_network(pc::GetNetworkRequest { id: q })
                    .await
                    .or_status()?;
                reports.push(report(Network::from(n), &nodes, &tasks));
            }
            output::print_inspect(&reports)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{NetworkAttachment, NetworkSpec};

    #[test]
    fn report_lists_node_and_task_addresses() {
        let net = Network {
            id: "net1".into(),
            meta: Default::default(),
            spec: NetworkSpec::ingress("10.255.0.0/16"),
        };
        let mut n = Node {
            id: "n1".into(),
            ingress_addr: "10.255.0.2".into(),
            ..Default::default()
        };
        n.description.hostname = "worker1".into();
        let t = Task {
            id: "t1".into(),
            service_name: "web".into(),
            slot: 1,
            node_id: "n1".into(),
            networks: vec![NetworkAttachment {
                network_id: "net1".into(),
                addr: "10.255.0.9".into(),
                mac: "02:42:0a:ff:00:09".into(),
            }],
            ..Default::default()
        };
        let r = report(net, &[n], &[t]);
        assert_eq!(r.peers[0].ingress_addr, "10.255.0.2");
        assert_eq!(r.tasks[0].addr, "10.255.0.9");
        assert_eq!(r.tasks[0].node, "worker1");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["spec"]["vni"], 4096);
        assert_eq!(json["spec"]["mtu"], 1450);
        assert_eq!(json["tasks"][0]["name"], "web.1");
    }
}
