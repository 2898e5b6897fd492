//! Docker's `TaskSpec` (a service's `TaskTemplate`) → ours: resources, restart policy,
//! placement and networks here, the container in [`super::container_spec_in`].

use api::objects as pb;
use bollard::models::{
    Limit, NetworkAttachmentConfig, ResourceObject, TaskSpec, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum as Condition,
};

use super::container_spec_in::container_spec;
use super::service_spec_in::{count, SPREAD};
use super::service_spec_out::RUNTIME_CONTAINER;
use super::{millis_of, zero_only};
use crate::error::EngineError;

const AT: &str = "TaskTemplate";
/// swarmkit's restart delay when none is given.
pub const DEFAULT_RESTART_DELAY_MS: u64 = 5_000;

pub fn task_spec(t: TaskSpec) -> Result<pb::TaskSpec, EngineError> {
    let TaskSpec {
        plugin_spec,
        container_spec: container,
        network_attachment_spec,
        resources: wanted,
        restart_policy,
        placement: place,
        force_update,
        runtime,
        networks: attached,
        log_driver,
    } = t;
    zero_only(
        AT,
        &TaskSpec {
            plugin_spec,
            network_attachment_spec,
            log_driver,
            ..Default::default()
        },
    )?;
    match runtime.as_deref() {
        None | Some("") | Some(RUNTIME_CONTAINER) => {}
        Some(other) => {
            return Err(EngineError::bad_request(format!(
                "{AT}.Runtime: `{other}` is not supported; swarmd runs containers only (`{RUNTIME_CONTAINER}`)"
            )))
        }
    }
    Ok(pb::TaskSpec {
        container: Some(container_spec(container.unwrap_or_default())?),
        resources: Some(resources(wanted.unwrap_or_default())?),
        restart: restart_policy.map(restart).transpose()?,
        placement: Some(placement(place.unwrap_or_default())?),
        force_update: force_update.unwrap_or(0),
        networks: networks(&format!("{AT}.Networks"), attached.unwrap_or_default())?,
    })
}

/// A service's networks: `Target` is a network name or ID (the control API resolves it).
pub fn networks(
    path: &str,
    attached: Vec<NetworkAttachmentConfig>,
) -> Result<Vec<pb::NetworkAttachmentConfig>, EngineError> {
    attached
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let NetworkAttachmentConfig {
                target,
                aliases,
                driver_opts,
            } = n;
            zero_only(&format!("{path}[{i}].DriverOpts"), &driver_opts)?;
            Ok(pb::NetworkAttachmentConfig {
                target: target.unwrap_or_default(),
                aliases: aliases.unwrap_or_default(),
            })
        })
        .collect()
}

fn resources(r: TaskSpecResources) -> Result<pb::ResourceRequirements, EngineError> {
    let TaskSpecResources {
        limits,
        reservations,
        swap_bytes,
        memory_swappiness,
    } = r;
    let Limit {
        nano_cpus,
        memory_bytes,
        pids,
    } = limits.unwrap_or_default();
    let ResourceObject {
        nano_cpus: reserved_cpus,
        memory_bytes: reserved_memory,
        generic_resources,
    } = reservations.unwrap_or_default();
    zero_only(
        &format!("{AT}.Resources"),
        &TaskSpecResources {
            swap_bytes,
            memory_swappiness,
            reservations: Some(ResourceObject {
                generic_resources,
                ..Default::default()
            }),
            ..Default::default()
        },
    )?;
    Ok(pb::ResourceRequirements {
        limits: Some(pb::Resources {
            nano_cpus: nano_cpus.unwrap_or(0),
            memory_bytes: memory_bytes.unwrap_or(0),
        }),
        reservations: Some(pb::Resources {
            nano_cpus: reserved_cpus.unwrap_or(0),
            memory_bytes: reserved_memory.unwrap_or(0),
        }),
        pids_limit: pids.unwrap_or(0),
    })
}

fn restart(r: TaskSpecRestartPolicy) -> Result<pb::RestartPolicy, EngineError> {
    let TaskSpecRestartPolicy {
        condition,
        delay,
        max_attempts,
        window,
    } = r;
    let condition = match condition.unwrap_or(Condition::EMPTY) {
        Condition::EMPTY | Condition::ANY => pb::RestartCondition::Any,
        Condition::NONE => pb::RestartCondition::None,
        Condition::ON_FAILURE => pb::RestartCondition::OnFailure,
    };
    let at = format!("{AT}.RestartPolicy");
    Ok(pb::RestartPolicy {
        condition: condition as i32,
        delay_ms: millis_of(&format!("{at}.Delay"), delay)?.unwrap_or(DEFAULT_RESTART_DELAY_MS),
        max_attempts: count(
            &format!("{at}.MaxAttempts"),
            max_attempts,
            "give 0 (no limit) or more",
        )?,
        window_ms: millis_of(&format!("{at}.Window"), window)?.unwrap_or(0),
    })
}

fn placement(p: TaskSpecPlacement) -> Result<pb::Placement, EngineError> {
    let TaskSpecPlacement {
        constraints,
        preferences,
        max_replicas,
        // The CLI fills `Platforms` itself on every create and update, from the image's
        // manifest in the registry, not from anything the user asked. Our scheduler has no
        // platform filter; a node that cannot run the image fails its pull and the task
        // reports the engine's error. Refusing it would refuse every `docker service create`.
        platforms: _,
    } = p;
    let preferences = preferences
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, pref)| {
            let TaskSpecPlacementPreferences { spread } = pref;
            spread
                .and_then(|TaskSpecPlacementSpread { spread_descriptor }| spread_descriptor)
                .filter(|d| !d.is_empty())
                .map(|d| format!("{SPREAD}{d}"))
                .ok_or_else(|| {
                    EngineError::bad_request(format!(
                        "{AT}.Placement.Preferences[{i}]: give a Spread with a SpreadDescriptor, \
                         such as node.labels.zone"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(pb::Placement {
        constraints: constraints.unwrap_or_default(),
        preferences,
        max_replicas: count(
            &format!("{AT}.Placement.MaxReplicas"),
            max_replicas,
            "give 0 (no limit) or more",
        )?,
    })
}
