//! Follows the store's watch events between pushes, so that a publishing pass costs what
//! changed rather than nodes × tasks: a node is rebuilt when one of its tasks or its node object
//! changed, the network view when some task's part of it (or a node, service or network)
//! changed, and every node only when something they all share changed. When the events cannot
//! be followed (at start, after the watch lagged) the index is rebuilt from the store.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use store::{Event, EventBatch, Object, Store, Tables};
use tokio::sync::broadcast::{self, error::TryRecvError};
use types::Task;

use super::view::{self, MeshPart};
use super::view_log::ViewLog;
use super::Assignment;

/// What a pass must redo for one node.
enum Due {
    Nothing,
    /// Only the network view or the manager list: its node and tasks are as last built.
    Shared,
    Everything,
}

pub(super) struct Publisher {
    events: broadcast::Receiver<EventBatch>,
    /// The index does not reflect the store: rebuild it on the next pass.
    resync: bool,
    /// Task → the node told about it.
    placement: HashMap<String, String>,
    /// Node → the tasks it is told about, in ID order as the store lists them.
    by_node: HashMap<String, BTreeSet<String>>,
    /// Task → what it adds to the network view, for tasks that add something.
    mesh: HashMap<String, MeshPart>,
    network: Arc<ViewLog>,
    managers: Vec<String>,
    /// Nodes whose tasks or node object changed in the events of this pass.
    touched: HashSet<String>,
    /// The index was rebuilt in this pass: every node's tasks may have changed.
    rebuilt: bool,
    /// The network view or the manager list changed in this pass.
    shared_changed: bool,
    network_stale: bool,
    managers_stale: bool,
}

impl Publisher {
    pub(super) fn new(store: &Store) -> Self {
        Publisher {
            events: store.watch(),
            resync: true,
            placement: HashMap::new(),
            by_node: HashMap::new(),
            mesh: HashMap::new(),
            network: Arc::new(ViewLog::default()),
            managers: Vec::new(),
            touched: HashSet::new(),
            rebuilt: false,
            shared_changed: false,
            network_stale: false,
            managers_stale: false,
        }
    }

