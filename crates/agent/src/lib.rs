//! The worker side of every node (managers run one too, like Swarm).
//!
//! - [`agent`]: the session with the leader (following leader changes), reconciliation of
//!   task controllers and the data plane to each pushed assignment, batched status reports
//! - [`controller`]: one task's lifecycle, from `Accepted` to `Running` to its end; adoption
//!   of running containers after a restart
//! - [`executor`]: the [`executor::Executor`] trait tasks run through (Docker in the `docker`
//!   crate) and [`test_executor::TestExecutor`], its in-memory double
//! - [`host_ports`]: host-mode ports already taken on the node reject the task
//! - [`join`]: admission into a cluster (CA-pinned TLS, token, CSR → certificate)
//! - [`network`]: the [`network::NodeNetwork`] seam to the node's data plane
//! - [`service`]: the per-node gRPC service managers call (mesh table, logs)

pub mod agent;
pub mod controller;
pub mod executor;
pub mod host_ports;
pub mod join;
pub mod network;
pub mod service;
pub mod test_executor;

pub use agent::{Agent, AgentConfig};
pub use executor::Executor;
pub use network::{NodeNetwork, RecordingNetwork};
pub use test_executor::TestExecutor;
#[cfg(test)]
mod controller_tests;
