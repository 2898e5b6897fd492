//! The seam between the store and consensus: who commits a write.

use futures::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::action::StoreAction;
use crate::error::StoreError;
use crate::memory::MemoryStore;

/// Commits a write. Returns once the write is committed and applied to the local
/// [`MemoryStore`], with the outcome of applying it (a version conflict is an error).
pub trait Proposer: Send + Sync + 'static {
    fn propose(&self, actions: Vec<StoreAction>) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Applies writes straight to memory: for unit tests and single-process tools, no Raft.
pub struct LocalProposer {
    memory: Arc<MemoryStore>,
    next_index: AtomicU64,
    /// Serializes writes so indexes are applied in order.
    lock: tokio::sync::Mutex<()>,
}

impl LocalProposer {
    pub fn new(memory: Arc<MemoryStore>) -> Self {
        let next = memory.applied_index() + 1;
        LocalProposer {
            memory,
            next_index: AtomicU64::new(next),
            lock: tokio::sync::Mutex::new(()),
        }
    }
}

impl Proposer for LocalProposer {
    fn propose(&self, actions: Vec<StoreAction>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let _guard = self.lock.lock().await;
            let index = self.next_index.fetch_add(1, Ordering::SeqCst);
            self.memory.apply(index, &actions)
        })
    }
}
