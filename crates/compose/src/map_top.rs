//! The plan for a whole stack: the services, and the networks, secrets and configs to create,
//! all named as `docker stack deploy` names them (`STACK_name`, labelled
//! `com.docker.stack.namespace=STACK`); external objects keep their names, and a `name:` key
//! is used as written.

use std::collections::{BTreeMap, BTreeSet};

use types::{DataSpec, NetworkSpec, ServiceSpec};

use crate::error::ComposeError;
use crate::load::Project;
use crate::model::{ComposeFile, External, NetworkDef};
use crate::scalar::{KeyValues, ShortOrLong, Text};

/// The label docker puts on everything a stack creates, valued with the stack's name.
pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
/// The network services join when they name none.
pub const DEFAULT_NETWORK: &str = "default";

/// What `stack deploy` creates, in the order it creates it: networks, secrets and configs
/// first (services refer to them by name), then services.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackPlan {
    /// One spec per service, named `STACK_service`, sorted by name.
    pub services: Vec<ServiceSpec>,
    /// Networks the services use that the stack creates (`STACK_default` among them when a
    /// service names no network).
    pub networks: Vec<NetworkSpec>,
    /// Secrets declared with a `file`, with its bytes.
    pub secrets: Vec<DataToCreate>,
    /// Configs declared with a `file`, with its bytes.
    pub configs: Vec<DataToCreate>,
    /// Networks, secrets and configs that must exist already (`external: true`), by name: the
    /// deploy checks them before creating anything.
    pub external_networks: Vec<String>,
    pub external_secrets: Vec<String>,
    pub external_configs: Vec<String>,
    /// Keys valid in compose that a swarm ignores, for docker's "Ignoring unsupported options:"
    /// line (`build`, `links`, `ports.host_ip`), sorted.
    pub ignored: Vec<String>,
    /// Start order: each service's (final name) services it waits for, with the condition.
    /// Only services with dependencies have an entry.
    pub depends_on: BTreeMap<String, Vec<(String, Condition)>>,
}

/// A secret or config the stack creates: what `secret create` / `config create` would send.
pub type DataToCreate = DataSpec;

/// When a service in `depends_on` counts as started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// `service_started` (and the list form): its tasks are running.
    Started,
    /// `service_healthy`: its tasks pass their health check.
    Healthy,
    /// `service_completed_successfully`: its tasks exited 0.
    CompletedSuccessfully,
}

/// Final names of the stack's objects, from its name and the top-level declarations.
pub(crate) struct Names<'a> {
    pub stack: &'a str,
    pub file: &'a ComposeFile,
}

/// `Some(name)` when a top-level object is external; its final name is the `name:` key, then
/// the older `external: {name: ..}`, then its key.
fn external_name(
    key: &str,
    name: Option<&Text>,
    external: Option<&ShortOrLong<External>>,
) -> Option<String> {
    let (is_external, ext_name) = external.map(|e| e.external()).unwrap_or((false, None));
    is_external.then(|| {
        name.map(|t| t.0.clone())
            .or(ext_name)
            .unwrap_or_else(|| key.to_string())
    })
}

impl Names<'_> {
    pub fn scoped(&self, name: &str) -> String {
        format!("{}_{name}", self.stack)
    }

    /// The final name of a top-level object: external or `name:` as written, else scoped.
    fn final_name(
        &self,
        key: &str,
        name: Option<&Text>,
        external: Option<&ShortOrLong<External>>,
    ) -> String {
        external_name(key, name, external)
            .or_else(|| name.map(|t| t.0.clone()))
            .unwrap_or_else(|| self.scoped(key))
    }

    /// The network a service writes as `key`; `Err` names the key when it is not declared.
    pub fn network(&self, key: &str) -> Option<String> {
        match self.file.networks.get(key) {
            Some(Some(def)) => Some(self.final_name(key, def.name.as_ref(), def.external.as_ref())),
            Some(None) => Some(self.scoped(key)),
            None if key == DEFAULT_NETWORK => Some(self.scoped(key)),
            None => None,
        }
    }

    pub fn secret(&self, key: &str) -> Option<String> {
        let def = self.file.secrets.get(key)?;
        Some(self.final_name(key, def.name.as_ref(), def.external.as_ref()))
    }

    pub fn config(&self, key: &str) -> Option<String> {
        let def = self.file.configs.get(key)?;
        Some(self.final_name(key, def.name.as_ref(), def.external.as_ref()))
    }

    pub fn namespace_labels(&self, given: Option<&KeyValues>) -> BTreeMap<String, String> {
        let mut labels = plain(given);
        labels.insert(NAMESPACE_LABEL.into(), self.stack.into());
        labels
    }
}

