//! One compose service → one `ServiceSpec`: container, deploy settings, and its start order.

use std::collections::BTreeSet;

use types::{
    ContainerSpec, EndpointMode, EndpointSpec, FailureAction, HealthCheck, Placement,
    ResourceRequirements, Resources, RestartCondition, RestartPolicy, ServiceMode, ServiceSpec,
    TaskSpec, UpdateConfig, UpdateOrder,
};

use crate::error::ComposeError;
use crate::map_attach::{data_refs, mounts, networks, ports};
use crate::map_top::{Condition, Names};
use crate::model::{self, Deploy, Service};
use crate::scalar::Text;
use crate::units::{parse_duration_ms, parse_nano_cpus, parse_size_bytes};

/// Reads an optional text at `path` with `parse`, naming the key on failure.
fn read<T>(
    path: &str,
    value: &Option<Text>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ComposeError> {
    value
        .as_ref()
        .map(|t| parse(&t.0).map_err(|e| ComposeError::invalid(path, e)))
        .transpose()
}

/// One of a fixed set of words, naming the key and the choices on failure.
fn choice<T: Copy>(
    path: &str,
    value: &Option<Text>,
    choices: &[(&str, T)],
) -> Result<Option<T>, ComposeError> {
    read(path, value, |s| {
        choices
            .iter()
            .find(|(word, _)| *word == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
                format!("`{s}` is not one of {}", words.join(", "))
            })
    })
}

pub fn service_spec(
    key: &str,
    s: &Service,
    names: &Names,
    ignored: &mut BTreeSet<String>,
) -> Result<ServiceSpec, ComposeError> {
    let at = |k: &str| format!("services.{key}.{k}");
    let mut container = ContainerSpec {
        image: s.image.clone().unwrap_or_default().0,
        command: s.entrypoint.clone().unwrap_or_default().0,
        args: s.command.clone().unwrap_or_default().0,
        env: s
            .environment
            .iter()
            .flat_map(|e| e.0.iter())
            .filter_map(|(k, v)| Some(format!("{k}={}", v.as_ref()?)))
            .collect(),
        labels: names.namespace_labels(s.labels.as_ref()),
        hostname: s.hostname.clone().unwrap_or_default().0,
        user: s.user.clone().unwrap_or_default().0,
        workdir: s.working_dir.clone().unwrap_or_default().0,
        mounts: mounts(key, &s.volumes, names)?,
        secrets: data_refs(key, "secrets", &s.secrets, names)?,
        configs: data_refs(key, "configs", &s.configs, names)?,
        ..ContainerSpec::default()
    };
    if let Some(ms) = read(
        &at("stop_grace_period"),
        &s.stop_grace_period,
        parse_duration_ms,
    )? {
        container.stop_grace_period_ms = ms;
    }
    if let Some(hc) = &s.healthcheck {
        let d = |k: &str, v: &Option<Text>| {
            read(&at(&format!("healthcheck.{k}")), v, parse_duration_ms)
                .map(Option::unwrap_or_default)
        };
        container.healthcheck = Some(HealthCheck {
            test: match hc.disable.is_some_and(|f| f.0) {
                true => vec![HealthCheck::DISABLED.to_string()],
                false => hc.test.clone().unwrap_or_default().0,
            },
            interval_ms: d("interval", &hc.interval)?,
            timeout_ms: d("timeout", &hc.timeout)?,
            retries: hc.retries.map_or(0, |r| r.0),
            start_period_ms: d("start_period", &hc.start_period)?,
        });
    }
    let deploy = s.deploy.clone().unwrap_or_default();
    let mut spec = ServiceSpec {
        name: names.scoped(key),
        labels: names.namespace_labels(deploy.labels.as_ref()),
        task: TaskSpec {
            container,
            networks: networks(key, s, names)?,
            ..TaskSpec::default()
        },
        endpoint: EndpointSpec {
            ports: ports(key, &s.ports, ignored)?,
            ..EndpointSpec::default()
        },
        ..ServiceSpec::default()
    };
    apply_deploy(key, &deploy, &mut spec)?;
    Ok(spec)
}

