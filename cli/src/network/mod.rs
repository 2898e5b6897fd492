//! `swarmctl network …`: create, ls, inspect (with every node's and task's address on the
//! network, and its services' virtual IPs), rm.

use anyhow::{anyhow, Result};
use api::control as pc;
use clap::{Args, Subcommand};
use types::{Network, NetworkSpec};

use crate::client::{Control, StatusExt};
use crate::fetch::{list_nodes, list_tasks};
use crate::output::{self, print_rows, short_id, Format, ListFlags};
use crate::parse;

mod report;
use report::report;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        networks: Vec<String>,
    },
    /// List networks
    #[command(alias = "list")]
    Ls(ListFlags),
    /// Display detailed information on one or more networks
    Inspect {
        #[arg(required = true)]
        networks: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver to manage the network (only `overlay`)
    #[arg(long, short = 'd', default_value = types::network::OVERLAY_DRIVER)]
    pub driver: String,
    /// Subnet in CIDR format, e.g. 10.0.9.0/24 (default: the next free one of the cluster's
    /// address pool)
    #[arg(long)]
    pub subnet: Option<String>,
    /// IPv4 gateway for the subnet (default: its first address)
    #[arg(long)]
    pub gateway: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Stored for docker compatibility; standalone containers are not run by swarmd
    #[arg(long)]
    pub attachable: bool,
    /// Network labels (KEY=VALUE)
    #[arg(long, value_parser = parse::key_value)]
    pub label: Vec<(String, String)>,
    /// Driver options (KEY=VALUE)
    #[arg(long, short = 'o', value_parser = parse::key_value)]
    pub opt: Vec<(String, String)>,
    pub name: String,
}

/// Which flag sets a field of the spec, so a validation error names what the user typed.
const FLAG_OF_FIELD: &[(&str, &str)] = &[
    ("spec.name", "NAME"),
    ("spec.driver", "--driver"),
    ("spec.subnet", "--subnet"),
    ("spec.gateway", "--gateway"),
    ("spec.labels", "--label"),
    ("spec.options", "--opt"),
];

/// The spec `network create` sends, checked as the manager will check it.
pub fn spec_from_create(args: &CreateArgs) -> Result<NetworkSpec> {
    let spec = NetworkSpec {
        driver: args.driver.clone(),
        subnet: args.subnet.clone().unwrap_or_default(),
        gateway: args.gateway.clone().unwrap_or_default(),
        internal: args.internal,
        attachable: args.attachable,
        labels: args.label.iter().cloned().collect(),
        options: args.opt.iter().cloned().collect(),
        ..NetworkSpec::overlay(&args.name)
    };
    types::validate::validate_network_spec(&spec).map_err(|e| {
        match FLAG_OF_FIELD.iter().find(|(field, _)| e.field == *field) {
            Some((_, flag)) => anyhow!("invalid {flag}: {}", e.message),
            None => anyhow!("{e}"),
        }
    })?;
    Ok(spec)
}

impl NetworkCommand {
    /// Checks what can be checked before connecting, so a bad flag is reported as such.
    pub fn preflight(&self) -> Result<()> {
        if let NetworkCommand::Create(args) = self {
            spec_from_create(args)?;
        }
        Ok(())
    }
}

pub async fn run(client: &mut Control, command: NetworkCommand) -> Result<()> {
    match command {
        NetworkCommand::Create(args) => {
            let spec = spec_from_create(&args)?;
            let n = client
                .create_network(pc::CreateNetworkRequest {
                    spec: Some(spec.into()),
                })
                .await
                .or_status()?;
            println!("{}", n.id);
            Ok(())
        }
        NetworkCommand::Rm { networks } => {
            output::remove_each(&networks, "network", |id| {
                let mut client = client.clone();
                async move {
                    client
                        .remove_network(pc::RemoveNetworkRequest { id })
                        .await
                        .or_status()
                        .map(drop)
                }
            })
            .await
        }
        NetworkCommand::Ls(ListFlags { quiet, format }) => {
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
                        n.spec.driver.clone(),
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
            let services = crate::service::list::list_services(client).await?;
            let mut reports = Vec::new();
            for q in networks {
                let n = client
                    .get_network(pc::GetNetworkRequest { id: q })
                    .await
                    .or_status()?;
                reports.push(report(Network::from(n), &nodes, &tasks, &services));
            }
            output::print_inspect(&reports)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Probe {
        #[command(subcommand)]
        command: NetworkCommand,
    }

    fn create(args: &[&str]) -> Result<NetworkSpec> {
        let all = ["network", "create"]
            .into_iter()
            .chain(args.iter().copied());
        match clap::Parser::try_parse_from(all).map(|p: Probe| p.command)? {
            NetworkCommand::Create(a) => spec_from_create(&a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn create_flags_build_the_spec_and_bad_ones_are_named() {
        let spec = create(&[
            "--subnet=10.0.9.0/24",
            "--gateway=10.0.9.254",
            "--internal",
            "--attachable",
            "--label=team=a",
            "-o",
            "mtu=1400",
            "backend",
        ])
        .unwrap();
        assert_eq!(spec.name, "backend");
        assert_eq!(
            (spec.subnet.as_str(), spec.gateway.as_str()),
            ("10.0.9.0/24", "10.0.9.254")
        );
        assert!(spec.internal && spec.attachable && !spec.ingress);
        assert_eq!(
            (spec.labels["team"].as_str(), spec.options["mtu"].as_str()),
            ("a", "1400")
        );
        assert_eq!(spec.driver, "overlay");
        for (args, flag) in [
            (&["-d", "bridge", "x"][..], "invalid --driver:"),
            (&["--subnet=10.0.9.0/33", "x"], "invalid --subnet:"),
            (
                &["--subnet=10.0.9.0/24", "--gateway=10.1.0.1", "x"],
                "invalid --gateway:",
            ),
            (&["x y"], "invalid NAME:"),
        ] {
            let e = create(args).unwrap_err().to_string();
            assert!(e.starts_with(flag), "{args:?}: {e}");
        }
    }
}
