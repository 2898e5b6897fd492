//! The leader: the components only the leading manager runs, and how they are kept running.
//!
//! The daemon follows Raft leadership and runs [`LeaderComponents`] while this manager leads.
//! They run under a [`Supervisor`]: a component that panics or fails is logged by name and
//! restarted with backoff; one that keeps failing makes this manager step down ([`StepDown`])
//! so that another manager leads, rather than going on leading without it.
//!
//! - [`restarts`]: the backoff and the failure count that decides when to give up
//! - [`supervisor`]: [`Supervisor`] and [`Component`], named components on their own tasks
//! - [`components`]: [`LeaderComponents`], which components a leader runs, and stepping down

pub mod components;
pub mod restarts;
pub mod supervisor;

#[cfg(test)]
mod supervisor_tests;
#[cfg(test)]
mod tests;

use futures::future::BoxFuture;

pub use components::LeaderComponents;
pub use supervisor::{Component, ComponentError, Escalation, Exit, Failure, Supervisor};

/// How this manager gives up its leadership so that another one takes over; the daemon
/// implements it over Raft.
pub trait StepDown: Send + Sync + 'static {
    /// `Ok` once leadership has moved or is moving; `Err` says why it cannot (no other
    /// manager could lead, or the others would lose their quorum).
    fn step_down(&self) -> BoxFuture<'_, Result<(), String>>;
}
