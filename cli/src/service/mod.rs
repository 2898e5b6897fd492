//! `swarmctl service …`: create, update, scale, rollback, remove, and the read verbs.

mod conns;
mod data_refs;
mod flags;
pub mod list;
mod logs;
mod pretty;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use api::control as pc;
use clap::{Args, Subcommand, ValueEnum};
use types::{PortConfig, ServiceMode, ServiceSpec};

use crate::client::{Control, StatusExt};
use crate::parse;
use crate::progress;
pub use flags::SpecFlags;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Replicated,
    Global,
}

#[derive(Debug, Args)]
pub struct WaitArgs1 {
    pub service: String,
    #[command(flatten)]
    pub wait: WaitFlags,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Service name
    #[arg(long)]
    pub name: Option<String>,
    /// Service mode
    #[arg(long, value_enum, default_value = "replicated")]
    pub mode: ModeArg,
    /// Publish a port: PUBLISHED:TARGET[/udp] or mode=host,published=P,target=T,protocol=udp
    #[arg(long, short = 'p', value_parser = parse::publish)]
    pub publish: Vec<PortConfig>,
    /// Placement constraint, e.g. node.role==manager
    #[arg(long)]
    pub constraint: Vec<String>,
    /// Placement preference, e.g. spread=node.labels.zone
    #[arg(long)]
    pub placement_pref: Vec<String>,
    /// Attach to a network: NAME or name=NAME,alias=ALIAS (repeat for more, in order)
    #[arg(long, value_parser = parse::network_target)]
    pub network: Vec<types::NetworkTarget>,
    /// Attach a filesystem mount: type=volume|bind|tmpfs,source=…,target=…[,readonly]
    #[arg(long, value_parser = crate::parse_mount::mount)]
    pub mount: Vec<types::Mount>,
    /// Give the containers a secret: NAME or source=NAME,target=FILE,uid=0,gid=0,mode=0400
    #[arg(long, value_parser = crate::parse_data::secret)]
    pub secret: Vec<types::DataReference>,
    /// Give the containers a config: NAME or source=NAME,target=/path,uid=0,gid=0,mode=0444
    #[arg(long, value_parser = crate::parse_data::config)]
    pub config: Vec<types::DataReference>,
    /// Set environment variables (KEY=VALUE)
    #[arg(long, short = 'e')]
    pub env: Vec<String>,
    /// Service labels (KEY=VALUE)
    #[arg(long, short = 'l', value_parser = parse::key_value)]
    pub label: Vec<(String, String)>,
    /// Container labels (KEY=VALUE)
    #[arg(long, value_parser = parse::key_value)]
    pub container_label: Vec<(String, String)>,
    #[command(flatten)]
    pub spec: SpecFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
    /// Image to run
    pub image: String,
    /// Command and arguments for the container
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Service image tag
    #[arg(long)]
    pub image: Option<String>,
    /// Force update even if no changes require it
    #[arg(long)]
    pub force: bool,
    /// Service command args (space separated)
    #[arg(long)]
    pub args: Option<String>,
    /// Add or update a published port
    #[arg(long, value_parser = parse::publish)]
    pub publish_add: Vec<PortConfig>,
    /// Remove a published port by its published port (8080 or 8080/udp)
    #[arg(long, value_parser = parse::published_port_key)]
    pub publish_rm: Vec<(u32, types::PortProtocol)>,
    #[arg(long)]
    pub constraint_add: Vec<String>,
    #[arg(long)]
    pub constraint_rm: Vec<String>,
    #[arg(long)]
    pub placement_pref_add: Vec<String>,
    #[arg(long)]
    pub placement_pref_rm: Vec<String>,
    /// Attach to a network: NAME or name=NAME,alias=ALIAS
    #[arg(long, value_parser = parse::network_target)]
    pub network_add: Vec<types::NetworkTarget>,
    /// Detach from a network (name or ID)
    #[arg(long)]
    pub network_rm: Vec<String>,
    /// Add or replace a mount (same syntax as --mount; replaces the one on the same target)
    #[arg(long, value_parser = crate::parse_mount::mount)]
    pub mount_add: Vec<types::Mount>,
    /// Remove a mount by its target path
    #[arg(long, value_name = "TARGET")]
    pub mount_rm: Vec<String>,
    /// Add a secret (same syntax as --secret)
    #[arg(long, value_parser = crate::parse_data::secret)]
    pub secret_add: Vec<types::DataReference>,
    /// Remove a secret by its name
    #[arg(long, value_name = "NAME")]
    pub secret_rm: Vec<String>,
    /// Add a config (same syntax as --config)
    #[arg(long, value_parser = crate::parse_data::config)]
    pub config_add: Vec<types::DataReference>,
    /// Remove a config by its name
    #[arg(long, value_name = "NAME")]
    pub config_rm: Vec<String>,
    /// Add or update environment variables (KEY=VALUE)
    #[arg(long)]
    pub env_add: Vec<String>,
    /// Remove environment variables by name
    #[arg(long)]
    pub env_rm: Vec<String>,
    #[arg(long, value_parser = parse::key_value)]
    pub label_add: Vec<(String, String)>,
    #[arg(long)]
    pub label_rm: Vec<String>,
    #[arg(long, value_parser = parse::key_value)]
    pub container_label_add: Vec<(String, String)>,
    #[arg(long)]
    pub container_label_rm: Vec<String>,
    #[command(flatten)]
    pub spec: SpecFlags,
    #[command(flatten)]
    pub wait: WaitFlags,
    pub service: String,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// SERVICE=REPLICAS pairs
    #[arg(required = true, value_parser = parse::scale)]
    pub pairs: Vec<(String, u64)>,
    #[command(flatten)]
    pub wait: WaitFlags,
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

/// An environment entry as docker takes it: `K=V`, or `K` copied from the local environment.
fn env_entry(entry: &str) -> Option<String> {
    if entry.contains('=') {
        Some(entry.to_string())
    } else {
        std::env::var(entry).ok().map(|v| format!("{entry}={v}"))
    }
}

/// Docker's random service names are adjective_name; ours must be DNS labels.
fn generated_name() -> String {
    let id = types::new_id();
    format!("svc-{}", &id[..8])
}

/// Builds the spec `service create` sends.
pub fn spec_from_create(args: &CreateArgs) -> Result<ServiceSpec> {
    let mut spec = ServiceSpec {
        name: args.name.clone().unwrap_or_else(generated_name),
        ..Default::default()
    };
    if args.mode == ModeArg::Global {
        if args.spec.replicas.is_some() {
            bail!("invalid --replicas: it applies to replicated services only; drop it or use --mode replicated");
        }
        spec.mode = ServiceMode::Global;
    }
    spec.labels = args.label.iter().cloned().collect();
    spec.endpoint.ports = args.publish.clone();
    let c = &mut spec.task.container;
    c.image = args.image.clone();
    c.args = args.args.clone();
    c.env = args.env.iter().filter_map(|e| env_entry(e)).collect();
    c.labels = args.container_label.iter().cloned().collect();
    spec.task.placement.constraints = args.constraint.clone();
    spec.task.placement.preferences = args.placement_pref.clone();
    spec.task.networks = args.network.clone();
    spec.task.container.mounts = args.mount.clone();
    spec.task.container.secrets = args.secret.clone();
    spec.task.container.configs = args.config.clone();
    args.spec.apply(&mut spec);
    flags::check(&spec)?;
    Ok(spec)
}

fn remove_from<T: PartialEq>(list: &mut Vec<T>, unwanted: &[T]) {
    list.retain(|x| !unwanted.contains(x));
}

/// Applies `service update` flags to the current spec; `networks` resolves the names
/// `--network-rm` is given to the IDs the spec holds.
pub fn spec_from_update(
    args: &UpdateArgs,
    current: &ServiceSpec,
    networks: &[types::Network],
) -> Result<ServiceSpec> {
    let mut spec = current.clone();
    if args.spec.replicas.is_some() && spec.mode == ServiceMode::Global {
        bail!(
            "invalid --replicas: service {} is global; replicas apply to replicated services only",
            spec.name
        );
    }
    args.spec.apply(&mut spec);
    let c = &mut spec.task.container;
    if let Some(image) = &args.image {
        c.image = image.clone();
    }
    if let Some(a) = &args.args {
        c.args = a.split_whitespace().map(String::from).collect();
    }
    let env_rm: Vec<&str> = args.env_rm.iter().map(String::as_str).collect();
    let added: Vec<String> = args.env_add.iter().filter_map(|e| env_entry(e)).collect();
    c.env.retain(|e| {
        let key = e.split('=').next().unwrap_or_default();
        !env_rm.contains(&key) && !added.iter().any(|a| a.split('=').next() == Some(key))
    });
    c.env.extend(added);
    for k in &args.container_label_rm {
        c.labels.remove(k);
    }
    c.labels.extend(args.container_label_add.iter().cloned());
    for k in &args.label_rm {
        spec.labels.remove(k);
    }
    spec.labels.extend(args.label_add.iter().cloned());
    let placement = &mut spec.task.placement;
    remove_from(&mut placement.constraints, &args.constraint_rm);
    placement
        .constraints
        .extend(args.constraint_add.iter().cloned());
    remove_from(&mut placement.preferences, &args.placement_pref_rm);
    placement
        .preferences
        .extend(args.placement_pref_add.iter().cloned());
    let ports = &mut spec.endpoint.ports;
    // A port added again replaces the one published on the same port.
    ports.retain(|p| {
        let key = (p.published_port, p.protocol);
        !args.publish_rm.contains(&key)
            && !args
                .publish_add
                .iter()
                .any(|a| a.published_port != 0 && (a.published_port, a.protocol) == key)
    });
    ports.extend(args.publish_add.iter().copied());
    let named = |target: &str, query: &str| {
        target == query
            || networks
                .iter()
                .any(|n| n.id == target && (n.spec.name == query || n.id.starts_with(query)))
    };
    for query in &args.network_rm {
        let before = spec.task.networks.len();
        spec.task.networks.retain(|n| !named(&n.target, query));
        if spec.task.networks.len() == before {
            bail!(
                "invalid --network-rm: service {} is not attached to network `{query}`",
                spec.name
            );
        }
    }
    for added in &args.network_add {
        if spec
            .task
            .networks
            .iter()
            .any(|n| named(&n.target, &added.target))
        {
            bail!(
                "invalid --network-add: service {} is attached to network `{}` already",
                spec.name,
                added.target
            );
        }
        spec.task.networks.push(added.clone());
    }
    let mounts = &mut spec.task.container.mounts;
    for target in &args.mount_rm {
        let before = mounts.len();
        mounts.retain(|m| m.target.trim_end_matches('/') != target.trim_end_matches('/'));
        if mounts.len() == before {
            bail!(
                "invalid --mount-rm: service {} has no mount at `{target}`",
                spec.name
            );
        }
    }
    for added in &args.mount_add {
        mounts.retain(|m| m.target != added.target);
        mounts.push(added.clone());
    }
    data_refs::apply(args, &mut spec)?;
    if args.force {
        spec.task.force_update += 1;
    }
    flags::check(&spec)?;
    Ok(spec)
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
