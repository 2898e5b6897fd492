//! How the agent runs a task: the [`Executor`] trait, implemented for real by the `docker`
//! crate and in memory by [`crate::test_executor::TestExecutor`].
//!
//! Every method is keyed by task ID, and idempotent: the agent re-drives controllers after a
//! restart or a lost engine connection, so `prepare` of a task whose container exists reuses
//! it, `stop` of a stopped container succeeds, `remove` of a missing one succeeds.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use types::{HealthState, Resources, Task};

/// Facts about the container engine, for the node's description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineInfo {
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub resources: Resources,
    pub engine_version: String,
    pub engine_labels: BTreeMap<String, String>,
}

/// What the engine says about a task's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerRun {
    /// Created, not started yet.
    Created,
    Running,
    /// Ended with this exit code.
    Exited(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub task_id: String,
    pub container_id: String,
    pub run: ContainerRun,
    pub health: HealthState,
    /// PID of the container's init process while running (its netns is `/proc/PID/ns/net`).
    pub pid: u32,
    /// Docker's error text for a container that could not run (OOM, bad command...).
    pub error: String,
}

/// A container this node's executor created, as one labelled list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedContainer {
    pub task_id: String,
    pub container_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The task can never run here as specified (unknown image, invalid config): REJECTED.
    #[error("{0}")]
    Rejected(String),
    /// The engine could not be reached or failed; retried with backoff.
    #[error("container engine: {0}")]
    Engine(String),
}

pub use types::LogStream;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    pub timestamp_ms: i64,
    pub stream: LogStream,
    /// One line, without its trailing newline.
    pub line: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    /// Lines from the end; `None` = all.
    pub tail: Option<u64>,
}

pub trait Executor: Send + Sync + 'static {
    fn describe(&self) -> BoxFuture<'_, Result<EngineInfo, ExecError>>;

    /// Makes the task runnable: image present (pulled if missing), container created with the
    /// task's labels. Reuses the task's container when it exists.
    fn prepare<'a>(&'a self, task: &'a Task) -> BoxFuture<'a, Result<(), ExecError>>;

    fn start<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>>;

    /// `None` when the task has no container.
    fn inspect<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ContainerStatus>, ExecError>>;

    /// SIGTERM, then SIGKILL after `grace_ms`.
    fn stop<'a>(&'a self, task_id: &'a str, grace_ms: u64) -> BoxFuture<'a, Result<(), ExecError>>;

    fn remove<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<(), ExecError>>;

    /// Every container this node's executor created (by label), for adoption after a restart.
    fn list(&self) -> BoxFuture<'_, Result<Vec<ContainerStatus>, ExecError>>;

    /// Which containers this node's executor created, from one labelled list call and no
    /// inspection (the stray sweep needs no more).
    fn owned(&self) -> BoxFuture<'_, Result<Vec<OwnedContainer>, ExecError>>;

    /// Task IDs whose container changed (died, health changed...), as the engine reports them.
    /// The agent inspects on each; it also polls, so a missed event is only slower.
    fn changes(&self) -> BoxStream<'static, String>;

    fn logs<'a>(
        &'a self,
        task_id: &'a str,
        options: LogOptions,
    ) -> BoxStream<'a, Result<LogChunk, ExecError>>;
}
