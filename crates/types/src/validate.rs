//! Validation of user specs before anything is stored. Every error names the field (as a path
//! into the spec, e.g. `spec.endpoint.ports[0].target_port`) and says how to fix it; the control
//! API maps it to INVALID_ARGUMENT unchanged.
//!
//! Rules that need the rest of the cluster (name uniqueness, published ports unique across
//! services) belong to the control API; this module only looks at one spec.

use std::collections::BTreeSet;

use crate::constraint::{Constraint, SpreadPreference};
use crate::node::{NodeSpec, Resources};
use crate::service::{
    ContainerSpec, PortConfig, PublishMode, ResourceRequirements, ServiceMode, ServiceSpec,
    UpdateConfig,
};

/// More replicas than this is almost certainly a typo (docker has no limit, but a scheduler
/// asked for millions of tasks would stall the cluster).
pub const MAX_REPLICAS: u64 = 100_000;
/// Longest accepted delay, monitor window or grace period: one day.
pub const MAX_DURATION_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    /// Path of the offending field inside the request, e.g. `spec.task.container.image`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn fail(field: impl Into<String>, message: impl Into<String>) -> Result<(), ValidationError> {
    Err(ValidationError {
        field: field.into(),
        message: message.into(),
    })
}

/// Checks everything about a service spec that can be checked without the rest of the cluster.
pub fn validate_service_spec(spec: &ServiceSpec) -> Result<(), ValidationError> {
    validate_service_name(&spec.name)?;
    validate_labels("spec.labels", spec.labels.keys())?;
    if let ServiceMode::Replicated { replicas } = spec.mode {
        if replicas > MAX_REPLICAS {
            return fail(
                "spec.mode.replicas",
                format!("{replicas} is oversized; use at most {MAX_REPLICAS}"),
            );
        }
    }
    validate_container(&spec.task.container)?;
    validate_resources(&spec.task.resources)?;
    validate_restart(spec)?;
    validate_placement(spec)?;
    validate_update("spec.update", &spec.update)?;
    if let Some(rollback) = &spec.rollback {
        validate_update("spec.rollback", rollback)?;
    }
    validate_ports(&spec.endpoint.ports)?;
    network::validate_service_networks(spec)
}

/// Checks what a user may set on a node (`node update`).
pub fn validate_node_spec(spec: &NodeSpec) -> Result<(), ValidationError> {
    validate_labels("spec.labels", spec.labels.keys())
}

/// SwarmKit's rule: letters and digits with inner `-` or `_` (a stack's services are
/// `STACK_NAME`), at most 63 characters.
pub fn validate_service_name(name: &str) -> Result<(), ValidationError> {
    validate_name(
        "spec.name",
        name,
        "give the service a name such as `web`",
        "-_",
    )
}

/// A name other containers resolve: letters, digits and inner hyphens, at most 63 characters.
fn validate_dns_label(field: &str, name: &str, empty_fix: &str) -> Result<(), ValidationError> {
    validate_name(field, name, empty_fix, "-")
}

/// Letters, digits and the `inner` characters, beginning and ending with a letter or digit.
fn validate_name(
    field: &str,
    name: &str,
    empty_fix: &str,
    inner: &str,
) -> Result<(), ValidationError> {
    if name.is_empty() {
        return fail(field, format!("the name is empty; {empty_fix}"));
    }
    if name.len() > 63 {
        return fail(
            field,
            format!("`{name}` is {} characters long; use at most 63", name.len()),
        );
    }
    let allowed: Vec<String> = inner.chars().map(|c| format!("`{c}`")).collect();
    let allowed = allowed.join(" and ");
    if let Some(c) = name
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !inner.contains(*c))
    {
        return fail(
            field,
            format!("`{name}` contains {c:?}; use only letters, digits and {allowed}"),
        );
    }
    let edge = |c: Option<char>| c.is_some_and(|c| inner.contains(c));
    if edge(name.chars().next()) || edge(name.chars().last()) {
        return fail(
            field,
            format!("`{name}` starts or ends with {allowed}; begin and end with a letter or digit"),
        );
    }
    Ok(())
}

