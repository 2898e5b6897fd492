//! Our `Service` → docker's `swarm.Service`: the spec, the allocated endpoint, the rolling
//! update's state (what the CLI's progress loop follows) and, for `service ls`, the replica
//! counts.

use api::objects as pb;
use bollard::models::{
    Service, ServiceEndpoint, ServiceEndpointVirtualIps, ServiceServiceStatus, ServiceSpec,
    ServiceUpdateStatus, ServiceUpdateStatusStateEnum as UpdateState,
};
use serde::Serialize;

use super::attachment::Networks;
use super::service_spec_out::{endpoint_spec, port, service_spec};
use super::{stamps, time};

/// Docker's `swarm.Service`. bollard's model (from the swagger) lacks `PreviousSpec`, which
/// moby sends and `service inspect` shows.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceJson {
    #[serde(flatten)]
    pub service: Service,
    #[serde(rename = "PreviousSpec", skip_serializing_if = "Option::is_none")]
    pub previous_spec: Option<ServiceSpec>,
}

pub fn service(s: pb::Service, networks: &Networks) -> ServiceJson {
    let stamps = stamps(s.meta.as_ref());
    let spec = s.spec.unwrap_or_default();
    let endpoint = ServiceEndpoint {
        spec: Some(endpoint_spec(spec.endpoint.clone().unwrap_or_default())),
        // The CLI's PORTS column reads these (published ports as allocated), not the spec's.
        ports: Some(s.endpoint_ports.iter().map(port).collect()).filter(|p: &Vec<_>| !p.is_empty()),
        virtual_ips: Some(
            s.virtual_ips
                .iter()
                .map(|v| ServiceEndpointVirtualIps {
                    network_id: Some(v.network_id.clone()),
                    addr: Some(networks.cidr(&v.network_id, &v.addr)),
                })
                .collect(),
        )
        .filter(|v: &Vec<_>| !v.is_empty()),
    };
    ServiceJson {
        service: Service {
            id: Some(s.id),
            version: stamps.version,
            created_at: stamps.created_at,
            updated_at: stamps.updated_at,
            spec: Some(service_spec(spec)),
            endpoint: Some(endpoint),
            update_status: s.update_status.and_then(update_status),
            service_status: None,
            job_status: None,
        },
        previous_spec: s.previous_spec.map(service_spec),
    }
}

/// The rolling update's state, absent while none has run (as moby).
fn update_status(u: pb::UpdateStatus) -> Option<ServiceUpdateStatus> {
    let state = match pb::UpdateState::try_from(u.state).ok()? {
        pb::UpdateState::Unknown => return None,
        pb::UpdateState::Updating => UpdateState::UPDATING,
        pb::UpdateState::Paused => UpdateState::PAUSED,
        pb::UpdateState::Completed => UpdateState::COMPLETED,
        pb::UpdateState::RollbackStarted => UpdateState::ROLLBACK_STARTED,
        pb::UpdateState::RollbackPaused => UpdateState::ROLLBACK_PAUSED,
        pb::UpdateState::RollbackCompleted => UpdateState::ROLLBACK_COMPLETED,
    };
    Some(ServiceUpdateStatus {
        state: Some(state),
        started_at: time(u.started_at_ms).filter(|_| u.started_at_ms > 0),
        completed_at: time(u.completed_at_ms).filter(|_| u.completed_at_ms > 0),
        message: Some(u.message),
    })
}

/// `service ls`'s REPLICAS (swarmkit's `ListServiceStatuses`): tasks running now, out of the
/// replicas asked for (global: the tasks meant to run, one per eligible node).
pub fn service_status<'a>(
    service: &pb::Service,
    tasks: impl IntoIterator<Item = &'a pb::Task>,
) -> ServiceServiceStatus {
    let running = pb::TaskState::Running as i32;
    let (mut running_tasks, mut meant_to_run) = (0, 0);
    for task in tasks.into_iter().filter(|t| t.service_id == service.id) {
        running_tasks += u64::from(task.status.as_ref().is_some_and(|s| s.state == running));
        meant_to_run += u64::from(task.desired_state == running);
    }
    let mode = service.spec.as_ref().and_then(|s| s.mode);
    let desired_tasks = match mode {
        Some(pb::service_spec::Mode::Global(true)) => meant_to_run,
        Some(pb::service_spec::Mode::Replicas(n)) => n,
        Some(pb::service_spec::Mode::Global(false)) | None => 1,
    };
    ServiceServiceStatus {
        running_tasks: Some(running_tasks),
        desired_tasks: Some(desired_tasks),
        completed_tasks: Some(0),
    }
}
