//! `service ls`, `service ps`, `service inspect`.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use api::control as pc;
use clap::Args;
use types::{Node, PortConfig, PublishMode, Service, ServiceMode, Task, TaskState};

use crate::client::{Control, StatusExt};
use crate::output::{self, print_rows, short_id, Format};

use crate::fetch::{list_nodes, list_tasks};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only display IDs
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output format: table or json
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output (desired-state=running|shutdown|accepted, node=NODE, id=ID)
    #[arg(long, short = 'f')]
    pub filter: Vec<String>,
    /// Only display task IDs
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output format: table or json
    #[arg(long)]
    pub format: Option<String>,
    #[arg(required = true)]
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print the information in a human friendly format
    #[arg(long)]
    pub pretty: bool,
    #[arg(required = true)]
    pub services: Vec<String>,
}

/// `*:8080->80/tcp`, docker's rendering of a published port.
pub fn port_text(p: &PortConfig) -> String {
    format!(
        "*:{}->{}/{}",
        p.published_port,
        p.target_port,
        p.protocol.as_str()
    )
}

/// The REPLICAS column: running/desired, `N/N` for global services (desired = one per node
/// with a task meant to run).
pub fn replicas_text(service: &Service, tasks: &[Task]) -> String {
    let mine = tasks.iter().filter(|t| t.service_id == service.id);
    let running = mine
        .clone()
        .filter(|t| t.status.state == TaskState::Running && t.desired_state == TaskState::Running)
        .count();
    let desired = match service.spec.mode {
        ServiceMode::Replicated { replicas } => replicas as usize,
        ServiceMode::Global => mine
            .filter(|t| t.desired_state == TaskState::Running)
            .count(),
    };
    format!("{running}/{desired}")
}

pub fn ls_rows(services: &[Service], tasks: &[Task]) -> Vec<Vec<String>> {
    let mut services: Vec<&Service> = services.iter().collect();
    services.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    services
        .into_iter()
        .map(|s| {
            let ports: Vec<String> = s
                .endpoint_ports
                .iter()
                .filter(|p| p.publish_mode == PublishMode::Ingress)
                .map(port_text)
                .collect();
            vec![
                short_id(&s.id).to_string(),
                s.spec.name.clone(),
                match s.spec.mode {
                    ServiceMode::Replicated { .. } => "replicated".into(),
                    ServiceMode::Global => "global".into(),
                },
                replicas_text(s, tasks),
                s.spec.task.container.image.clone(),
                ports.join(", "),
            ]
        })
        .collect()
}

pub async fn list_services(client: &mut Control) -> Result<Vec<Service>> {
    let reply = client
        .list_services(pc::ListServicesRequest {})
        .await
        .or_status()?;
    reply
        .services
        .into_iter()
        .map(|s| Service::try_from(s).context("unreadable service from the manager"))
        .collect()
}

pub async fn ls(client: &mut Control, args: LsArgs) -> Result<()> {
    let format = Format::parse(args.format.as_deref())?;
    let services = list_services(client).await?;
    let tasks = list_tasks(client, pc::ListTasksRequest::default()).await?;
    print_services(&services, &tasks, args.quiet, format);
    Ok(())
}

/// Prints services as `service ls` does (also `stack services`): IDs only with `quiet`.
pub fn print_services(services: &[Service], tasks: &[Task], quiet: bool, format: Format) {
    if quiet {
        let mut ids: Vec<&Service> = services.iter().collect();
        ids.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        ids.iter().for_each(|s| println!("{}", s.id));
        return;
    }
    print_rows(
        format,
        &["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"],
        &["ID", "Name", "Mode", "Replicas", "Image", "Ports"],
        &ls_rows(services, tasks),
    );
}

/// A `-f key=value` filter of `ps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFilter {
    DesiredState(String),
    Node(String),
    Id(String),
}

pub fn parse_filter(s: &str) -> Result<TaskFilter> {
    let Some((key, value)) = s.split_once('=') else {
        bail!("invalid --filter `{s}`: write KEY=VALUE, e.g. desired-state=running");
    };
    match key {
        "desired-state" => match value {
            "running" | "shutdown" | "accepted" | "ready" | "remove" => {
                Ok(TaskFilter::DesiredState(value.into()))
            }
            _ => bail!("invalid --filter `{s}`: desired-state is running, shutdown, accepted, ready or remove"),
        },
        "node" => Ok(TaskFilter::Node(value.into())),
        "id" => Ok(TaskFilter::Id(value.into())),
        _ => bail!("invalid --filter `{s}`: unknown key `{key}`; use desired-state, node or id"),
    }
}

fn matches(filter: &TaskFilter, task: &Task, nodes: &BTreeMap<String, Node>) -> bool {
    match filter {
        TaskFilter::DesiredState(s) => task.desired_state.as_str().eq_ignore_ascii_case(s),
        TaskFilter::Node(n) => {
            task.node_id.starts_with(n.as_str())
                || nodes
                    .get(&task.node_id)
                    .is_some_and(|node| node.description.hostname == *n)
        }
        TaskFilter::Id(id) => task.id.starts_with(id.as_str()),
    }
}

