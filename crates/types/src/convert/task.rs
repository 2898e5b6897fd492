//! Task, TaskStatus and network attachments.

use api::objects as pb;

use super::service::{ports_in, ports_out};
use super::{enum_in, enum_out, enum_pair, ConvertError};
use crate::task::{HealthState, NetworkAttachment, Task, TaskState, TaskStatus};

enum_pair!(TaskState, pb::TaskState, {
    New <=> New,
    Pending <=> Pending,
    Assigned <=> Assigned,
    Accepted <=> Accepted,
    Preparing <=> Preparing,
    Ready <=> Ready,
    Starting <=> Starting,
    Running <=> Running,
    Complete <=> Complete,
    Shutdown <=> Shutdown,
    Failed <=> Failed,
    Rejected <=> Rejected,
    Remove <=> Remove,
    Orphaned <=> Orphaned,
});
enum_pair!(HealthState, pb::HealthState, {
    None <=> None, Starting <=> Starting, Healthy <=> Healthy, Unhealthy <=> Unhealthy,
});

impl From<TaskStatus> for pb::TaskStatus {
    fn from(s: TaskStatus) -> Self {
        pb::TaskStatus {
            state: enum_out::<_, pb::TaskState>(s.state),
            timestamp_ms: s.timestamp_ms,
            message: s.message,
            err: s.err,
            exit_code: s.exit_code,
            container_id: s.container_id,
            health: enum_out::<_, pb::HealthState>(s.health),
        }
    }
}

impl TryFrom<pb::TaskStatus> for TaskStatus {
    type Error = ConvertError;
    fn try_from(s: pb::TaskStatus) -> Result<Self, ConvertError> {
        Ok(TaskStatus {
            state: enum_in::<pb::TaskState, _>("status.state", s.state)?,
            timestamp_ms: s.timestamp_ms,
            message: s.message,
            err: s.err,
            exit_code: s.exit_code,
            container_id: s.container_id,
            health: enum_in::<pb::HealthState, _>("status.health", s.health)?,
        })
    }
}

impl From<NetworkAttachment> for pb::NetworkAttachment {
    fn from(a: NetworkAttachment) -> Self {
        pb::NetworkAttachment {
            network_id: a.network_id,
            addr: a.addr,
            mac: a.mac,
        }
    }
}

impl From<pb::NetworkAttachment> for NetworkAttachment {
    fn from(a: pb::NetworkAttachment) -> Self {
        NetworkAttachment {
            network_id: a.network_id,
            addr: a.addr,
            mac: a.mac,
        }
    }
}

impl From<Task> for pb::Task {
    fn from(t: Task) -> Self {
        pb::Task {
            id: t.id,
            meta: Some(t.meta.into()),
            service_id: t.service_id,
            service_name: t.service_name,
            slot: t.slot,
            node_id: t.node_id,
            spec: Some(t.spec.into()),
            spec_version: t.spec_version,
            desired_state: enum_out::<_, pb::TaskState>(t.desired_state),
            status: Some(t.status.into()),
            networks: t.networks.into_iter().map(Into::into).collect(),
            endpoint_ports: ports_out(t.endpoint_ports),
            monitor_passed: t.monitor_passed,
        }
    }
}

impl TryFrom<pb::Task> for Task {
    type Error = ConvertError;
    fn try_from(t: pb::Task) -> Result<Self, ConvertError> {
        Ok(Task {
            id: t.id,
            meta: t.meta.map(Into::into).unwrap_or_default(),
            service_id: t.service_id,
            service_name: t.service_name,
            slot: t.slot,
            node_id: t.node_id,
            spec: t
                .spec
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            spec_version: t.spec_version,
            desired_state: enum_in::<pb::TaskState, _>("desired_state", t.desired_state)?,
            status: t
                .status
                .map(TryInto::try_into)
                .transpose()?
                .unwrap_or_default(),
            networks: t.networks.into_iter().map(Into::into).collect(),
            endpoint_ports: ports_in(t.endpoint_ports)?,
            monitor_passed: t.monitor_passed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::service::tests::sample_spec;
    use crate::Meta;

    #[test]
    fn task_round_trips_in_every_state() {
        for state in TaskState::ALL {
            let t = Task {
                id: "t1".into(),
                meta: Meta {
                    version: 5,
                    created_at_ms: 1,
                    updated_at_ms: 2,
                },
                service_id: "s1".into(),
                service_name: "web".into(),
                slot: 2,
                node_id: "n1".into(),
                spec: sample_spec().task,
                spec_version: 3,
                desired_state: TaskState::Running,
                status: TaskStatus {
                    state,
                    timestamp_ms: 99,
                    message: "started".into(),
                    err: "boom".into(),
                    exit_code: 137,
                    container_id: "c0ffee".into(),
                    health: HealthState::Unhealthy,
                },
                networks: vec![NetworkAttachment {
                    network_id: "ingress".into(),
                    addr: "10.255.0.5".into(),
                    mac: "02:42:0a:ff:00:05".into(),
                }],
                endpoint_ports: sample_spec().endpoint.ports,
                monitor_passed: true,
            };
            let wire = pb::Task::from(t.clone());
            assert_eq!(wire.status.as_ref().unwrap().state, state as i32);
            assert_eq!(Task::try_from(wire).unwrap(), t);
        }
    }

    #[test]
    fn unknown_desired_state_is_refused() {
        let wire = pb::Task {
            desired_state: 77,
            ..Default::default()
        };
        assert!(matches!(
            Task::try_from(wire),
            Err(ConvertError::UnknownEnum {
                field: "desired_state",
                value: 77
            })
        ));
    }
}
