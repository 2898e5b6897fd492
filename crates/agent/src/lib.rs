//! The worker side of every node (managers run one too, like Swarm).
//!
//! - [`agent`]: the agent and its four parts, each on its own task so nothing that waits on
//!   the engine delays a heartbeat: [`session`] (connect, heartbeat, follow the leader),
//!   [`worker`] (controllers and data plane reconciled to the latest assignment, stray
//!   sweeps), [`reporter`] (batched status reports), [`describe`] (the node's description)
//! - [`controller`]: one task's lifecycle, from `Accepted` to `Running` to its end; adoption
//!   of running containers after a restart
//! - [`executor`]: the [`executor::Executor`] trait tasks run through (Docker in the `docker`
//!   crate) and [`test_executor::TestExecutor`], its in-memory double; [`pending_engine`]
//!   serves the agent while the engine is not there yet
//! - [`files`]: secrets and configs sent with the tasks, written as the tasks' files on a
//!   tmpfs
//! - [`host_ports`]: host-mode ports already taken on the node reject the task
//! - [`join`]: admission into a cluster (CA-pinned TLS, token, CSR → certificate)
//! - [`network`]: the [`network::NodeNetwork`] seam to the node's data plane
//! - [`service`]: the per-node gRPC service managers call (mesh table, logs)

pub mod agent;
pub mod controller;
pub mod describe;
pub mod executor;
pub mod files;
mod followed_view;
pub mod host_ports;
pub mod join;
pub mod network;
pub mod pending_engine;
pub mod reporter;
pub mod service;
pub mod session;
pub mod test_executor;
mod tmpfs;
pub mod worker;

pub use agent::{Agent, AgentConfig};
pub use executor::Executor;
pub use network::{NodeNetwork, RecordingNetwork};
pub use pending_engine::PendingEngine;
pub use test_executor::TestExecutor;
#[cfg(test)]
mod controller_tests;