/// Tasks ordered as docker shows them: by service name and slot (or node), newest first within
/// a slot; every task after the first of its slot is history and is drawn as ` \_ name`.
pub fn ps_order(tasks: &[Task]) -> Vec<(&Task, bool)> {
    let mut sorted: Vec<&Task> = tasks.iter().collect();
    let slot_key = |t: &Task| {
        if t.slot > 0 {
            (t.service_name.clone(), t.slot, String::new())
        } else {
            (t.service_name.clone(), 0, t.node_id.clone())
        }
    };
    sorted.sort_by(|a, b| {
        slot_key(a)
            .cmp(&slot_key(b))
            .then(b.meta.created_at_ms.cmp(&a.meta.created_at_ms))
            .then(a.id.cmp(&b.id))
    });
    let mut out = Vec::with_capacity(sorted.len());
    let mut previous = None;
    for t in sorted {
        let key = slot_key(t);
        out.push((t, previous.as_ref() == Some(&key)));
        previous = Some(key);
    }
    out
}

/// The columns of `service ps` / `node ps` for one task.
pub fn ps_row(
    task: &Task,
    history: bool,
    nodes: &BTreeMap<String, Node>,
    no_trunc: bool,
    now_ms: i64,
) -> Vec<String> {
    let id = if no_trunc {
        task.id.clone()
    } else {
        short_id(&task.id).to_string()
    };
    let name = if task.slot > 0 {
        task.display_name()
    } else {
        format!("{}.{}", task.service_name, short_id(&task.node_id))
    };
    let name = if history {
        format!(" \\_ {name}")
    } else {
        name
    };
    let node = nodes
        .get(&task.node_id)
        .map(|n| n.description.hostname.clone())
        .unwrap_or_default();
    let error = if task.status.err.is_empty() {
        String::new()
    } else if no_trunc || task.status.err.chars().count() <= 30 {
        format!("\"{}\"", task.status.err)
    } else {
        let cut: String = task.status.err.chars().take(29).collect();
        format!("\"{cut}…\"")
    };
    let ports: Vec<String> = task
        .endpoint_ports
        .iter()
        .filter(|p| p.publish_mode == PublishMode::Host)
        .map(port_text)
        .collect();
    vec![
        id,
        name,
        task.spec.container.image.clone(),
        node,
        task.desired_state.as_str().to_string(),
        output::state_age(task.status.state.as_str(), task.status.timestamp_ms, now_ms),
        error,
        ports.join(","),
    ]
}

pub const PS_HEADERS: [&str; 8] = [
    "ID",
    "NAME",
    "IMAGE",
    "NODE",
    "DESIRED STATE",
    "CURRENT STATE",
    "ERROR",
    "PORTS",
];
const PS_KEYS: [&str; 8] = [
    "ID",
    "Name",
    "Image",
    "Node",
    "DesiredState",
    "CurrentState",
    "Error",
    "Ports",
];

/// Prints tasks as `service ps` and `node ps` do.
pub async fn print_tasks(
    client: &mut Control,
    req: pc::ListTasksRequest,
    filters: &[String],
    no_trunc: bool,
    quiet: bool,
    format: Option<&str>,
) -> Result<()> {
    let format = Format::parse(format)?;
    let filters = filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>>>()?;
    let nodes: BTreeMap<String, Node> = list_nodes(client)
        .await?
        .into_iter()
        .map(|n| (n.id.clone(), n))
        .collect();
    let tasks: Vec<Task> = list_tasks(client, req)
        .await?
        .into_iter()
        .filter(|t| filters.iter().all(|f| matches(f, t, &nodes)))
        .collect();
    let now = types::now_ms();
    let ordered = ps_order(&tasks);
    if quiet {
        ordered.iter().for_each(|(t, _)| println!("{}", t.id));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = ordered
        .iter()
        .map(|(t, history)| ps_row(t, *history, &nodes, no_trunc, now))
        .collect();
    print_rows(format, &PS_HEADERS, &PS_KEYS, &rows);
    Ok(())
}

pub async fn ps(client: &mut Control, args: PsArgs) -> Result<()> {
    let req = pc::ListTasksRequest {
        service_ids: args.services.clone(),
        ..Default::default()
    };
    print_tasks(
        client,
        req,
        &args.filter,
        args.no_trunc,
        args.quiet,
        args.format.as_deref(),
    )
    .await
}

pub async fn inspect(client: &mut Control, args: InspectArgs) -> Result<()> {
    let mut services = Vec::new();
    for s in &args.services {
        services.push(crate::fetch::service(client, s).await?);
    }
    if !args.pretty {
        return output::print_inspect(&services);
    }
    let networks = crate::fetch::list_networks(client).await?;
    for (i, s) in services.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", super::pretty::pretty(s, &networks));
    }
    Ok(())
}
