//! The pure part of `stack deploy` and `stack rm`: given a plan and what the cluster holds,
//! what to check, create, update and remove, and in which order. No I/O, all unit-tested.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use compose::{Condition, StackPlan, NAMESPACE_LABEL};
use types::{DataKind, DataObject, DataSpec, Network, NetworkSpec, Service, ServiceSpec, Task};
use types::{HealthState, TaskState};

/// What the cluster holds, as read before a deploy or a removal.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub services: Vec<Service>,
    pub networks: Vec<Network>,
    pub secrets: Vec<DataObject>,
    pub configs: Vec<DataObject>,
}

/// One write of a deploy, in the order they are made.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    RemoveService {
        id: String,
        name: String,
    },
    CreateNetwork(NetworkSpec),
    CreateData(DataKind, DataSpec),
    CreateService(ServiceSpec),
    UpdateService {
        id: String,
        version: u64,
        spec: ServiceSpec,
    },
}

impl Action {
    /// Docker's line for it: `Creating network web_default`.
    pub fn describe(&self) -> String {
        match self {
            Action::RemoveService { name, .. } => format!("Removing service {name}"),
            Action::CreateNetwork(n) => format!("Creating network {}", n.name),
            Action::CreateData(kind, d) => format!("Creating {} {}", kind.as_str(), d.name),
            Action::CreateService(s) => format!("Creating service {}", s.name),
            Action::UpdateService { spec, .. } => format!("Updating service {}", spec.name),
        }
    }
}

/// Whether an object carries the stack's namespace label.
pub fn in_stack(labels: &BTreeMap<String, String>, stack: &str) -> bool {
    labels.get(NAMESPACE_LABEL).map(String::as_str) == Some(stack)
}

/// The external networks, secrets and configs the plan needs that do not exist, named as the
/// error shows them (`network shared`).
pub fn missing_externals(plan: &StackPlan, current: &Current) -> Vec<String> {
    let mut missing = Vec::new();
    for n in &plan.external_networks {
        if !current.networks.iter().any(|x| &x.spec.name == n) {
            missing.push(format!("network {n}"));
        }
    }
    for (kind, names, have) in [
        ("secret", &plan.external_secrets, &current.secrets),
        ("config", &plan.external_configs, &current.configs),
    ] {
        for n in names {
            if !have.iter().any(|x| &x.spec.name == n) {
                missing.push(format!("{kind} {n}"));
            }
        }
    }
    missing
}

