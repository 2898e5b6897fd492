//! The allocator (leader only): addresses on the ingress overlay.
//!
//! - [`ipam`]: the address pool of a subnet, rebuilt from the store on every pass, and MACs
//! - [`plan`]: one pass — the ingress network, node IPs, task IPs — as a pure function
//! - [`ports`]: published-port allocation, called by the control API when storing a service
//! - [`subnets`]: user networks' subnets, VNIs and address pools, for the control API and [`plan`]
//!
//! The [`Allocator`] moves tasks from `New` to `Pending` once they have an address; see
//! docs/task-model.md for who writes what.

pub mod ipam;
pub mod plan;
pub mod ports;
pub mod subnets;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod user_network_tests;

use std::time::Duration;

use store::{Event, Object, Store, StoreError};
use tokio_util::sync::CancellationToken;
use types::TaskState;

use crate::orchestrator::driver::{self, LoopTiming, Reconciler};

/// Gives the ingress network, node IPs and task IPs; see the module documentation.
pub struct Allocator {
    store: Store,
    timing: LoopTiming,
}

#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ipam(#[from] ipam::IpamError),
}

impl Allocator {
    pub fn new(store: Store) -> Self {
        Allocator {
            store,
            timing: LoopTiming::default(),
        }
    }

    #[must_use]
    pub fn with_timing(mut self, timing: LoopTiming) -> Self {
        self.timing = timing;
        self
    }

    /// Allocates until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut pass = Pass {
            store: self.store.clone(),
            dirty: true,
            retry: self.timing.retry,
        };
        tracing::info!("allocator started");
        driver::drive(&self.store, &mut pass, &shutdown, &self.timing).await;
        tracing::info!("allocator stopped");
    }
}

struct Pass {
    store: Store,
    dirty: bool,
    retry: Duration,
}

impl Reconciler for Pass {
    fn observe(&mut self, event: &Event) {
        let relevant = match (event, event.object()) {
            // A deleted task frees its address, which a waiting task may need.
            (Event::Removed(_), Object::Task(_)) => true,
            (_, Object::Task(t)) => t.status.state == TaskState::New,
            (_, Object::Node(n)) => n.ingress_addr.is_empty(),
            (_, Object::Service(_)) => false,
            (_, Object::Network(_) | Object::Cluster(_)) => true,
            (_, Object::Data(_)) => false,
        };
        self.dirty |= relevant;
    }

    fn mark_all(&mut self) {
        self.dirty = true;
    }

    async fn reconcile(&mut self) -> Option<Duration> {
        if !std::mem::take(&mut self.dirty) {
            return None;
        }
        match allocate_once(&self.store).await {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %e, "allocation failed; will retry");
                self.dirty = true;
                Some(self.retry)
            }
        }
    }
}

async fn allocate_once(store: &Store) -> Result<(), PassError> {
    store
        .update(|t, tx| {
            let a = plan::allocate(t, types::now_ms())?;
            if let Some(network) = a.create_network {
                tracing::info!(subnet = %network.spec.subnet, "creating the ingress network");
                tx.create(Object::Network(network));
                // Rewriting the cluster as read makes two allocators racing to create the
                // network conflict instead of creating two.
                if let Some(c) = t.cluster() {
                    tx.update(Object::Cluster(c.clone()));
                }
            }
            for n in a.nodes {
                tx.update(Object::Node(n));
            }
            for task in a.tasks {
                tx.update(Object::Task(task));
            }
            Ok::<_, PassError>(())
        })
        .await
}
