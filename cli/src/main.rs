//! `swarmctl`: drives a swarmd cluster as `docker service` / `docker node` drive Swarm.
//!
//! - [`client`]: connecting over the unix socket or TCP, gRPC errors as messages
//! - [`cluster`], [`node`], [`service`], [`network`]: one module per verb group
//! - [`data`]: `secret` and `config`, one implementation for both kinds
//! - [`events`]: `events`, cluster events as `docker events` prints them
//! - [`stack`]: compose files deployed as a stack (mapping in the `compose` crate)
//! - [`mesh`]: `node mesh`, the ipvsadm-style table
//! - [`progress`]: waiting for a service to converge, with per-task progress
//! - [`parse`], [`output`]: flag values in, tables and JSON out (pure, unit-tested)

mod client;
mod cluster;
mod data;
mod events;
mod fetch;
mod mesh;
mod network;
mod node;
mod output;
mod parse;
mod parse_data;
mod parse_mount;
mod progress;
mod service;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "swarmctl", version, about = "Control a swarmd cluster")]
struct Cli {
    /// The manager's control socket
    #[arg(long, global = true, env = "SWARMCTL_SOCKET", default_value = client::DEFAULT_SOCKET)]
    socket: PathBuf,
    /// A manager's control address (IP:PORT) instead of the socket
    #[arg(long, short = 'H', global = true, env = "SWARMCTL_HOST")]
    host: Option<String>,
    /// With --host: the directory holding the client certificate (`cluster client-cert --out`)
    #[arg(long, global = true, env = "SWARMCTL_TLS_DIR")]
    tls_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the cluster
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Manage nodes
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Manage services
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Manage secrets
    #[command(subcommand)]
    Secret(data::DataCommand),
    /// Manage configs
    #[command(subcommand)]
    Config(data::DataCommand),
    /// Manage stacks (compose files deployed as services, networks, secrets and configs)
    #[command(subcommand)]
    Stack(stack::StackCommand),
    /// Stream cluster events (services, nodes, tasks, networks, secrets, configs)
    Events(events::EventsArgs),
}

async fn run(mut cli: Cli) -> anyhow::Result<()> {
    // `stack config` needs no cluster: done once the files are read.
    if let Command::Stack(c) = &mut cli.command {
        if c.preflight()? {
            return Ok(());
        }
    }
    match &mut cli.command {
        Command::Service(c) => c.preflight()?,
        Command::Network(c) => c.preflight()?,
        Command::Secret(c) => c.preflight(types::DataKind::Secret)?,
        Command::Config(c) => c.preflight(types::DataKind::Config)?,
        Command::Events(args) => args.check(std::time::SystemTime::now())?,
        _ => {}
    }
    let target = match cli.host {
        Some(addr) => client::Target::Tcp {
            addr,
            tls_dir: cli.tls_dir,
        },
        None => client::Target::Socket(cli.socket),
    };
    let mut control = client::connect(&target).await?;
    match cli.command {
        Command::Cluster(c) => cluster::run(&mut control, c).await,
        Command::Node(c) => node::run(&mut control, c).await,
        Command::Service(c) => service::run(&mut control, c).await,
        Command::Network(c) => network::run(&mut control, c).await,
        Command::Secret(c) => data::run(&mut control, types::DataKind::Secret, c).await,
        Command::Config(c) => data::run(&mut control, types::DataKind::Config, c).await,
        Command::Stack(c) => stack::run(&mut control, c).await,
        Command::Events(args) => events::run(&mut control, args).await,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // `swarmctl service ls | head` must end quietly when the reader goes away, as other Unix
    // tools do, instead of panicking on a write to a closed pipe.
    // SAFETY: restoring the default disposition of one signal before any thread is started.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 1 like every other failure; help and version exit 0.
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}