/// A key-value map without the keys that have no value.
pub(crate) fn plain(kv: Option<&KeyValues>) -> BTreeMap<String, String> {
    kv.map(|kv| {
        kv.0.iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect()
    })
    .unwrap_or_default()
}

/// Maps a project to the specs `stack` deploys. Errors name the key path and the line.
pub fn plan(project: &Project, stack: &str) -> Result<StackPlan, ComposeError> {
    plan_inner(project, stack).map_err(|e| project.locate(e))
}

fn plan_inner(project: &Project, stack: &str) -> Result<StackPlan, ComposeError> {
    let file = &project.file;
    let names = Names { stack, file };
    let mut ignored: BTreeSet<String> = project.ignored.iter().cloned().collect();
    let mut plan = StackPlan::default();
    let mut used_networks = BTreeSet::new();
    for (key, service) in &file.services {
        let spec = crate::map_service::service_spec(key, service, &names, &mut ignored)?;
        used_networks.extend(crate::map_attach::network_keys(service));
        plan.services.push(spec);
        let deps = crate::map_service::dependencies(key, service, &names)?;
        if !deps.is_empty() {
            plan.depends_on.insert(names.scoped(key), deps);
        }
    }
    for key in used_networks {
        let def = file
            .networks
            .get(&key)
            .cloned()
            .flatten()
            .unwrap_or_default();
        let name = names.network(&key).unwrap_or_else(|| names.scoped(&key));
        match external_name(&key, def.name.as_ref(), def.external.as_ref()) {
            Some(external) => plan.external_networks.push(external),
            None => plan.networks.push(network_spec(&key, &def, name, &names)?),
        }
    }
    for (kind, defs) in [("secrets", &file.secrets), ("configs", &file.configs)] {
        for (key, def) in defs {
            let (created, external) = match kind {
                "secrets" => (&mut plan.secrets, &mut plan.external_secrets),
                _ => (&mut plan.configs, &mut plan.external_configs),
            };
            if let Some(name) = external_name(key, def.name.as_ref(), def.external.as_ref()) {
                external.push(name);
                continue;
            }
            if def.file.is_none() {
                return Err(ComposeError::invalid(
                    format!("{kind}.{key}"),
                    "has neither `file` nor `external: true`; a stack creates it from a file",
                ));
            }
            created.push(DataSpec {
                name: names.final_name(key, def.name.as_ref(), None),
                labels: names.namespace_labels(def.labels.as_ref()),
                data: def.data.clone(),
            });
        }
    }
    plan.ignored = ignored.into_iter().collect();
    Ok(plan)
}

fn network_spec(
    key: &str,
    def: &NetworkDef,
    name: String,
    names: &Names,
) -> Result<NetworkSpec, ComposeError> {
    let mut spec = NetworkSpec::overlay(&name);
    if let Some(Text(driver)) = &def.driver {
        spec.driver = driver.clone();
    }
    spec.options = plain(def.driver_opts.as_ref());
    spec.attachable = def.attachable.is_some_and(|f| f.0);
    spec.internal = def.internal.is_some_and(|f| f.0);
    spec.labels = names.namespace_labels(def.labels.as_ref());
    let pools = def
        .ipam
        .as_ref()
        .map(|i| i.config.as_slice())
        .unwrap_or_default();
    if pools.len() > 1 {
        return Err(ComposeError::invalid(
            format!("networks.{key}.ipam.config[1]"),
            "a network has one subnet here; keep one `config` entry",
        ));
    }
    if let Some(pool) = pools.first() {
        spec.subnet = pool.subnet.clone().unwrap_or_default().0;
        spec.gateway = pool.gateway.clone().unwrap_or_default().0;
    }
    Ok(spec)
}

#[cfg(test)]
#[path = "map_tests.rs"]
pub(crate) mod tests;
