//! `swarmctl service …`: create, update, scale, rollback, remove, and the read verbs.

mod args;
mod conns;
mod data_refs;
mod flags;
pub mod list;
mod logs;
mod pretty;
mod spec;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use api::control as pc;
use clap::Subcommand;
use types::ServiceMode;

use crate::client::{Control, StatusExt};
use crate::progress;
pub use args::{CreateArgs, ModeArg, ScaleArgs, UpdateArgs, WaitArgs1};
pub use flags::SpecFlags;
pub use spec::{spec_from_create, spec_from_update};

pub use crate::progress::WaitFlags;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a new service
    Create(Box<CreateArgs>),
    /// Update a service
    Update(Box<UpdateArgs>),
    /// Scale one or multiple replicated services (SERVICE=REPLICAS ...)
    Scale(ScaleArgs),
    /// Revert changes to a service's configuration
    Rollback(WaitArgs1),
    /// Remove one or more services
    #[command(alias = "remove")]
    Rm { services: Vec<String> },
    /// List services
    #[command(alias = "list")]
    Ls(list::LsArgs),
    /// List the tasks of one or more services
    Ps(list::PsArgs),
    /// Display detailed information on one or more services
    Inspect(list::InspectArgs),
    /// Fetch the logs of a service or task
    Logs(logs::LogsArgs),
    /// List the live connections the routing mesh carries to a service's tasks
    Conns(conns::ConnsArgs),
}

impl ServiceCommand {
    /// Checks what can be checked before connecting, so a bad flag is reported as such and
    /// nothing is sent.
    pub fn preflight(&self) -> Result<()> {
        if let ServiceCommand::Create(args) = self {
            spec_from_create(args)?;
        }
        Ok(())
    }
}

pub async fn run(client: &mut Control, command: ServiceCommand) -> Result<()> {
    match command {
        ServiceCommand::Create(args) => create(client, *args).await,
        ServiceCommand::Update(args) => update(client, *args).await,
        ServiceCommand::Scale(args) => scale(client, args).await,
        ServiceCommand::Rollback(args) => rollback(client, args).await,
        ServiceCommand::Rm { services } => remove(client, services).await,
        ServiceCommand::Ls(args) => list::ls(client, args).await,
        ServiceCommand::Ps(args) => list::ps(client, args).await,
        ServiceCommand::Inspect(args) => list::inspect(client, args).await,
        ServiceCommand::Logs(args) => logs::logs(client, args).await,
        ServiceCommand::Conns(args) => conns::conns(client, args).await,
    }
}

async fn create(client: &mut Control, args: CreateArgs) -> Result<()> {
    let spec = spec_from_create(&args)?;
    let service = client
        .create_service(pc::CreateServiceRequest {
            spec: Some(spec.into()),
        })
        .await
        .or_status()
        .map_err(flags::name_flag)?;
    println!("{}", service.id);
    progress::wait_unless_detached(client, &service.id, &args.wait).await
}

async fn update(client: &mut Control, args: UpdateArgs) -> Result<()> {
    let current = crate::fetch::service(client, &args.service).await?;
    let networks = match args.network_rm.is_empty() && args.network_add.is_empty() {
        true => Vec::new(),
        false => crate::fetch::list_networks(client).await?,
    };
    let spec = spec_from_update(&args, &current.spec, &networks)?;
    let service = client
        .update_service(pc::UpdateServiceRequest {
            id: current.id.clone(),
            version: current.meta.version,
            spec: Some(spec.into()),
            rollback: false,
        })
        .await
        .or_status()
        .map_err(flags::name_flag)?;
    println!("{}", service.spec.map(|s| s.name).unwrap_or(args.service));
    progress::wait_unless_detached(client, &current.id, &args.wait).await
}

async fn scale(client: &mut Control, args: ScaleArgs) -> Result<()> {
    let mut failed = Vec::new();
    let mut scaled = BTreeMap::new();
    for (name, replicas) in &args.pairs {
        match scale_one(client, name, *replicas).await {
            Ok(id) => {
                println!("{name} scaled to {replicas}");
                scaled.insert(name.clone(), id);
            }
            Err(e) => {
                eprintln!("{name}: {e:#}");
                failed.push(name.clone());
            }
        }
    }
    for (name, id) in scaled {
        if !args.wait.detach && !args.wait.quiet {
            println!("{name}");
        }
        progress::wait_unless_detached(client, &id, &args.wait).await?;
    }
    if !failed.is_empty() {
        bail!("could not scale {}", failed.join(", "));
    }
    Ok(())
}

async fn scale_one(client: &mut Control, name: &str, replicas: u64) -> Result<String> {
    let current = crate::fetch::service(client, name).await?;
    if current.spec.mode == ServiceMode::Global {
        bail!("scale can only be used with replicated mode; {name} is global");
    }
    let mut spec = current.spec.clone();
    spec.mode = ServiceMode::Replicated { replicas };
    client
        .update_service(pc::UpdateServiceRequest {
            id: current.id.clone(),
            version: current.meta.version,
            spec: Some(spec.into()),
            rollback: false,
        })
        .await
        .or_status()?;
    Ok(current.id)
}

async fn rollback(client: &mut Control, args: WaitArgs1) -> Result<()> {
    let current = crate::fetch::service(client, &args.service).await?;
    client
        .update_service(pc::UpdateServiceRequest {
            id: current.id.clone(),
            version: current.meta.version,
            spec: None,
            rollback: true,
        })
        .await
        .or_status()?;
    println!("{}", current.spec.name);
    progress::wait_unless_detached(client, &current.id, &args.wait).await
}

async fn remove(client: &mut Control, services: Vec<String>) -> Result<()> {
    if services.is_empty() {
        bail!(
            "\"service rm\" requires at least 1 argument: swarmctl service rm SERVICE [SERVICE...]"
        );
    }
    let mut failed = 0;
    for s in services {
        match client
            .remove_service(pc::RemoveServiceRequest { id: s.clone() })
            .await
            .or_status()
        {
            Ok(_) => println!("{s}"),
            Err(e) => {
                eprintln!("{e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} service(s) could not be removed");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
