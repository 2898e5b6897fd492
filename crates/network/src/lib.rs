//! The node data plane: the ingress overlay and the routing mesh on one node.
//!
//! Tour:
//! - [`handle`]: [`NodeDataplane`], the one owner of the node's data plane and the agent's
//!   `NodeNetwork`: newest view wins, retries, periodic resync.
//! - [`dataplane`]: [`Dataplane`], the kernel work: `apply(view)`, `attach_task`,
//!   `detach_task`, `mesh_table`, `teardown`.
//! - [`plan`]: pure derivation of this node's desired overlay and mesh from the leader's
//!   `NetworkView`; [`user_plan`]: the same for the user networks it has tasks on, which
//!   [`user_networks`] builds, plugs tasks into and removes.
//! - [`overlay`]: bridge + VXLAN through rtnetlink; [`fdb`]: the static FDB/neighbour entries
//!   and their diff; [`links`]: small rtnetlink lookups.
//! - [`gateway`]: the gateway bridge, the egress of tasks not on ingress (Docker's
//!   `docker_gwbridge`).
//! - [`plumbing`]: veth pairs into containers' namespaces; [`netns`]: running code inside
//!   another namespace.
//! - [`mesh`]: the routing-mesh backends (nftables, recording fake) and the pure ruleset
//!   rendering; [`readback`]: the kernel's mesh table parsed back for diagnostics.
//! - [`ipvs`]: our generic-netlink client for the kernel's IPVS, used by the IPVS mesh.
//! - [`conntrack`]: the node's connection tracking, filtered to what the mesh forwarded.
//! - [`ports`]: whether a local process already holds a port (host-mode rejection).
//! - [`capabilities`], [`sysctl`], [`config`], [`mac`], [`error`].

pub mod capabilities;
pub mod config;
pub mod conntrack;
pub mod dataplane;
pub mod error;
pub mod fdb;
pub mod gateway;
pub mod handle;
pub mod ipvs;
pub mod links;
pub mod mac;
pub mod mesh;
pub mod netns;
pub mod overlay;
pub mod plan;
pub mod plumbing;
pub mod ports;
pub mod readback;
pub mod resolver;
pub mod sysctl;
pub mod user_networks;
pub mod user_plan;
pub mod vip;

pub use config::{DataplaneConfig, MeshChoice};
pub use dataplane::Dataplane;
pub use error::DataplaneError;
pub use handle::NodeDataplane;
pub use mac::MacAddr;
pub use mesh::MeshBackend;
