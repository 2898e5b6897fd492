//! Our `ServiceSpec` and `TaskSpec` → docker's, for `service inspect`, `service ps` and every
//! command that reads a spec, edits it and sends it back (`scale`, `update`, `stack deploy`).
//! Whatever is written here comes back through [`super::service_spec_in`] and must come out
//! as the same spec, or a scale would restart every task: defaults are written out explicitly
//! (stop grace, restart policy, update config) and zeros are left out.

use std::collections::HashMap;

use api::objects as pb;
use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum as Protocol,
    EndpointPortConfigPublishModeEnum as PublishMode, EndpointSpec,
    EndpointSpecModeEnum as EndpointMode, HealthConfig, Limit, Mount, MountTmpfsOptions, MountType,
    MountVolumeOptions, MountVolumeOptionsDriverConfig, NetworkAttachmentConfig, ResourceObject,
    ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecRollbackConfig,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum as FailureAction,
    ServiceSpecUpdateConfigOrderEnum as Order, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecSecrets, TaskSpecPlacement, TaskSpecPlacementPreferences,
    TaskSpecPlacementSpread, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum as Condition,
};
use pb::service_spec::Mode;

use super::nanos;

/// The only task runtime swarmd has (moby writes it on every container service).
pub const RUNTIME_CONTAINER: &str = "container";

/// `Some(v)` unless `v` is its type's zero (docker's `omitempty`).
fn set<T: Default + PartialEq>(v: T) -> Option<T> {
    (v != T::default()).then_some(v)
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn service_spec(s: pb::ServiceSpec) -> ServiceSpec {
    let mode = match s.mode {
        Some(Mode::Global(true)) => ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        },
        Some(Mode::Replicas(n)) => replicated(n),
        // What the control API reads a missing mode (or `global: false`) as.
        Some(Mode::Global(false)) | None => replicated(1),
    };
    ServiceSpec {
        name: Some(s.name),
        labels: Some(s.labels),
        task_template: Some(task_spec(s.task.unwrap_or_default())),
        mode: Some(mode),
        update_config: s.update.map(rollout),
        rollback_config: s.rollback.map(rollback),
        networks: None,
        endpoint_spec: Some(endpoint_spec(s.endpoint.unwrap_or_default())),
    }
}

fn replicated(replicas: u64) -> ServiceSpecMode {
    ServiceSpecMode {
        replicated: Some(ServiceSpecModeReplicated {
            replicas: Some(int(replicas)),
        }),
        ..Default::default()
    }
}

fn rollout(u: pb::UpdateConfig) -> ServiceSpecUpdateConfig {
    ServiceSpecUpdateConfig {
        parallelism: Some(int(u.parallelism)),
        delay: Some(nanos(u.delay_ms)),
        failure_action: Some(match pb::FailureAction::try_from(u.failure_action) {
            Ok(pb::FailureAction::Continue) => FailureAction::CONTINUE,
            Ok(pb::FailureAction::Rollback) => FailureAction::ROLLBACK,
            _ => FailureAction::PAUSE,
        }),
        monitor: Some(nanos(u.monitor_ms)),
        max_failure_ratio: Some(f64::from(u.max_failure_ratio)),
        order: Some(match pb::UpdateOrder::try_from(u.order) {
            Ok(pb::UpdateOrder::StartFirst) => Order::START_FIRST,
            _ => Order::STOP_FIRST,
        }),
    }
}

/// Docker's rollback config has the update config's fields, but no `rollback` failure action
/// (rolling back a rollback means nothing); one set through swarmctl is shown as absent.
fn rollback(u: pb::UpdateConfig) -> ServiceSpecRollbackConfig {
    let mut update = rollout(u);
    if update.failure_action == Some(FailureAction::ROLLBACK) {
        update.failure_action = None;
    }
    super::recast(&update).unwrap_or_default()
}

pub fn endpoint_spec(e: pb::EndpointSpec) -> EndpointSpec {
    EndpointSpec {
        mode: Some(match pb::EndpointMode::try_from(e.mode) {
            Ok(pb::EndpointMode::Dnsrr) => EndpointMode::DNSRR,
            _ => EndpointMode::VIP,
        }),
        ports: set(e.ports.iter().map(port).collect()),
    }
}

pub fn port(p: &pb::PortConfig) -> EndpointPortConfig {
    EndpointPortConfig {
        name: None,
        protocol: Some(match pb::PortProtocol::try_from(p.protocol) {
            Ok(pb::PortProtocol::Udp) => Protocol::UDP,
            _ => Protocol::TCP,
        }),
        target_port: Some(i64::from(p.target_port)),
        published_port: Some(i64::from(p.published_port)),
        publish_mode: Some(match pb::PublishMode::try_from(p.publish_mode) {
            Ok(pb::PublishMode::Host) => PublishMode::HOST,
            _ => PublishMode::INGRESS,
        }),
    }
}

