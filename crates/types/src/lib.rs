//! The domain model of the cluster: pure data and pure rules, no I/O.
//!
//! - [`meta`]: object IDs and versions shared by every stored object
//! - [`node`], [`service`], [`task`], [`network`], [`cluster`]: the objects the store holds
//! - [`netview`]: what a node's data plane is told: peers, endpoints, published services
//! - [`netview_diff`]: what changed between two views, sent instead of the whole view
//! - [`mesh`]: what a node's data plane reads back from its kernel: the mesh table
//! - [`secret`]: secrets and configs, and a service's references to them
//! - [`mount`]: volumes, bind mounts and tmpfs a task's container gets
//! - [`logs`]: which stream a log line came from
//! - [`event`]: cluster events as `docker events` shows them, and the filters that pick them
//! - [`constraint`]: placement constraint expressions (`node.role==manager`) parsed and matched
//! - [`duration`]: durations printed the way docker prints them (`1m30s`)
//! - [`validate`]: checks a [`service::ServiceSpec`] before anything is stored
//! - [`convert`]: the one place where domain types meet the generated protobuf types

pub mod cluster;
pub mod constraint;
pub mod convert;
pub mod duration;
pub mod event;
pub mod logs;
pub mod mesh;
pub mod meta;
pub mod mount;
pub mod netview;
pub mod netview_diff;
pub mod network;
pub mod node;
pub mod secret;
pub mod service;
pub mod task;
pub mod validate;

pub use cluster::{Cluster, ClusterSpec, JoinTokens, Redacted, RootCaMaterial};
pub use duration::format_duration_ms;
pub use logs::LogStream;
pub use mesh::{ConnTuple, MeshBackendKind, MeshConn, MeshTable, VirtualService};
pub use meta::{new_id, now_ms, Meta};
pub use mount::{Mount, MountKind};
pub use netview::{
    MeshBackend, MeshService, NamedService, NetworkView, NodePeer, OverlayBackend, OverlayView,
    TaskEndpoint,
};
pub use netview_diff::ViewDiff;
pub use network::{Network, NetworkSpec, NetworkTarget, VirtualIp};
pub use node::{
    ManagerStatus, Node, NodeAvailability, NodeDescription, NodeRole, NodeSpec, NodeState,
    NodeStatus, Platform, Reachability, Resources,
};
pub use secret::{DataKind, DataObject, DataPayload, DataReference, DataSpec};
pub use service::{
    ContainerSpec, EndpointMode, EndpointSpec, FailureAction, HealthCheck, Placement, PortConfig,
    PortProtocol, PublishMode, ResourceRequirements, RestartCondition, RestartPolicy, Service,
    ServiceMode, ServiceSpec, TaskSpec, UpdateConfig, UpdateOrder, UpdateState, UpdateStatus,
};
pub use task::{HealthState, NetworkAttachment, Task, TaskState, TaskStatus};
