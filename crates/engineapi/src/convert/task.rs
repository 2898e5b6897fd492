//! Our `Task` → docker's `swarm.Task`, for `service ps`, `node ps`, `stack ps`, the progress
//! loop (slot, node, state, desired state) and the visualizer (which reads
//! `Status.ContainerStatus.ContainerID` without a check, so it is always present).

use std::collections::HashMap;

use api::objects as pb;
use bollard::models::{ContainerStatus, PortStatus, Task, TaskState, TaskStatus};
use serde::Serialize;

use super::attachment::{NetworkAttachment, Networks};
use super::service_spec_out::{port, task_spec};
use super::{stamps, time};

/// Docker's `swarm.Task`. bollard's model (from the swagger) lacks `NetworksAttachments`.
#[derive(Debug, Clone, Serialize)]
pub struct TaskJson {
    #[serde(flatten)]
    pub task: Task,
    #[serde(rename = "NetworksAttachments", skip_serializing_if = "Vec::is_empty")]
    pub networks_attachments: Vec<NetworkAttachment>,
}

pub fn task(t: pb::Task, networks: &Networks) -> TaskJson {
    let stamps = stamps(t.meta.as_ref());
    let status = t.status.unwrap_or_default();
    let host = pb::PublishMode::Host as i32;
    let host_ports: Vec<_> = t
        .endpoint_ports
        .iter()
        .filter(|p| p.publish_mode == host)
        .map(port)
        .collect();
    TaskJson {
        networks_attachments: networks.attachments(&t.networks),
        task: Task {
            id: Some(t.id),
            version: stamps.version,
            created_at: stamps.created_at,
            updated_at: stamps.updated_at,
            name: None,
            labels: Some(HashMap::new()),
            spec: Some(task_spec(t.spec.unwrap_or_default())),
            service_id: Some(t.service_id),
            slot: Some(i64::try_from(t.slot).unwrap_or(i64::MAX)),
            node_id: Some(t.node_id).filter(|n| !n.is_empty()),
            assigned_generic_resources: None,
            status: Some(TaskStatus {
                timestamp: time(status.timestamp_ms),
                state: Some(state(status.state)),
                message: Some(status.message),
                err: Some(status.err).filter(|e| !e.is_empty()),
                container_status: Some(ContainerStatus {
                    container_id: Some(status.container_id),
                    pid: Some(0),
                    exit_code: Some(status.exit_code),
                }),
                port_status: Some(PortStatus {
                    ports: Some(host_ports).filter(|p| !p.is_empty()),
                }),
            }),
            desired_state: Some(state(t.desired_state)),
            job_iteration: None,
        },
    }
}

/// Docker's lower-case state names for ours (the same list; docker's `allocated` is not used).
pub fn state(s: i32) -> TaskState {
    match pb::TaskState::try_from(s).unwrap_or_default() {
        pb::TaskState::New => TaskState::NEW,
        pb::TaskState::Pending => TaskState::PENDING,
        pb::TaskState::Assigned => TaskState::ASSIGNED,
        pb::TaskState::Accepted => TaskState::ACCEPTED,
        pb::TaskState::Preparing => TaskState::PREPARING,
        pb::TaskState::Ready => TaskState::READY,
        pb::TaskState::Starting => TaskState::STARTING,
        pb::TaskState::Running => TaskState::RUNNING,
        pb::TaskState::Complete => TaskState::COMPLETE,
        pb::TaskState::Shutdown => TaskState::SHUTDOWN,
        pb::TaskState::Failed => TaskState::FAILED,
        pb::TaskState::Rejected => TaskState::REJECTED,
        pb::TaskState::Remove => TaskState::REMOVE,
        pb::TaskState::Orphaned => TaskState::ORPHANED,
    }
}