/// The plan's services in start order: every service after those it depends on, otherwise by
/// name. A cycle is an error naming the services in it.
pub fn start_order(plan: &StackPlan) -> Result<Vec<&ServiceSpec>> {
    let names: BTreeSet<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    let deps_of = |name: &str| -> Vec<&str> {
        plan.depends_on
            .get(name)
            .map(|d| {
                d.iter()
                    .map(|(n, _)| n.as_str())
                    .filter(|n| names.contains(n))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < plan.services.len() {
        let ready = plan.services.iter().find(|s| {
            !done.contains(s.name.as_str()) && deps_of(&s.name).iter().all(|d| done.contains(d))
        });
        match ready {
            Some(s) => {
                done.insert(&s.name);
                order.push(s);
            }
            None => {
                let stuck: Vec<&str> = names
                    .iter()
                    .copied()
                    .filter(|n| !done.contains(n))
                    .collect();
                bail!(
                    "depends_on has a cycle among services {}; remove one of the dependencies",
                    stuck.join(", ")
                );
            }
        }
    }
    Ok(order)
}

/// A stored spec as the plan writes it: network IDs back to names, secret and config IDs back
/// to names; then both go through the wire form, so only real differences remain.
fn comparable(stored: &ServiceSpec, networks: &[Network]) -> ServiceSpec {
    let mut spec = stored.clone();
    for t in &mut spec.task.networks {
        if let Some(n) = networks.iter().find(|n| n.id == t.target) {
            t.target = n.spec.name.clone();
        }
    }
    let c = &mut spec.task.container;
    for r in c.secrets.iter_mut().chain(c.configs.iter_mut()) {
        r.id = r.name.clone();
    }
    wire(spec)
}

fn wire(spec: ServiceSpec) -> ServiceSpec {
    let pb: api::objects::ServiceSpec = spec.clone().into();
    ServiceSpec::try_from(pb).unwrap_or(spec)
}

/// Whether the stored service already is what the plan asks for.
pub fn unchanged(stored: &Service, wanted: &ServiceSpec, networks: &[Network]) -> bool {
    comparable(&stored.spec, networks) == wire(wanted.clone())
}

/// Every write of a deploy: pruned services first (as docker), then missing networks, secrets
/// and configs (existing ones are kept as they are), then services in start order, created or
/// updated when their spec differs. Unchanged services get no action.
pub fn deploy_actions(
    plan: &StackPlan,
    current: &Current,
    stack: &str,
    prune: bool,
) -> Result<Vec<Action>> {
    let mut actions = Vec::new();
    if prune {
        let wanted: BTreeSet<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
        let mut stale: Vec<&Service> = current
            .services
            .iter()
            .filter(|s| in_stack(&s.spec.labels, stack) && !wanted.contains(s.spec.name.as_str()))
            .collect();
        stale.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        actions.extend(stale.into_iter().map(|s| Action::RemoveService {
            id: s.id.clone(),
            name: s.spec.name.clone(),
        }));
    }
    for n in &plan.networks {
        if !current.networks.iter().any(|x| x.spec.name == n.name) {
            actions.push(Action::CreateNetwork(n.clone()));
        }
    }
    for (kind, wanted, have) in [
        (DataKind::Secret, &plan.secrets, &current.secrets),
        (DataKind::Config, &plan.configs, &current.configs),
    ] {
        for d in wanted {
            if !have.iter().any(|x| x.spec.name == d.name) {
                actions.push(Action::CreateData(kind, d.clone()));
            }
        }
    }
    for spec in start_order(plan)? {
        match current.services.iter().find(|s| s.spec.name == spec.name) {
            None => actions.push(Action::CreateService(spec.clone())),
            Some(s) if unchanged(s, spec, &current.networks) => {}
            Some(s) => actions.push(Action::UpdateService {
                id: s.id.clone(),
                version: s.meta.version,
                spec: spec.clone(),
            }),
        }
    }
    Ok(actions)
}

/// Whether a dependency's tasks satisfy a `depends_on` condition.
pub fn condition_met(condition: Condition, tasks: &[Task]) -> bool {
    tasks.iter().any(|t| match condition {
        Condition::Started => t.status.state == TaskState::Running,
        Condition::Healthy => {
            t.status.state == TaskState::Running && t.status.health == HealthState::Healthy
        }
        Condition::CompletedSuccessfully => {
            t.status.state == TaskState::Complete && t.status.exit_code == 0
        }
    })
}

/// What `stack rm` removes, by kind, each `(id, name)` sorted by name: only objects carrying
/// the stack's label, so another stack's and external ones are never touched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Removal {
    pub services: Vec<(String, String)>,
    pub networks: Vec<(String, String)>,
    pub secrets: Vec<(String, String)>,
    pub configs: Vec<(String, String)>,
}

impl Removal {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
            && self.networks.is_empty()
            && self.secrets.is_empty()
            && self.configs.is_empty()
    }
}

pub fn removal(current: &Current, stack: &str) -> Removal {
    fn pick<'a>(
        items: impl Iterator<Item = (&'a str, &'a str, &'a BTreeMap<String, String>)>,
        stack: &str,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = items
            .filter(|(_, _, labels)| in_stack(labels, stack))
            .map(|(id, name, _)| (id.to_string(), name.to_string()))
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    }
    Removal {
        services: pick(
            current
                .services
                .iter()
                .map(|s| (s.id.as_str(), s.spec.name.as_str(), &s.spec.labels)),
            stack,
        ),
        networks: pick(
            current
                .networks
                .iter()
                .map(|n| (n.id.as_str(), n.spec.name.as_str(), &n.spec.labels)),
            stack,
        ),
        secrets: pick(
            current
                .secrets
                .iter()
                .map(|d| (d.id.as_str(), d.spec.name.as_str(), &d.spec.labels)),
            stack,
        ),
        configs: pick(
            current
                .configs
                .iter()
                .map(|d| (d.id.as_str(), d.spec.name.as_str(), &d.spec.labels)),
            stack,
        ),
    }
}

/// `stack ls` rows: each namespace found on services, with its service count, by name.
pub fn stack_counts(services: &[Service]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in services {
        if let Some(stack) = s.spec.labels.get(NAMESPACE_LABEL) {
            *counts.entry(stack.clone()).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}
