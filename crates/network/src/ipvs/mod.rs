//! Our own client for the kernel's IPVS load balancer, spoken over the
//! generic-netlink family `"IPVS"` (version 1).
//!
//! No maintained crate speaks this family, so we implement it on top of
//! `netlink-packet-generic` (framing) and `genetlink` (family resolution and
//! the socket), the same way `netlink-packet-wireguard` does for WireGuard.
//! The wire format follows the kernel's `include/uapi/linux/ip_vs.h` and the
//! attribute policies in `net/netfilter/ipvs/ip_vs_ctl.c`.
//!
//! Tour (one concept per file):
//! - `attrs`: the members of the nested service and destination attributes;
//!   `stats`: the nested traffic counters inside them.
//! - `message`: the commands and the generic-netlink payload built from them.
//! - `service` / `dest`: the domain view (`Service`, `Destination`), shaped
//!   like `ipvsadm -L -n`, and its mapping to and from attributes.
//! - `handle`: the async client [`IpvsHandle`] (one netlink socket).
//! - `sync`: the pure diff behind [`IpvsHandle::sync_fwmark_services`], the
//!   reconcile step the routing mesh runs on every change.
//! - `error`: [`IpvsError`], including [`IpvsError::Unsupported`], the
//!   signal for `--mesh-backend auto` to fall back to nftables.

pub mod attrs;
mod dest;
mod error;
mod handle;
pub mod message;
mod service;
mod stats;
mod sync;

pub use dest::{Destination, ForwardMethod};
pub use error::IpvsError;
pub use handle::IpvsHandle;
pub use message::{IpvsCmd, IpvsMessage};
pub use service::{AddressFamily, Protocol, Service, ServiceId};
pub use stats::Stats;
pub use sync::{plan_fwmark_sync, FwmarkService, IpvsChange, MESH_SCHEDULER};
