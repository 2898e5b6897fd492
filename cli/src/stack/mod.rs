//! `swarmctl stack …`: deploy a compose file as a stack, list stacks, their services and tasks,
//! remove them, and print the merged file, as `docker stack` does. The decisions are pure
//! ([`decide`]); this module and [`deploy`] only read the cluster and write to it.

mod decide;
mod deploy;

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use api::control as pc;
use clap::{ArgAction, Args, Subcommand};
use types::convert::secret::kind_out;
use types::{DataKind, DataObject};

use crate::client::{Control, StatusExt};
use crate::output::{print_rows, Format, ListFlags};
use crate::service::list;
use decide::Current;

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Deploy a new stack or update an existing stack
    #[command(alias = "up")]
    Deploy(Box<DeployArgs>),
    /// List stacks
    #[command(alias = "list")]
    Ls(ListFlags),
    /// List the services in the stack
    Services {
        #[command(flatten)]
        list: ListFlags,
        stack: String,
    },
    /// List the tasks in the stack
    Ps {
        /// Do not truncate output
        #[arg(long)]
        no_trunc: bool,
        #[command(flatten)]
        list: ListFlags,
        stack: String,
    },
    /// Remove one or more stacks
    #[command(alias = "remove", alias = "down")]
    Rm {
        #[arg(required = true, value_name = "STACK")]
        stacks: Vec<String>,
    },
    /// Outputs the final config file, after doing merges and interpolations
    Config {
        /// Path to a Compose file (repeat to merge several, in order)
        #[arg(long, short = 'c', required = true, value_name = "FILE")]
        compose_file: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Path to a Compose file (repeat to merge several, in order)
    #[arg(long, short = 'c', required = true, value_name = "FILE")]
    pub compose_file: Vec<PathBuf>,
    /// Prune services that are no longer referenced
    #[arg(long)]
    pub prune: bool,
    /// Accepted as docker takes it; whatever the value, no image is looked up in a registry
    /// (each node runs the images its engine holds)
    #[arg(long, value_name = "always|changed|never", value_parser = ["always", "changed", "never"], default_value = "never")]
    pub resolve_image: String,
    /// Create every service at once, without waiting for its `depends_on` dependencies to run
    /// (by default they are waited for, up to --timeout each: docker ignores depends_on)
    #[arg(long, short = 'd', action = ArgAction::Set, default_value_t = false,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub detach: bool,
    /// How long to wait for each dependency before failing
    #[arg(long, value_name = "DURATION", value_parser = crate::parse::duration_ms, default_value = "2m")]
    pub timeout: u64,
    /// The stack's name
    pub stack: String,
    /// The plan, made by [`StackCommand::preflight`] from the files.
    #[arg(skip)]
    pub plan: Option<compose::StackPlan>,
}

fn load(files: &[PathBuf]) -> Result<compose::Project> {
    let env: HashMap<String, String> = std::env::vars().collect();
    compose::load(files, &env).map_err(|e| anyhow!("{e}"))
}

impl StackCommand {
    /// Reads the compose files before connecting: a bad file is reported and nothing is
    /// sent. `Ok(true)` when the command is done (`stack config` needs no cluster).
    pub fn preflight(&mut self) -> Result<bool> {
        match self {
            StackCommand::Config { compose_file } => {
                let yaml = load(compose_file)?.to_yaml().map_err(|e| anyhow!("{e}"))?;
                print!("{yaml}");
                Ok(true)
            }
            StackCommand::Deploy(args) => {
                let project = load(&args.compose_file)?;
                let plan = compose::plan(&project, &args.stack).map_err(|e| anyhow!("{e}"))?;
                decide::start_order(&plan)?;
                args.plan = Some(plan);
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

pub async fn run(client: &mut Control, command: StackCommand) -> Result<()> {
    match command {
        StackCommand::Deploy(args) => deploy::deploy(client, *args).await,
        StackCommand::Ls(ListFlags { quiet, format }) => {
            let format = Format::parse(format.as_deref())?;
            let services = list::list_services(client).await?;
            let counts = decide::stack_counts(&services);
            if quiet {
                counts.iter().for_each(|(name, _)| println!("{name}"));
                return Ok(());
            }
            let rows: Vec<Vec<String>> = counts
                .into_iter()
                .map(|(name, n)| vec![name, n.to_string()])
                .collect();
            print_rows(format, &["NAME", "SERVICES"], &["Name", "Services"], &rows);
            Ok(())
        }
        StackCommand::Services { list: flags, stack } => {
            let format = Format::parse(flags.format.as_deref())?;
            let services = stack_services(client, &stack).await?;
            if services.is_empty() {
                eprintln!("Nothing found in stack: {stack}");
                return Ok(());
            }
            let tasks = crate::fetch::list_tasks(client, pc::ListTasksRequest::default()).await?;
            list::print_services(&services, &tasks, flags.quiet, format);
            Ok(())
        }
        StackCommand::Ps {
            no_trunc,
            list: flags,
            stack,
        } => {
            let services = stack_services(client, &stack).await?;
            if services.is_empty() {
                eprintln!("Nothing found in stack: {stack}");
                return Ok(());
            }
            let req = pc::ListTasksRequest {
                service_ids: services.into_iter().map(|s| s.id).collect(),
                ..Default::default()
            };
            let format = flags.format.as_deref();
            list::print_tasks(client, req, &[], no_trunc, flags.quiet, format).await
        }
        StackCommand::Rm { stacks } => {
            let mut failed = 0;
            for stack in &stacks {
                failed += deploy::remove_stack(client, stack).await?;
            }
            match failed {
                0 => Ok(()),
                n => Err(anyhow!(
                    "{n} object(s) of the stack(s) could not be removed"
                )),
            }
        }
        StackCommand::Config { .. } => Ok(()),
    }
}

/// The services carrying the stack's namespace label.
async fn stack_services(client: &mut Control, stack: &str) -> Result<Vec<types::Service>> {
    let services = list::list_services(client).await?;
    Ok(services
        .into_iter()
        .filter(|s| decide::in_stack(&s.spec.labels, stack))
        .collect())
}

async fn list_data(client: &mut Control, kind: DataKind) -> Result<Vec<DataObject>> {
    let reply = client
        .list_data(pc::ListDataRequest {
            kind: kind_out(kind),
        })
        .await
        .or_status()?;
    reply
        .objects
        .into_iter()
        .map(|o| DataObject::try_from(o).context("unreadable secret or config from the manager"))
        .collect()
}

/// Everything a deploy or a removal looks at.
async fn current(client: &mut Control) -> Result<Current> {
    Ok(Current {
        services: list::list_services(client).await?,
        networks: crate::fetch::list_networks(client).await?,
        secrets: list_data(client, DataKind::Secret).await?,
        configs: list_data(client, DataKind::Config).await?,
    })
}

#[cfg(test)]
mod tests;
