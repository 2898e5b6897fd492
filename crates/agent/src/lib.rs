//! The worker side of every node.
//!
//! - [`executor`]: the [`executor::Executor`] trait the agent runs tasks through
pub mod executor;
