//! The scheduler: moves `Pending` tasks to `Assigned` on a node, or leaves them `Pending` with
//! an explanation. Pure decisions over a snapshot, a thin component around them.
//!
//! - [`nodeinfo`]: a node plus what its live tasks use (resources, ports, per-service counts)
//! - [`filter`]: the filters, in order — ready/active, resources, constraints, host ports, max
//!   replicas — each with `check` and `explain`, run by a [`Pipeline`]
//! - [`spread`]: choosing among passing nodes — placement preferences, then fewest tasks of the
//!   service, fewest tasks overall, node ID
//! - [`plan`]: one tick's decisions for every pending task, batched
//! - [`component`]: [`Scheduler`], watching the store and committing decisions

pub mod component;
pub mod filter;
pub mod nodeinfo;
pub mod plan;
pub mod spread;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use component::{Scheduler, ASSIGNED_MESSAGE};
pub use filter::{Filter, Pipeline};
pub use nodeinfo::NodeInfo;
pub use plan::{plan, schedule, Decision, PENDING_MESSAGE};