pub fn task_spec(t: pb::TaskSpec) -> TaskSpec {
    TaskSpec {
        container_spec: Some(container_spec(t.container.unwrap_or_default())),
        resources: Some(resources(t.resources.unwrap_or_default())),
        restart_policy: t.restart.map(restart),
        placement: Some(placement(t.placement.unwrap_or_default())),
        force_update: Some(t.force_update),
        runtime: Some(RUNTIME_CONTAINER.into()),
        networks: set(t
            .networks
            .into_iter()
            .map(|n| NetworkAttachmentConfig {
                target: Some(n.target),
                aliases: set(n.aliases),
                driver_opts: None,
            })
            .collect()),
        ..Default::default()
    }
}

fn container_spec(c: pb::ContainerSpec) -> TaskSpecContainerSpec {
    TaskSpecContainerSpec {
        // Always present, even empty: `service ps` and the visualizer read it unguarded.
        image: Some(c.image),
        labels: set(c.labels),
        command: set(c.command),
        args: set(c.args),
        hostname: set(c.hostname),
        env: set(c.env),
        dir: set(c.workdir),
        user: set(c.user),
        mounts: set(c.mounts.into_iter().map(mount).collect()),
        stop_grace_period: Some(nanos(c.stop_grace_period_ms)),
        health_check: c.healthcheck.map(|h| HealthConfig {
            test: Some(h.test),
            interval: set(nanos(h.interval_ms)),
            timeout: set(nanos(h.timeout_ms)),
            retries: set(int(h.retries)),
            start_period: set(nanos(h.start_period_ms)),
            start_interval: None,
        }),
        secrets: set(c
            .secrets
            .into_iter()
            .map(|r| TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(r.target),
                    uid: Some(r.uid),
                    gid: Some(r.gid),
                    mode: Some(r.mode),
                }),
                secret_id: Some(r.id),
                secret_name: Some(r.name),
            })
            .collect()),
        configs: set(c
            .configs
            .into_iter()
            .map(|r| TaskSpecContainerSpecConfigs {
                file: Some(TaskSpecContainerSpecFile1 {
                    name: Some(r.target),
                    uid: Some(r.uid),
                    gid: Some(r.gid),
                    mode: Some(r.mode),
                }),
                runtime: None,
                config_id: Some(r.id),
                config_name: Some(r.name),
            })
            .collect()),
        ..Default::default()
    }
}

fn mount(m: pb::Mount) -> Mount {
    let kind = pb::MountKind::try_from(m.kind).unwrap_or_default();
    let volume = (kind == pb::MountKind::Volume
        && !(m.volume_driver.is_empty() && m.volume_options.is_empty()))
    .then(|| MountVolumeOptions {
        driver_config: Some(MountVolumeOptionsDriverConfig {
            name: set(m.volume_driver),
            options: set(m.volume_options),
        }),
        ..Default::default()
    });
    let tmpfs = (kind == pb::MountKind::Tmpfs && (m.tmpfs_size_bytes != 0 || m.tmpfs_mode != 0))
        .then(|| MountTmpfsOptions {
            size_bytes: set(m.tmpfs_size_bytes),
            mode: set(i64::from(m.tmpfs_mode)),
            options: None,
        });
    Mount {
        target: Some(m.target),
        source: set(m.source),
        typ: Some(match kind {
            pb::MountKind::Volume => MountType::VOLUME,
            pb::MountKind::Bind => MountType::BIND,
            pb::MountKind::Tmpfs => MountType::TMPFS,
        }),
        read_only: set(m.readonly),
        volume_options: volume,
        tmpfs_options: tmpfs,
        ..Default::default()
    }
}

fn resources(r: pb::ResourceRequirements) -> TaskSpecResources {
    let limits = r.limits.unwrap_or_default();
    let reservations = r.reservations.unwrap_or_default();
    TaskSpecResources {
        limits: Some(Limit {
            nano_cpus: set(limits.nano_cpus),
            memory_bytes: set(limits.memory_bytes),
            pids: set(r.pids_limit),
        }),
        reservations: Some(ResourceObject {
            nano_cpus: set(reservations.nano_cpus),
            memory_bytes: set(reservations.memory_bytes),
            generic_resources: None,
        }),
        ..Default::default()
    }
}

fn restart(r: pb::RestartPolicy) -> TaskSpecRestartPolicy {
    TaskSpecRestartPolicy {
        condition: Some(match pb::RestartCondition::try_from(r.condition) {
            Ok(pb::RestartCondition::None) => Condition::NONE,
            Ok(pb::RestartCondition::OnFailure) => Condition::ON_FAILURE,
            _ => Condition::ANY,
        }),
        delay: Some(nanos(r.delay_ms)),
        max_attempts: Some(int(r.max_attempts)),
        window: Some(nanos(r.window_ms)),
    }
}

fn placement(p: pb::Placement) -> TaskSpecPlacement {
    TaskSpecPlacement {
        constraints: set(p.constraints),
        preferences: set(p
            .preferences
            .into_iter()
            .map(|pref| TaskSpecPlacementPreferences {
                spread: Some(TaskSpecPlacementSpread {
                    spread_descriptor: Some(
                        pref.strip_prefix(super::service_spec_in::SPREAD)
                            .map(str::to_string)
                            .unwrap_or(pref),
                    ),
                }),
            })
            .collect()),
        max_replicas: set(int(p.max_replicas)),
        platforms: None,
    }
}
