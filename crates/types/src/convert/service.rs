//! Service, ServiceSpec, TaskSpec and their parts.

use api::objects as pb;
use pb::service_spec::Mode;

use super::{enum_in, enum_out, enum_pair, map_in, map_out, ConvertError};
use crate::mount::{Mount, MountKind};
use crate::service::{
    ContainerSpec, EndpointMode, EndpointSpec, FailureAction, HealthCheck, Placement, PortConfig,
    PortProtocol, PublishMode, ResourceRequirements, RestartCondition, RestartPolicy, Service,
    ServiceMode, ServiceSpec, TaskSpec, UpdateConfig, UpdateOrder, UpdateState, UpdateStatus,
};

enum_pair!(RestartCondition, pb::RestartCondition, {
    Any <=> Any, None <=> None, OnFailure <=> OnFailure,
});
enum_pair!(PortProtocol, pb::PortProtocol, { Tcp <=> Tcp, Udp <=> Udp });
enum_pair!(PublishMode, pb::PublishMode, { Ingress <=> Ingress, Host <=> Host });
enum_pair!(EndpointMode, pb::EndpointMode, { Vip <=> Vip, Dnsrr <=> Dnsrr });
enum_pair!(FailureAction, pb::FailureAction, {
    Pause <=> Pause, Continue <=> Continue, Rollback <=> Rollback,
});
enum_pair!(UpdateOrder, pb::UpdateOrder, { StopFirst <=> StopFirst, StartFirst <=> StartFirst });
enum_pair!(UpdateState, pb::UpdateState, {
    Unknown <=> Unknown,
    Updating <=> Updating,
    Paused <=> Paused,
    Completed <=> Completed,
    RollbackStarted <=> RollbackStarted,
    RollbackPaused <=> RollbackPaused,
    RollbackCompleted <=> RollbackCompleted,
});

impl From<RestartPolicy> for pb::RestartPolicy {
    fn from(r: RestartPolicy) -> Self {
        pb::RestartPolicy {
            condition: enum_out::<_, pb::RestartCondition>(r.condition),
            delay_ms: r.delay_ms,
            max_attempts: r.max_attempts,
            window_ms: r.window_ms,
        }
    }
}

impl TryFrom<pb::RestartPolicy> for RestartPolicy {
    type Error = ConvertError;
    fn try_from(r: pb::RestartPolicy) -> Result<Self, ConvertError> {
        Ok(RestartPolicy {
            condition: enum_in::<pb::RestartCondition, _>("restart.condition", r.condition)?,
            delay_ms: r.delay_ms,
            max_attempts: r.max_attempts,
            window_ms: r.window_ms,
        })
    }
}

impl From<HealthCheck> for pb::HealthCheck {
    fn from(h: HealthCheck) -> Self {
        pb::HealthCheck {
            test: h.test,
            interval_ms: h.interval_ms,
            timeout_ms: h.timeout_ms,
            retries: h.retries,
            start_period_ms: h.start_period_ms,
        }
    }
}

impl From<pb::HealthCheck> for HealthCheck {
    fn from(h: pb::HealthCheck) -> Self {
        HealthCheck {
            test: h.test,
            interval_ms: h.interval_ms,
            timeout_ms: h.timeout_ms,
            retries: h.retries,
            start_period_ms: h.start_period_ms,
        }
    }
}