fn validate_labels<'a>(
    field: &str,
    keys: impl Iterator<Item = &'a String>,
) -> Result<(), ValidationError> {
    for key in keys {
        if key.trim().is_empty() {
            return fail(
                field,
                "a label has an empty key; write labels as `key=value`",
            );
        }
    }
    Ok(())
}

fn validate_container(c: &ContainerSpec) -> Result<(), ValidationError> {
    validate_image(&c.image)?;
    mount::validate_mounts(&c.mounts)?;
    secret::validate_references(c)?;
    for (i, entry) in c.env.iter().enumerate() {
        let field = format!("spec.task.container.env[{i}]");
        match entry.split_once('=') {
            None => {
                return fail(
                    field,
                    format!("`{entry}` has no `=`; write environment variables as `KEY=value`"),
                )
            }
            Some((key, _)) if key.trim().is_empty() => {
                return fail(
                    field,
                    format!("`{entry}` has an empty name; write `KEY=value`"),
                )
            }
            Some(_) => {}
        }
    }
    validate_labels("spec.task.container.labels", c.labels.keys())?;
    if c.stop_grace_period_ms > MAX_DURATION_MS {
        return fail(
            "spec.task.container.stop_grace_period_ms",
            format!(
                "{} ms is oversized; use at most one day",
                c.stop_grace_period_ms
            ),
        );
    }
    if let Some(hc) = &c.healthcheck {
        // An empty test inherits the image's health check, as in docker.
        let field = "spec.task.container.healthcheck.test";
        match hc.test.first().map(String::as_str) {
            None => {}
            Some(first) if first == crate::service::HealthCheck::DISABLED => {}
            Some("CMD") if hc.test.len() >= 2 => {}
            Some("CMD-SHELL") if hc.test.len() == 2 => {}
            Some("CMD") => return fail(field, "`CMD` needs a command after it, e.g. [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]"),
            Some("CMD-SHELL") => return fail(field, "`CMD-SHELL` takes exactly one shell command string after it"),
            Some(other) => {
                return fail(
                    field,
                    format!("starts with `{other}`; start with NONE, CMD or CMD-SHELL"),
                )
            }
        }
    }
    Ok(())
}

/// A plausible image reference: `[registry[:port]/]path[:tag][@digest]` where the path is
/// lowercase. The registry decides whether the image exists; this only rejects what no
/// registry could accept.
pub fn validate_image(image: &str) -> Result<(), ValidationError> {
    const FIELD: &str = "spec.task.container.image";
    let bad = |why: &str| fail(FIELD, format!("`{image}` {why}"));
    if image.is_empty() {
        return fail(FIELD, "the image is empty; name one such as `nginx:1.27`");
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace; image references have none");
    }
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let ok = digest.split_once(':').is_some_and(|(algo, hex)| {
            !algo.is_empty() && hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return bad("has a malformed digest; use `@sha256:<64 hex digits>`");
        }
    }
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return bad("has a malformed tag; tags are up to 128 letters, digits, `_`, `.`, `-`");
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    // The first component is a registry when it looks like a host (docker's rule).
    if components.len() > 1 {
        let first = components[0];
        if first.contains(['.', ':']) || first == "localhost" {
            components.remove(0);
        }
    }
    for component in components {
        if component.is_empty() {
            return bad("has an empty path component; remove the extra `/`");
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return bad("has uppercase letters in its repository name; use lowercase");
        }
        let chars_ok = component
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        let ends_ok = component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !chars_ok || !ends_ok {
            return bad("is not a valid image reference; use lowercase letters, digits and `.`, `_`, `-` inside path components");
        }
    }
    Ok(())
}

