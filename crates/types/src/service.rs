//! Services: what the user declares; the orchestrator turns them into tasks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::meta::Meta;
use crate::node::Resources;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartCondition {
    #[default]
    Any,
    None,
    OnFailure,
}

impl RestartCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            RestartCondition::Any => "any",
            RestartCondition::None => "none",
            RestartCondition::OnFailure => "on-failure",
        }
    }
}

/// When a task that ended is replaced. Docker's defaults: any, 5 s, unlimited, no window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartPolicy {
    pub condition: RestartCondition,
    pub delay_ms: u64,
    /// 0 = unlimited.
    pub max_attempts: u64,
    /// Window in which `max_attempts` are counted; 0 = forever.
    pub window_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            condition: RestartCondition::Any,
            delay_ms: 5_000,
            max_attempts: 0,
            window_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// As docker: `["CMD", ..]`, `["CMD-SHELL", ".."]` or `["NONE"]`; empty inherits the
    /// image's check.
    pub test: Vec<String>,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub retries: u64,
    pub start_period_ms: u64,
}

impl HealthCheck {
    /// Docker's word for "no health check, not even the image's".
    pub const DISABLED: &'static str = "NONE";

    /// Whether this check runs a command of its own (not disabled, not inherited).
    pub fn runs_own_test(&self) -> bool {
        self.test
            .first()
            .is_some_and(|first| first != HealthCheck::DISABLED)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSpec {
    pub image: String,
    /// Replaces the image's entrypoint when non-empty.
    pub command: Vec<String>,
    /// Replaces the image's CMD when non-empty.
    pub args: Vec<String>,
    /// `K=V` strings.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: String,
    pub healthcheck: Option<HealthCheck>,
    /// Time between SIGTERM and SIGKILL on stop.
    pub stop_grace_period_ms: u64,
    pub user: String,
    pub workdir: String,
    /// Volumes, bind mounts and tmpfs, in the order given.
    #[serde(default)]
    pub mounts: Vec<crate::mount::Mount>,
    /// Secrets it gets as files (under /run/secrets by default).
    #[serde(default)]
    pub secrets: Vec<crate::secret::DataReference>,
    /// Configs it gets as files.
    #[serde(default)]
    pub configs: Vec<crate::secret::DataReference>,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        ContainerSpec {
            image: String::new(),
            command: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            labels: BTreeMap::new(),
            hostname: String::new(),
            healthcheck: None,
            stop_grace_period_ms: 10_000,
            user: String::new(),
            workdir: String::new(),
            mounts: Vec::new(),
            secrets: Vec::new(),
            configs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRequirements {
    pub limits: Resources,
    /// What the scheduler subtracts from a node's capacity.
    pub reservations: Resources,
    /// 0 = unlimited.
    pub pids_limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// `node.role==manager`, `node.labels.zone!=b`, ...
    pub constraints: Vec<String>,
    /// `spread=node.labels.K`, applied in order.
    pub preferences: Vec<String>,
    /// Tasks of this service per node; 0 = unlimited.
    pub max_replicas: u64,
}

/// The template every task of a service is stamped from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub container: ContainerSpec,
    pub resources: ResourceRequirements,
    pub restart: RestartPolicy,
    pub placement: Placement,
    /// Bumped by `service update --force` to replace tasks without another change.
    pub force_update: u64,
    /// User networks, in the order the task's interfaces follow.
    #[serde(default)]
    pub networks: Vec<crate::network::NetworkTarget>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum PortProtocol {
    #[default]
    Tcp,
    Udp,
}

impl PortProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        }
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum PublishMode {
    /// Through the routing mesh: answers on every node.
    #[default]
    Ingress,
    /// Only on the node running the task, keeping the client's source IP.
    Host,
}

impl PublishMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PublishMode::Ingress => "ingress",
            PublishMode::Host => "host",
        }
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct PortConfig {
    pub protocol: PortProtocol,
    pub target_port: u32,
    /// 0 in a spec: the allocator picks one from 30000-32767 (ingress mode).
    pub published_port: u32,
    pub publish_mode: PublishMode,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSpec {
    pub ports: Vec<PortConfig>,
    #[serde(default)]
    pub mode: EndpointMode,
}

/// How a service is found on its networks: one virtual IP balanced over its tasks (the
/// default, as Docker), or DNS round robin over the task addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointMode {
    #[default]
    Vip,
    Dnsrr,
}

impl EndpointMode {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointMode::Vip => "vip",
            EndpointMode::Dnsrr => "dnsrr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceMode {
    Replicated {
        replicas: u64,
    },
    /// One task on every eligible node.
    Global,
}

impl Default for ServiceMode {
    fn default() -> Self {
        ServiceMode::Replicated { replicas: 1 }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureAction {
    #[default]
    Pause,
    Continue,
    Rollback,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateOrder {
    #[default]
    StopFirst,
    StartFirst,
}

/// How a spec change rolls out. Docker's defaults: 1 at a time, no delay, pause on failure,
/// 5 s monitor, stop-first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateConfig {
    /// Tasks replaced at once; 0 = all.
    pub parallelism: u64,
    pub delay_ms: u64,
    pub failure_action: FailureAction,
    /// How long a new task is watched for failure before the next batch.
    pub monitor_ms: u64,
    pub max_failure_ratio: f32,
    pub order: UpdateOrder,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            parallelism: 1,
            delay_ms: 0,
            failure_action: FailureAction::Pause,
            monitor_ms: 5_000,
            max_failure_ratio: 0.0,
            order: UpdateOrder::StopFirst,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// DNS label, unique in the cluster.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub task: TaskSpec,
    pub mode: ServiceMode,
    pub update: UpdateConfig,
    /// Used by `service rollback` and failure_action=rollback; `None` = same as `update`.
    pub rollback: Option<UpdateConfig>,
    pub endpoint: EndpointSpec,
}

impl ServiceSpec {
    /// Desired replicas; `None` for global services.
    pub fn replicas(&self) -> Option<u64> {
        match self.mode {
            ServiceMode::Replicated { replicas } => Some(replicas),
            ServiceMode::Global => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateState {
    #[default]
    Unknown,
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateStatus {
    pub state: UpdateState,
    pub started_at_ms: i64,
    pub completed_at_ms: i64,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub meta: Meta,
    pub spec: ServiceSpec,
    /// The spec before the last update, for rollback.
    pub previous_spec: Option<ServiceSpec>,
    /// The spec's ports with published ports allocated (0 replaced).
    pub endpoint_ports: Vec<PortConfig>,
    pub update_status: Option<UpdateStatus>,
    /// Bumped on every spec change; a task whose `spec_version` is lower is out of date.
    pub spec_version: u64,
    /// One per user network in vip mode, allocated with the service.
    #[serde(default)]
    pub virtual_ips: Vec<crate::network::VirtualIp>,
}
