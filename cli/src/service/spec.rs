//! The specs `service create` and `service update` send, built from their flags and checked
//! as the manager will check them.

use anyhow::{bail, Result};
use types::{ServiceMode, ServiceSpec};

use super::{data_refs, flags, CreateArgs, ModeArg, UpdateArgs};

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