fn validate_resources(r: &ResourceRequirements) -> Result<(), ValidationError> {
    let check = |field: &str, res: &Resources| {
        if res.nano_cpus < 0 {
            return fail(
                format!("{field}.nano_cpus"),
                format!("{} is negative; use 0 or more", res.nano_cpus),
            );
        }
        if res.memory_bytes < 0 {
            return fail(
                format!("{field}.memory_bytes"),
                format!("{} is negative; use 0 or more", res.memory_bytes),
            );
        }
        Ok(())
    };
    check("spec.task.resources.limits", &r.limits)?;
    check("spec.task.resources.reservations", &r.reservations)?;
    let (lim, res) = (&r.limits, &r.reservations);
    if lim.nano_cpus > 0 && res.nano_cpus > lim.nano_cpus {
        return fail(
            "spec.task.resources.reservations.nano_cpus",
            format!(
                "{} exceeds the limit {}; reserve at most the limit",
                res.nano_cpus, lim.nano_cpus
            ),
        );
    }
    if lim.memory_bytes > 0 && res.memory_bytes > lim.memory_bytes {
        return fail(
            "spec.task.resources.reservations.memory_bytes",
            format!(
                "{} exceeds the limit {}; reserve at most the limit",
                res.memory_bytes, lim.memory_bytes
            ),
        );
    }
    if r.pids_limit < 0 {
        return fail(
            "spec.task.resources.pids_limit",
            format!("{} is negative; use 0 (unlimited) or more", r.pids_limit),
        );
    }
    Ok(())
}

fn validate_restart(spec: &ServiceSpec) -> Result<(), ValidationError> {
    let restart = &spec.task.restart;
    for (field, ms) in [
        ("delay_ms", restart.delay_ms),
        ("window_ms", restart.window_ms),
    ] {
        if ms > MAX_DURATION_MS {
            return fail(
                format!("spec.task.restart.{field}"),
                format!("{ms} ms is oversized; use at most one day"),
            );
        }
    }
    Ok(())
}

fn validate_placement(spec: &ServiceSpec) -> Result<(), ValidationError> {
    let placement = &spec.task.placement;
    for (i, expr) in placement.constraints.iter().enumerate() {
        if let Err(e) = Constraint::parse(expr) {
            return fail(
                format!("spec.task.placement.constraints[{i}]"),
                e.to_string(),
            );
        }
    }
    for (i, expr) in placement.preferences.iter().enumerate() {
        if let Err(e) = SpreadPreference::parse(expr) {
            return fail(
                format!("spec.task.placement.preferences[{i}]"),
                e.to_string(),
            );
        }
    }
    if placement.max_replicas > 0 && spec.mode == ServiceMode::Global {
        return fail(
            "spec.task.placement.max_replicas",
            "applies to replicated services only; a global service runs one task per node already",
        );
    }
    Ok(())
}

fn validate_update(field: &str, u: &UpdateConfig) -> Result<(), ValidationError> {
    if u.parallelism > MAX_REPLICAS {
        return fail(
            format!("{field}.parallelism"),
            format!(
                "{} is oversized; use 0 (all at once) to {MAX_REPLICAS}",
                u.parallelism
            ),
        );
    }
    for (name, ms) in [("delay_ms", u.delay_ms), ("monitor_ms", u.monitor_ms)] {
        if ms > MAX_DURATION_MS {
            return fail(
                format!("{field}.{name}"),
                format!("{ms} ms is oversized; use at most one day"),
            );
        }
    }
    if !(0.0..=1.0).contains(&u.max_failure_ratio) {
        return fail(
            format!("{field}.max_failure_ratio"),
            format!("{} is out of range; use 0 to 1", u.max_failure_ratio),
        );
    }
    Ok(())
}

fn validate_ports(ports: &[PortConfig]) -> Result<(), ValidationError> {
    let mut published = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let field = |name: &str| format!("spec.endpoint.ports[{i}].{name}");
        if !(1..=65535).contains(&p.target_port) {
            return fail(
                field("target_port"),
                format!("{} is out of range; use 1-65535", p.target_port),
            );
        }
        if p.published_port > 65535 {
            return fail(
                field("published_port"),
                format!(
                    "{} is out of range; use 0-65535 (0 picks one from 30000-32767)",
                    p.published_port
                ),
            );
        }
        if p.publish_mode == PublishMode::Host && p.published_port == 0 {
            return fail(
                field("published_port"),
                "host-mode ports need a published port; set published=<port>",
            );
        }
        if p.published_port > 0 && !published.insert((p.published_port, p.protocol)) {
            return fail(
                field("published_port"),
                format!(
                    "{}/{} is published twice in this spec; publish each port once",
                    p.published_port,
                    p.protocol.as_str()
                ),
            );
        }
    }
    Ok(())
}

mod mount;
mod network;
mod secret;
pub use network::validate_network_spec;
pub use secret::validate_data_spec;

#[cfg(test)]
mod tests;
