//! The multi-process cluster test tier: real `swarmd` processes talking real gRPC over
//! 127.0.0.1, driven with the real `swarmctl`, no root (`--executor test`,
//! `--mesh-backend none`).
//!
//! - [`binaries`] finds the `swarmd` and `swarmctl` built next to the test executable.
//! - [`ports`] hands out free loopback ports outside the kernel's ephemeral range.
//! - [`node`] is one `swarmd` child process: its state dir, log file, kill -9 / SIGTERM /
//!   restart by PID.
//! - [`cluster`] starts N managers + M workers, finds the leader, and on drop kills every
//!   child and prints the tail of each node's log when the test failed.
//! - [`ctl`] runs `swarmctl` (or a short-lived `swarmd`) with a deadline and captures its output.
//! - [`listing`] parses `node ls`, `service ls` and `service ps` (`--format json`).
//! - [`tree`] reads a directory's files, to prove a refused command wrote nothing.
//! - [`wait`] polls a condition until it holds or a deadline passes.

pub mod binaries;
pub mod cluster;
pub mod ctl;
pub mod listing;
pub mod node;
pub mod ports;
pub mod tree;
pub mod wait;

pub use cluster::{Cluster, ClusterOptions};
pub use ctl::CtlOutput;
pub use listing::{NodeRow, ServiceRow, TaskRow};
pub use node::NodeProcess;
pub use wait::{wait_until, Deadline};
