//! The in-memory state every manager reads from, with change notification.

use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

use crate::action::{Event, StoreAction};
use crate::error::StoreError;
use crate::tables::Tables;

/// Committed writes as watchers receive them, in commit order: one batch per applied log entry
/// (one write, or the several writes the leader committed together).
pub type EventBatch = Arc<Vec<Event>>;

/// How many batches a slow watcher may fall behind before it is told it lagged (and must
/// re-read the state, as level-triggered components do anyway).
const WATCH_BUFFER: usize = 16_384;

struct Inner {
    tables: Tables,
    /// Log index of the last applied write.
    applied: u64,
}

/// The state machine's data: tables plus the index they reflect. Readers take a consistent
/// view; writers are only the state machine (or the local proposer in tests).
pub struct MemoryStore {
    inner: RwLock<Inner>,
    events: broadcast::Sender<EventBatch>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(WATCH_BUFFER);
        MemoryStore {
            inner: RwLock::new(Inner {
                tables: Tables::default(),
                applied: 0,
            }),
            events,
        }
    }

    /// Runs `f` on a consistent view of every table.
    pub fn view<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        let inner = self.inner.read().expect("store lock poisoned");
        f(&inner.tables)
    }

    /// Runs `f` on a consistent view and subscribes to every write committed after it, with no
    /// write lost or seen twice in between.
    pub fn view_and_watch<R>(
        &self,
        f: impl FnOnce(&Tables) -> R,
    ) -> (R, broadcast::Receiver<EventBatch>) {
        let inner = self.inner.read().expect("store lock poisoned");
        let rx = self.events.subscribe();
        (f(&inner.tables), rx)
    }

    /// Subscribes to future writes.
    pub fn watch(&self) -> broadcast::Receiver<EventBatch> {
        self.events.subscribe()
    }

    /// Index of the last applied write.
    pub fn applied_index(&self) -> u64 {
        self.inner.read().expect("store lock poisoned").applied
    }

    /// Applies a committed write. A write whose checks fail changes nothing but still advances
    /// the applied index (it was committed; it just had no effect).
    pub fn apply(&self, index: u64, actions: &[StoreAction]) -> Result<(), StoreError> {
        let mut outcomes = self.apply_writes(index, [actions]);
        outcomes.pop().unwrap_or(Ok(()))
    }

    /// Applies the writes of one committed entry in order, each all-or-nothing on its own, and
    /// returns each one's outcome. One lock and one event batch for them all: taking the lock
    /// and waking every watcher once per write cost more than applying small writes.
    pub fn apply_writes<'a>(
        &self,
        index: u64,
        writes: impl IntoIterator<Item = &'a [StoreAction]>,
    ) -> Vec<Result<(), StoreError>> {
        let mut inner = self.inner.write().expect("store lock poisoned");
        inner.applied = inner.applied.max(index);
        let mut events = Vec::new();
        let outcomes = writes
            .into_iter()
            .map(|actions| {
                let applied = inner.tables.apply(index, actions)?;
                events.extend(applied);
                Ok(())
            })
            .collect();
        if !events.is_empty() {
            // Sent under the lock so watchers see batches in commit order.
            let _ = self.events.send(Arc::new(events));
        }
        outcomes
    }

    /// Copies the state for a snapshot.
    pub fn snapshot(&self) -> (Tables, u64) {
        let inner = self.inner.read().expect("store lock poisoned");
        (inner.tables.clone(), inner.applied)
    }

    /// Replaces the whole state (installing a snapshot). Watchers get one batch that removes
    /// what vanished and creates or updates the rest, so they stay level-correct.
    pub fn restore(&self, mut tables: Tables, applied: u64) {
        // A decoded snapshot carries no index; built here, before writers are held up.
        tables.reindex();
        let mut inner = self.inner.write().expect("store lock poisoned");
        let events = diff(&inner.tables, &tables);
        inner.tables = tables;
        inner.applied = applied;
        if !events.is_empty() {
            let _ = self.events.send(Arc::new(events));
        }
    }
}

fn diff(old: &Tables, new: &Tables) -> Vec<Event> {
    use crate::action::Object;
    let mut events = Vec::new();
    macro_rules! table {
        ($field:ident, $variant:ident) => {
            for (id, o) in &old.$field {
                if !new.$field.contains_key(id) {
                    events.push(Event::Removed(Object::$variant(o.clone())));
                }
            }
            for (id, o) in &new.$field {
                match old.$field.get(id) {
                    None => events.push(Event::Created(Object::$variant(o.clone()))),
                    Some(prev) if prev != o => {
                        events.push(Event::Updated(Object::$variant(o.clone())))
                    }
                    Some(_) => {}
                }
            }
        };
    }
    table!(nodes, Node);
    table!(services, Service);
    table!(tasks, Task);
    table!(networks, Network);
    table!(clusters, Cluster);
    table!(data, Data);
    events
}