impl From<ContainerSpec> for pb::ContainerSpec {
    fn from(c: ContainerSpec) -> Self {
        pb::ContainerSpec {
            image: c.image,
            command: c.command,
            args: c.args,
            env: c.env,
            labels: map_out(c.labels),
            hostname: c.hostname,
            healthcheck: c.healthcheck.map(Into::into),
            stop_grace_period_ms: c.stop_grace_period_ms,
            user: c.user,
            workdir: c.workdir,
            mounts: c.mounts.into_iter().map(Into::into).collect(),
            secrets: c.secrets.into_iter().map(Into::into).collect(),
            configs: c.configs.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::ContainerSpec> for ContainerSpec {
    type Error = ConvertError;
    fn try_from(c: pb::ContainerSpec) -> Result<Self, ConvertError> {
        Ok(ContainerSpec {
            image: c.image,
            command: c.command,
            args: c.args,
            env: c.env,
            labels: map_in(c.labels),
            hostname: c.hostname,
            healthcheck: c.healthcheck.map(Into::into),
            stop_grace_period_ms: c.stop_grace_period_ms,
            user: c.user,
            workdir: c.workdir,
            mounts: c
                .mounts
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            secrets: c.secrets.into_iter().map(Into::into).collect(),
            configs: c.configs.into_iter().map(Into::into).collect(),
        })
    }
}

enum_pair!(MountKind, pb::MountKind, { Volume <=> Volume, Bind <=> Bind, Tmpfs <=> Tmpfs });

impl From<Mount> for pb::Mount {
    fn from(m: Mount) -> Self {
        pb::Mount {
            kind: enum_out::<_, pb::MountKind>(m.kind),
            source: m.source,
            target: m.target,
            readonly: m.readonly,
            volume_driver: m.volume_driver,
            volume_options: map_out(m.volume_options),
            tmpfs_size_bytes: m.tmpfs_size_bytes,
            tmpfs_mode: m.tmpfs_mode,
        }
    }
}

impl TryFrom<pb::Mount> for Mount {
    type Error = ConvertError;
    fn try_from(m: pb::Mount) -> Result<Self, ConvertError> {
        Ok(Mount {
            kind: enum_in::<pb::MountKind, _>("container.mounts.kind", m.kind)?,
            source: m.source,
            target: m.target,
            readonly: m.readonly,
            volume_driver: m.volume_driver,
            volume_options: map_in(m.volume_options),
            tmpfs_size_bytes: m.tmpfs_size_bytes,
            tmpfs_mode: m.tmpfs_mode,
        })
    }
}

impl From<ResourceRequirements> for pb::ResourceRequirements {
    fn from(r: ResourceRequirements) -> Self {
        pb::ResourceRequirements {
            limits: Some(r.limits.into()),
            reservations: Some(r.reservations.into()),
            pids_limit: r.pids_limit,
        }
    }
}

impl From<pb::ResourceRequirements> for ResourceRequirements {
    fn from(r: pb::ResourceRequirements) -> Self {
        ResourceRequirements {
            limits: r.limits.map(Into::into).unwrap_or_default(),
            reservations: r.reservations.map(Into::into).unwrap_or_default(),
            pids_limit: r.pids_limit,
        }
    }
}

impl From<Placement> for pb::Placement {
    fn from(p: Placement) -> Self {
        pb::Placement {
            constraints: p.constraints,
            preferences: p.preferences,
            max_replicas: p.max_replicas,
        }
    }
}

impl From<pb::Placement> for Placement {
    fn from(p: pb::Placement) -> Self {
        Placement {
            constraints: p.constraints,
            preferences: p.preferences,
            max_replicas: p.max_replicas,
        }
    }
}

impl From<TaskSpec> for pb::TaskSpec {
    fn from(t: TaskSpec) -> Self {
        pb::TaskSpec {
            container: Some(t.container.into()),
            resources: Some(t.resources.into()),
            restart: Some(t.restart.into()),
            placement: Some(t.placement.into()),
            force_update: t.force_update,
            networks: t.networks.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::TaskSpec> for TaskSpec {
    type Error = ConvertError;
    fn try_from(t: pb::TaskSpec) -> Result<Self, ConvertError> {
        Ok(TaskSpec {
            container: t
                .container
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            resources: t.resources.map(Into::into).unwrap_or_default(),
            restart: t
                .restart
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            placement: t.placement.map(Into::into).unwrap_or_default(),
            force_update: t.force_update,
            networks: t.networks.into_iter().map(Into::into).collect(),
        })
    }
}

impl From<PortConfig> for pb::PortConfig {
    fn from(p: PortConfig) -> Self {
        pb::PortConfig {
            protocol: enum_out::<_, pb::PortProtocol>(p.protocol),
            target_port: p.target_port,
            published_port: p.published_port,
            publish_mode: enum_out::<_, pb::PublishMode>(p.publish_mode),
        }
    }
}

impl TryFrom<pb::PortConfig> for PortConfig {
    type Error = ConvertError;
    fn try_from(p: pb::PortConfig) -> Result<Self, ConvertError> {
        Ok(PortConfig {
            protocol: enum_in::<pb::PortProtocol, _>("ports.protocol", p.protocol)?,
            target_port: p.target_port,
            published_port: p.published_port,
            publish_mode: enum_in::<pb::PublishMode, _>("ports.publish_mode", p.publish_mode)?,
        })
    }
}

/// Converts a list of wire ports, failing on the first unknown enum.
pub(super) fn ports_in(ports: Vec<pb::PortConfig>) -> Result<Vec<PortConfig>, ConvertError> {
    ports.into_iter().map(TryInto::try_into).collect()
}

pub(super) fn ports_out(ports: Vec<PortConfig>) -> Vec<pb::PortConfig> {
    ports.into_iter().map(Into::into).collect()
}

impl From<EndpointSpec> for pb::EndpointSpec {
    fn from(e: EndpointSpec) -> Self {
        pb::EndpointSpec {
            ports: ports_out(e.ports),
            mode: enum_out::<_, pb::EndpointMode>(e.mode),
        }
    }
}

impl TryFrom<pb::EndpointSpec> for EndpointSpec {
    type Error = ConvertError;
    fn try_from(e: pb::EndpointSpec) -> Result<Self, ConvertError> {
        Ok(EndpointSpec {
            ports: ports_in(e.ports)?,
            mode: enum_in::<pb::EndpointMode, _>("endpoint.mode", e.mode)?,
        })
    }
}

impl From<UpdateConfig> for pb::UpdateConfig {
    fn from(u: UpdateConfig) -> Self {
        pb::UpdateConfig {
            parallelism: u.parallelism,
            delay_ms: u.delay_ms,
            failure_action: enum_out::<_, pb::FailureAction>(u.failure_action),
            monitor_ms: u.monitor_ms,
            max_failure_ratio: u.max_failure_ratio,
            order: enum_out::<_, pb::UpdateOrder>(u.order),
        }
    }
}

impl TryFrom<pb::UpdateConfig> for UpdateConfig {
    type Error = ConvertError;
    fn try_from(u: pb::UpdateConfig) -> Result<Self, ConvertError> {
        Ok(UpdateConfig {
            parallelism: u.parallelism,
            delay_ms: u.delay_ms,
            failure_action: enum_in::<pb::FailureAction, _>(
                "update.failure_action",
                u.failure_action,
            )?,
            monitor_ms: u.monitor_ms,
            max_failure_ratio: u.max_failure_ratio,
            order: enum_in::<pb::UpdateOrder, _>("update.order", u.order)?,
        })
    }
}

impl From<ServiceSpec> for pb::ServiceSpec {
    fn from(s: ServiceSpec) -> Self {
        pb::ServiceSpec {
            name: s.name,
            labels: map_out(s.labels),
            task: Some(s.task.into()),
            mode: Some(match s.mode {
                ServiceMode::Replicated { replicas } => Mode::Replicas(replicas),
                ServiceMode::Global => Mode::Global(true),
            }),
            update: Some(s.update.into()),
            rollback: s.rollback.map(Into::into),
            endpoint: Some(s.endpoint.into()),
        }
    }
}

impl TryFrom<pb::ServiceSpec> for ServiceSpec {
    type Error = ConvertError;
    fn try_from(s: pb::ServiceSpec) -> Result<Self, ConvertError> {
        Ok(ServiceSpec {
            name: s.name,
            labels: map_in(s.labels),
            task: s
                .task
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            mode: match s.mode {
                Some(Mode::Replicas(replicas)) => ServiceMode::Replicated { replicas },
                Some(Mode::Global(true)) => ServiceMode::Global,
                // `global: false` asks for no global mode: the default, one replica.
                Some(Mode::Global(false)) => ServiceMode::default(),
                None => ServiceMode::default(),
            },
            update: s
                .update
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            rollback: s.rollback.map(TryInto::try_into).transpose()?,
            endpoint: s
                .endpoint
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

impl From<UpdateStatus> for pb::UpdateStatus {
    fn from(u: UpdateStatus) -> Self {
        pb::UpdateStatus {
            state: enum_out::<_, pb::UpdateState>(u.state),
            started_at_ms: u.started_at_ms,
            completed_at_ms: u.completed_at_ms,
            message: u.message,
        }
    }
}

impl TryFrom<pb::UpdateStatus> for UpdateStatus {
    type Error = ConvertError;
    fn try_from(u: pb::UpdateStatus) -> Result<Self, ConvertError> {
        Ok(UpdateStatus {
            state: enum_in::<pb::UpdateState, _>("update_status.state", u.state)?,
            started_at_ms: u.started_at_ms,
            completed_at_ms: u.completed_at_ms,
            message: u.message,
        })
    }
}

impl From<Service> for pb::Service {
    fn from(s: Service) -> Self {
        pb::Service {
            id: s.id,
            meta: Some(s.meta.into()),
            spec: Some(s.spec.into()),
            previous_spec: s.previous_spec.map(Into::into),
            endpoint_ports: ports_out(s.endpoint_ports),
            update_status: s.update_status.map(Into::into),
            spec_version: s.spec_version,
            virtual_ips: s.virtual_ips.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::Service> for Service {
    type Error = ConvertError;
    fn try_from(s: pb::Service) -> Result<Self, ConvertError> {
        Ok(Service {
            id: s.id,
            meta: s.meta.map(Into::into).unwrap_or_default(),
            spec: s
                .spec
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            previous_spec: s.previous_spec.map(TryInto::try_into).transpose()?,
            endpoint_ports: ports_in(s.endpoint_ports)?,
            update_status: s.update_status.map(TryInto::try_into).transpose()?,
            spec_version: s.spec_version,
            virtual_ips: s.virtual_ips.into_iter().map(Into::into).collect(),
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::node::Resources;
    use crate::Meta;

    pub(crate) fn sample_spec() -> ServiceSpec {
        ServiceSpec {
            name: "web".into(),
            labels: [("team".to_string(), "a".to_string())].into(),
            task: TaskSpec {
                container: ContainerSpec {
                    image: "nginx:1.27".into(),
                    command: vec!["nginx".into()],
                    args: vec!["-g".into(), "daemon off;".into()],
                    env: vec!["A=1".into()],
                    labels: [("c".to_string(), "d".to_string())].into(),
                    hostname: "h".into(),
                    healthcheck: Some(HealthCheck {
                        test: vec!["CMD-SHELL".into(), "true".into()],
                        interval_ms: 1_000,
                        timeout_ms: 500,
                        retries: 3,
                        start_period_ms: 100,
                    }),
                    stop_grace_period_ms: 3_000,
                    user: "nobody".into(),
                    workdir: "/srv".into(),
                    mounts: vec![
                        Mount {
                            kind: MountKind::Volume,
                            source: "dbdata".into(),
                            target: "/var/lib/db".into(),
                            readonly: true,
                            volume_driver: "local".into(),
                            volume_options: [("o".to_string(), "size=1m".to_string())].into(),
                            ..Default::default()
                        },
                        Mount {
                            kind: MountKind::Tmpfs,
                            target: "/scratch".into(),
                            tmpfs_size_bytes: 1 << 20,
                            tmpfs_mode: 0o700,
                            ..Default::default()
                        },
                    ],
                    secrets: vec![crate::DataReference {
                        id: "s1".into(),
                        name: "pw".into(),
                        target: "pw".into(),
                        uid: "0".into(),
                        gid: "0".into(),
                        mode: 0o400,
                    }],
                    configs: vec![crate::DataReference {
                        id: "c1".into(),
                        name: "conf".into(),
                        target: "/etc/app.conf".into(),
                        mode: 0o444,
                        ..Default::default()
                    }],
                },
                resources: ResourceRequirements {
                    limits: Resources {
                        nano_cpus: 500_000_000,
                        memory_bytes: 64 << 20,
                    },
                    reservations: Resources {
                        nano_cpus: 100_000_000,
                        memory_bytes: 32 << 20,
                    },
                    pids_limit: 100,
                },
                restart: RestartPolicy {
                    condition: RestartCondition::OnFailure,
                    delay_ms: 1_500,
                    max_attempts: 3,
                    window_ms: 60_000,
                },
                placement: Placement {
                    constraints: vec!["node.role==manager".into()],
                    preferences: vec!["spread=node.labels.zone".into()],
                    max_replicas: 2,
                },
                force_update: 4,
                networks: vec![crate::network::NetworkTarget {
                    target: "net1".into(),
                    aliases: vec!["db".into()],
                }],
            },
            mode: ServiceMode::Replicated { replicas: 3 },
            update: UpdateConfig {
                parallelism: 2,
                delay_ms: 10_000,
                failure_action: FailureAction::Rollback,
                monitor_ms: 2_000,
                max_failure_ratio: 0.25,
                order: UpdateOrder::StartFirst,
            },
            rollback: Some(UpdateConfig::default()),
            endpoint: EndpointSpec {
                ports: vec![
                    PortConfig {
                        protocol: PortProtocol::Udp,
                        target_port: 53,
                        published_port: 0,
                        publish_mode: PublishMode::Host,
                    },
                    PortConfig {
                        protocol: PortProtocol::Tcp,
                        target_port: 80,
                        published_port: 8080,
                        publish_mode: PublishMode::Ingress,
                    },
                ],
                mode: EndpointMode::Dnsrr,
            },
        }
    }

    #[test]
    fn service_round_trips() {
        let mut previous = sample_spec();
        previous.mode = ServiceMode::Global;
        previous.rollback = None;
        let s = Service {
            id: "s1".into(),
            meta: Meta {
                version: 3,
                created_at_ms: 10,
                updated_at_ms: 20,
            },
            spec: sample_spec(),
            previous_spec: Some(previous),
            virtual_ips: vec![crate::network::VirtualIp {
                network_id: "net1".into(),
                addr: "10.0.1.2".into(),
            }],
            endpoint_ports: sample_spec().endpoint.ports,
            update_status: Some(UpdateStatus {
                state: UpdateState::RollbackPaused,
                started_at_ms: 1,
                completed_at_ms: 2,
                message: "paused".into(),
            }),
            spec_version: 9,
        };
        let wire = pb::Service::from(s.clone());
        assert_eq!(
            wire.spec.as_ref().unwrap().mode,
            Some(Mode::Replicas(3)),
            "replicas travel in the oneof"
        );
        assert_eq!(Service::try_from(wire).unwrap(), s);
    }

    #[test]
    fn absent_parts_take_docker_defaults() {
        let spec = ServiceSpec::try_from(pb::ServiceSpec {
            name: "x".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(spec.mode, ServiceMode::Replicated { replicas: 1 });
        assert_eq!(spec.task.restart, RestartPolicy::default());
        assert_eq!(spec.update, UpdateConfig::default());
        assert_eq!(spec.rollback, None);
    }

    #[test]
    fn unknown_protocol_is_refused() {
        let mut wire = pb::ServiceSpec::from(sample_spec());
        wire.endpoint.as_mut().unwrap().ports[0].protocol = 9;
        let err = ServiceSpec::try_from(wire).unwrap_err();
        assert_eq!(
            err,
            ConvertError::UnknownEnum {
                field: "ports.protocol",
                value: 9
            }
        );
    }
}
