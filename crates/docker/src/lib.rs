//! The Docker executor: how a node's agent runs tasks as containers on a Docker engine,
//! through bollard (Docker Engine API, negotiated down to 1.41 for Debian's Docker 20.10).
//!
//! - [`translate`]: pure task → container create body and container name
//! - [`labels`]: the labels that tie a container to its task and node
//! - [`executor`]: [`DockerExecutor`], the agent's `Executor` on a real engine
//! - [`image`]: image present or pulled; a missing image rejects the task
//! - [`status`]: `docker inspect` → the agent's `ContainerStatus`
//! - [`events`]: Docker's event stream → task IDs that changed, reconnecting on loss
//! - [`logs`]: container logs → timestamped lines per stream
//! - [`describe`]: `docker info` → the node's engine description
//! - [`errors`]: Docker's answers → retry (engine) or reject (task)
//! - `harness` (feature `harness`): a private dockerd for tests and the lab, with the local
//!   images of `integration/images/` built into it

pub mod describe;
pub mod errors;
pub mod events;
pub mod executor;
#[cfg(feature = "harness")]
pub mod harness;
pub mod image;
pub mod labels;
pub mod logs;
pub mod status;
pub mod translate;

pub use errors::ConnectError;
pub use executor::{socket_path, DockerExecutor};