fn apply_deploy(key: &str, d: &Deploy, spec: &mut ServiceSpec) -> Result<(), ComposeError> {
    let at = |k: &str| format!("services.{key}.deploy.{k}");
    let global = choice(
        &at("mode"),
        &d.mode,
        &[("replicated", false), ("global", true)],
    )?
    .unwrap_or(false);
    spec.mode = match (global, d.replicas) {
        (false, replicas) => ServiceMode::Replicated {
            replicas: replicas.map_or(1, |r| r.0),
        },
        (true, None) => ServiceMode::Global,
        (true, Some(_)) => return Err(ComposeError::invalid(
            at("replicas"),
            "a global service runs one task per node; remove `replicas` or use mode: replicated",
        )),
    };
    if let Some(mode) = choice(
        &at("endpoint_mode"),
        &d.endpoint_mode,
        &[("vip", EndpointMode::Vip), ("dnsrr", EndpointMode::Dnsrr)],
    )? {
        spec.endpoint.mode = mode;
    }
    if let Some(p) = &d.placement {
        spec.task.placement = Placement {
            constraints: p.constraints.iter().map(|t| t.0.clone()).collect(),
            preferences: p
                .preferences
                .iter()
                .filter_map(|p| Some(format!("spread={}", p.spread.as_ref()?.0)))
                .collect(),
            max_replicas: p.max_replicas_per_node.map_or(0, |m| m.0),
        };
    }
    if let Some(r) = &d.resources {
        let amounts =
            |part: &str, a: &Option<model::ResourceAmounts>| -> Result<Resources, ComposeError> {
                let a = a.clone().unwrap_or_default();
                Ok(Resources {
                    nano_cpus: read(
                        &at(&format!("resources.{part}.cpus")),
                        &a.cpus,
                        parse_nano_cpus,
                    )?
                    .unwrap_or(0),
                    memory_bytes: read(
                        &at(&format!("resources.{part}.memory")),
                        &a.memory,
                        parse_size_bytes,
                    )?
                    .unwrap_or(0),
                })
            };
        spec.task.resources = ResourceRequirements {
            limits: amounts("limits", &r.limits)?,
            reservations: amounts("reservations", &r.reservations)?,
            pids_limit: r
                .limits
                .as_ref()
                .and_then(|l| l.pids)
                .map_or(0, |p| p.0 as i64),
        };
    }
    if let Some(r) = &d.restart_policy {
        let conditions = [
            ("none", RestartCondition::None),
            ("on-failure", RestartCondition::OnFailure),
            ("any", RestartCondition::Any),
        ];
        let default = RestartPolicy::default();
        spec.task.restart = RestartPolicy {
            condition: choice(&at("restart_policy.condition"), &r.condition, &conditions)?
                .unwrap_or(default.condition),
            delay_ms: read(&at("restart_policy.delay"), &r.delay, parse_duration_ms)?
                .unwrap_or(default.delay_ms),
            max_attempts: r.max_attempts.map_or(default.max_attempts, |m| m.0),
            window_ms: read(&at("restart_policy.window"), &r.window, parse_duration_ms)?
                .unwrap_or(default.window_ms),
        };
    }
    if let Some(u) = &d.update_config {
        spec.update = update_config(&at("update_config"), u)?;
    }
    if let Some(u) = &d.rollback_config {
        spec.rollback = Some(update_config(&at("rollback_config"), u)?);
    }
    Ok(())
}

fn update_config(path: &str, u: &model::UpdateConfig) -> Result<UpdateConfig, ComposeError> {
    let at = |k: &str| format!("{path}.{k}");
    let default = UpdateConfig::default();
    let actions = [
        ("pause", FailureAction::Pause),
        ("continue", FailureAction::Continue),
        ("rollback", FailureAction::Rollback),
    ];
    let orders = [
        ("stop-first", UpdateOrder::StopFirst),
        ("start-first", UpdateOrder::StartFirst),
    ];
    Ok(UpdateConfig {
        parallelism: u.parallelism.map_or(default.parallelism, |p| p.0),
        delay_ms: read(&at("delay"), &u.delay, parse_duration_ms)?.unwrap_or(default.delay_ms),
        failure_action: choice(&at("failure_action"), &u.failure_action, &actions)?
            .unwrap_or(default.failure_action),
        monitor_ms: read(&at("monitor"), &u.monitor, parse_duration_ms)?
            .unwrap_or(default.monitor_ms),
        max_failure_ratio: u
            .max_failure_ratio
            .map_or(default.max_failure_ratio, |r| r.0 as f32),
        order: choice(&at("order"), &u.order, &orders)?.unwrap_or(default.order),
    })
}

/// `depends_on` as start order, by final names.
pub fn dependencies(
    key: &str,
    s: &Service,
    names: &Names,
) -> Result<Vec<(String, Condition)>, ComposeError> {
    let conditions = [
        ("service_started", Condition::Started),
        ("service_healthy", Condition::Healthy),
        (
            "service_completed_successfully",
            Condition::CompletedSuccessfully,
        ),
    ];
    s.depends_on
        .0
        .iter()
        .map(|(dep, how)| {
            let path = format!("services.{key}.depends_on.{dep}");
            if !names.file.services.contains_key(dep) {
                return Err(ComposeError::invalid(
                    &path,
                    format!("service `{dep}` is not in the file"),
                ));
            }
            let condition = how.as_ref().and_then(|h| h.condition.clone());
            let condition = choice(&format!("{path}.condition"), &condition, &conditions)?
                .unwrap_or(Condition::Started);
            Ok((names.scoped(dep), condition))
        })
        .collect()
}