    /// Takes in every write up to `t`. Must run inside the store view that gave `t`: writers
    /// are held off there, so the events drained are exactly the writes `t` reflects and the
    /// index matches `t`.
    pub(super) fn catch_up(&mut self, t: &Tables) {
        self.touched.clear();
        self.rebuilt = false;
        self.shared_changed = false;
        let mut lost = std::mem::take(&mut self.resync);
        loop {
            match self.events.try_recv() {
                Ok(batch) if !lost => batch.iter().for_each(|e| self.observe(e, t)),
                Ok(_) => {}
                Err(TryRecvError::Lagged(_)) => lost = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if lost {
            self.rebuild(t);
        }
        if self.network_stale {
            self.network_stale = false;
            if let Some(next) = self.network.advanced(view::network_view(t)) {
                self.network = Arc::new(next);
                self.shared_changed = true;
            }
        }
        if self.managers_stale {
            self.managers_stale = false;
            let next = view::manager_addrs(t);
            if next != self.managers {
                self.managers = next;
                self.shared_changed = true;
            }
        }
    }

    /// Whether every node is due in this pass (not only the touched ones).
    pub(super) fn all_due(&self) -> bool {
        self.rebuilt || self.shared_changed
    }

    /// Nodes whose tasks or node object changed in this pass.
    pub(super) fn touched(&self) -> impl Iterator<Item = &str> {
        self.touched.iter().map(String::as_str)
    }

    /// The assignment a node that holds `known` should hold after this pass; `None` when the
    /// pass changes nothing for it (or the node is gone).
    pub(super) fn next_for(
        &self,
        t: &Tables,
        node_id: &str,
        session_id: &str,
        known: Option<&Assignment>,
        heartbeat_period: Duration,
    ) -> Option<Assignment> {
        match (known, self.due(node_id)) {
            (Some(known), Due::Nothing) if known.heartbeat_period == heartbeat_period => None,
            (Some(known), Due::Nothing | Due::Shared) => Some(Assignment {
                network: self.network.clone(),
                managers: self.managers.clone(),
                heartbeat_period,
                ..known.clone()
            }),
            (None, _) | (Some(_), Due::Everything) => {
                let tasks = self.tasks_of(t, node_id);
                Some(Assignment {
                    session_id: session_id.to_string(),
                    node: t.nodes.get(node_id)?.clone(),
                    data: super::data::payloads(t, &tasks).into(),
                    tasks,
                    network: self.network.clone(),
                    managers: self.managers.clone(),
                    heartbeat_period,
                })
            }
        }
    }

    fn due(&self, node_id: &str) -> Due {
        if self.rebuilt || self.touched.contains(node_id) {
            Due::Everything
        } else if self.shared_changed {
            Due::Shared
        } else {
            Due::Nothing
        }
    }

    /// The node's tasks in `t`, the view [`Publisher::catch_up`] took in.
    fn tasks_of(&self, t: &Tables, node_id: &str) -> Arc<[Task]> {
        let Some(ids) = self.by_node.get(node_id) else {
            return Arc::new([]);
        };
        // Every indexed ID is in `t` (see `catch_up`); a miss would only drop the task from
        // this one push.
        ids.iter()
            .filter_map(|id| t.tasks.get(id))
            .cloned()
            .collect()
    }

    fn rebuild(&mut self, t: &Tables) {
        self.placement.clear();
        self.by_node.clear();
        self.mesh.clear();
        for task in t.tasks.values() {
            self.place(task, false, t);
        }
        self.rebuilt = true;
        self.network_stale = true;
        self.managers_stale = true;
    }

    fn observe(&mut self, event: &Event, t: &Tables) {
        match event.object() {
            Object::Task(task) => self.place(task, matches!(event, Event::Removed(_)), t),
            Object::Node(node) => {
                self.touch(&node.id);
                self.network_stale = true;
                self.managers_stale = true;
            }
            Object::Service(_) | Object::Network(_) => self.network_stale = true,
            // Secrets and configs never change; a node needs one only with a task that
            // references it, and that task's event brings it.
            Object::Cluster(_) | Object::Data(_) => {}
        }
    }

    /// Indexes a task's latest state (or its removal), touching the nodes it left or is on.
    /// `t` is the state after the whole pass: a service that entered or left the mesh during
    /// it made the view stale by its own event, so for every other service its state in `t`
    /// is its state at the time of this event.
    fn place(&mut self, task: &Task, removed: bool, t: &Tables) {
        let node = if removed {
            None
        } else {
            view::assigned_node(task)
        };
        if self.placement.get(&task.id).map(String::as_str) != node {
            if let Some(old) = self.placement.remove(&task.id) {
                if let Some(ids) = self.by_node.get_mut(&old) {
                    ids.remove(&task.id);
                    if ids.is_empty() {
                        self.by_node.remove(&old);
                    }
                }
                self.touch(&old);
            }
            if let Some(n) = node {
                self.placement.insert(task.id.clone(), n.to_string());
                match self.by_node.get_mut(n) {
                    Some(ids) => {
                        ids.insert(task.id.clone());
                    }
                    None => {
                        self.by_node
                            .insert(n.to_string(), BTreeSet::from([task.id.clone()]));
                    }
                }
            }
        }
        if let Some(n) = node {
            self.touch(n);
        }

        let part = if removed {
            MeshPart::default()
        } else {
            view::mesh_part(task)
        };
        let none = MeshPart::default();
        let before = self.mesh.get(&task.id).unwrap_or(&none);
        if *before == part {
            return;
        }
        // The backends of a service outside the mesh are in no view.
        let in_mesh = t.services.get(&task.service_id).is_some_and(view::in_mesh);
        if before.endpoint != part.endpoint || before.overlays != part.overlays || in_mesh {
            self.network_stale = true;
        }
        if part == none {
            self.mesh.remove(&task.id);
        } else {
            self.mesh.insert(task.id.clone(), part);
        }
    }

    fn touch(&mut self, node_id: &str) {
        if !self.touched.contains(node_id) {
            self.touched.insert(node_id.to_string());
        }
    }
}
