//! A reconcile pass over one service: a working copy of its tasks that the decision stages
//! change in turn, turned into one store write at the end.
//!
//! Stages see each other's effects (a task the restart stage shut down is no longer runnable
//! for the scaling stage) without any I/O in between.

use std::collections::BTreeMap;

use store::{Object, Tables, Tx};
use types::{Service, Task, TaskState, TaskStatus};

use super::slot::{creation_order, SlotKey};

/// What a pass did to a task, which decides what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Unchanged,
    Changed,
    Created,
}

/// The service's tasks as the pass will leave them.
pub struct Working {
    tasks: Vec<Task>,
    /// Parallel to `tasks`.
    edits: Vec<Edit>,
    /// The service as it should be written back (update status, rollback), if changed.
    pub service: Option<Service>,
    /// The earliest time something becomes due (restart delay, update monitor).
    pub requeue_at_ms: Option<i64>,
    /// Tasks created by the restart policy in this pass, for `GET /metrics`.
    pub restarts: u64,
}

impl Working {
    pub fn of_service(tables: &Tables, service_id: &str) -> Working {
        let tasks: Vec<Task> = tables.tasks_of_service(service_id).cloned().collect();
        let edits = vec![Edit::Unchanged; tasks.len()];
        Working {
            tasks,
            edits,
            service: None,
            requeue_at_ms: None,
            restarts: 0,
        }
    }

    pub fn task(&self, i: usize) -> &Task {
        &self.tasks[i]
    }

    pub fn indices(&self) -> std::ops::Range<usize> {
        0..self.tasks.len()
    }

    /// Tasks grouped by slot, each group in creation order.
    pub fn slots(&self) -> BTreeMap<SlotKey, Vec<usize>> {
        let mut slots: BTreeMap<SlotKey, Vec<usize>> = BTreeMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            slots.entry(SlotKey::of(t)).or_default().push(i);
        }
        for group in slots.values_mut() {
            group.sort_by(|&a, &b| creation_order(&self.tasks[a], &self.tasks[b]));
        }
        slots
    }

    pub fn refs(&self, idx: &[usize]) -> Vec<&Task> {
        idx.iter().map(|&i| &self.tasks[i]).collect()
    }

    fn changed(&mut self, i: usize) {
        if self.edits[i] == Edit::Unchanged {
            self.edits[i] = Edit::Changed;
        }
    }

    /// Raises a task's desired state; desired states never go back.
    pub fn set_desired(&mut self, i: usize, state: TaskState) {
        let t = &mut self.tasks[i];
        if t.desired_state < state {
            t.desired_state = state;
            self.changed(i);
        }
    }

    /// Marks a task `Orphaned`: its node has been down so long that nobody will ever report
    /// how it ended. States only move forward, so a task already past it is left alone.
    pub fn orphan(&mut self, i: usize, message: String, now_ms: i64) {
        let s = &mut self.tasks[i].status;
        if s.state < TaskState::Orphaned {
            s.state = TaskState::Orphaned;
            s.message = message;
            s.timestamp_ms = now_ms;
            self.changed(i);
        }
    }

    /// Records that an updated task ran through the update's monitor period.
    pub fn pass_monitor(&mut self, i: usize) {
        if !self.tasks[i].monitor_passed {
            self.tasks[i].monitor_passed = true;
            self.changed(i);
        }
    }

    /// Adds a task created by this pass. Its ID is derived from the slot's history, so two
    /// orchestrators deciding from the same state (an old leader not stopped yet and a new
    /// one) create the *same* task and the second write fails, instead of duplicating it.
    pub fn add(&mut self, mut task: Task) -> usize {
        let key = SlotKey::of(&task);
        let mut history: Vec<&str> = self
            .tasks
            .iter()
            .filter(|t| SlotKey::of(t) == key)
            .map(|t| t.id.as_str())
            .collect();
        history.sort_unstable();
        task.id = derived_id(&task.service_id, &key, &history);
        self.tasks.push(task);
        self.edits.push(Edit::Created);
        self.tasks.len() - 1
    }

    pub fn requeue_at(&mut self, at_ms: i64) {
        self.requeue_at_ms = Some(self.requeue_at_ms.map_or(at_ms, |r| r.min(at_ms)));
    }

    pub fn created(&self) -> usize {
        self.edits.iter().filter(|&&e| e == Edit::Created).count()
    }

    /// Writes the pass's changes. The service object is written only when the pass changed
    /// it (update status, rollback): its version belongs to the user's read-modify-write.
    pub fn into_tx(self, tx: &mut Tx) {
        for (task, edit) in self.tasks.into_iter().zip(self.edits) {
            match edit {
                Edit::Created => tx.create(Object::Task(task)),
                Edit::Changed => tx.update(Object::Task(task)),
                Edit::Unchanged => {}
            }
        }
        if let Some(s) = self.service {
            tx.update(Object::Service(s));
        }
    }
}

/// A task ID (25 base-36 characters, like random ones) determined by the service, the slot
/// and the IDs of the slot's tasks so far.
fn derived_id(service_id: &str, key: &SlotKey, history: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut h = Sha256::new();
    h.update(service_id.as_bytes());
    h.update(format!("{key:?}").as_bytes());
    for id in history {
        h.update(b"/");
        h.update(id.as_bytes());
    }
    h.finalize()
        .iter()
        .take(25)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// A fresh task for a slot (replicated) or a node (global), stamped from the service as it is.
pub fn new_task(service: &Service, key: &SlotKey, now_ms: i64) -> Task {
    let (slot, node_id) = match key {
        SlotKey::Replica(n) => (*n, String::new()),
        SlotKey::Node(node) => (0, node.clone()),
    };
    let mut task = Task {
        id: types::new_id(),
        service_id: service.id.clone(),
        service_name: service.spec.name.clone(),
        slot,
        node_id,
        spec: service.spec.task.clone(),
        spec_version: service.spec_version,
        desired_state: TaskState::Running,
        status: TaskStatus {
            state: TaskState::New,
            timestamp_ms: now_ms,
            message: "created".to_string(),
            ..Default::default()
        },
        ..Default::default()
    };
    // Orders it after its slot's history until the store stamps the real creation time.
    task.meta.created_at_ms = now_ms;
    task
}
