//! The manager side: everything that reads and writes the replicated store.
//!
//! Leader-only components (started on becoming leader, stopped on losing it) each take the
//! store and a cancellation token; they share nothing but the store. `leader` runs them under
//! a supervisor that restarts a failed one and steps down when one keeps failing:
//! - `orchestrator`: services → tasks (replicated slots, global, restart, rolling update, reaper)
//! - `allocator`: ingress network, node and task IPs
//! - `scheduler`: pending tasks → nodes (filters, spread)
//! - `dispatcher`: agent sessions, heartbeats, node liveness, task status
//!
//! On every manager: `controlapi`, the API swarmctl talks to, and `events`, the cluster
//! events it serves (`swarmctl events`), recorded from the store's watch.

pub mod allocator;
pub mod controlapi;
pub mod dispatcher;
pub mod events;
pub mod leader;
pub mod membership;
pub mod orchestrator;
pub mod scheduler;
