//! Tasks: one container's worth of work, stamped from a service and placed on a node.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;
use crate::service::{PortConfig, TaskSpec};

/// Task states are ordered and only move forward.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum TaskState {
    #[default]
    New,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
}

impl TaskState {
    pub const ALL: [TaskState; 14] = [
        TaskState::New,
        TaskState::Pending,
        TaskState::Assigned,
        TaskState::Accepted,
        TaskState::Preparing,
        TaskState::Ready,
        TaskState::Starting,
        TaskState::Running,
        TaskState::Complete,
        TaskState::Shutdown,
        TaskState::Failed,
        TaskState::Rejected,
        TaskState::Remove,
        TaskState::Orphaned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::New => "New",
            TaskState::Pending => "Pending",
            TaskState::Assigned => "Assigned",
            TaskState::Accepted => "Accepted",
            TaskState::Preparing => "Preparing",
            TaskState::Ready => "Ready",
            TaskState::Starting => "Starting",
            TaskState::Running => "Running",
            TaskState::Complete => "Complete",
            TaskState::Shutdown => "Shutdown",
            TaskState::Failed => "Failed",
            TaskState::Rejected => "Rejected",
            TaskState::Remove => "Remove",
            TaskState::Orphaned => "Orphaned",
        }
    }

    /// The task has ended (or will never run): nothing on a node runs for it any more.
    pub fn is_terminal(self) -> bool {
        self > TaskState::Running
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HealthState {
    /// The image has no health check.
    #[default]
    None,
    Starting,
    Healthy,
    Unhealthy,
}

/// Written only by the agent (through the dispatcher) and the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub state: TaskState,
    pub timestamp_ms: i64,
    /// Short human text for the state ("started", "scheduled").
    pub message: String,
    /// Why the task failed, was rejected or is still pending.
    pub err: String,
    pub exit_code: i64,
    pub container_id: String,
    pub health: HealthState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAttachment {
    pub network_id: String,
    /// IPv4 address without prefix.
    pub addr: String,
    pub mac: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub meta: Meta,
    pub service_id: String,
    pub service_name: String,
    /// Replicated services: 1..=replicas. Global services: 0 (the node identifies the task).
    pub slot: u64,
    /// Empty until the scheduler assigns it.
    pub node_id: String,
    /// Immutable copy of the service's task template at creation.
    pub spec: TaskSpec,
    pub spec_version: u64,
    /// Written only by managers.
    pub desired_state: TaskState,
    pub status: TaskStatus,
    pub networks: Vec<NetworkAttachment>,
    pub endpoint_ports: Vec<PortConfig>,
    /// Set by the orchestrator once the task, created by a rolling update, has run for the
    /// update's monitor period: a failure after that is not counted against the update's
    /// `max_failure_ratio`. Kept in the store so a new leader counts what the old one did.
    #[serde(default)]
    pub monitor_passed: bool,
}

impl Task {
    /// `web.2` for replicated tasks, `web.<node>` for global ones, as docker names them.
    pub fn display_name(&self) -> String {
        if self.slot > 0 {
            format!("{}.{}", self.service_name, self.slot)
        } else {
            format!("{}.{}", self.service_name, self.node_id)
        }
    }

    /// The task's address on the ingress network: the first attachment, when it is on no
    /// network its spec names. Only tasks of services that publish a port in ingress mode
    /// have one (the allocator decides).
    pub fn ingress_attachment(&self) -> Option<&NetworkAttachment> {
        self.networks
            .first()
            .filter(|a| !self.spec.networks.iter().any(|n| n.target == a.network_id))
    }

    /// The task's addresses on its user networks: every attachment after the ingress one (if
    /// any), in its spec's order (the allocator writes them so).
    pub fn overlay_attachments(&self) -> &[NetworkAttachment] {
        let skip = usize::from(self.ingress_attachment().is_some());
        self.networks.get(skip..).unwrap_or(&[])
    }

    /// The task's IP on the ingress network, if it has one.
    pub fn ingress_addr(&self) -> Option<&str> {
        self.ingress_attachment()
            .map(|n| n.addr.as_str())
            .filter(|a| !a.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_ordered_as_in_swarmkit() {
        for pair in TaskState::ALL.windows(2) {
            assert!(pair[0] < pair[1], "{:?} < {:?}", pair[0], pair[1]);
        }
        assert!(!TaskState::Running.is_terminal());
        assert!(TaskState::Complete.is_terminal());
    }
}
