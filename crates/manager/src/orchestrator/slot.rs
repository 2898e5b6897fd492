//! Slots: the unit the orchestrator reasons about.
//!
//! A replicated service owns slots `1..=N`; a global service owns one slot per node. A slot keeps
//! its history (tasks that ended, were replaced or stopped), and what to do with it is derived
//! from that history alone — never from memory — so a new leader reaches the same decisions.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use store::Tables;
use types::{NodeAvailability, NodeState, Service, Task, TaskState};

use super::plan::Working;
use super::restart::{self, RestartDecision};
use super::update::SlotTasks;

/// Where a task belongs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlotKey {
    /// Replicated services: the replica number (1-based).
    Replica(u64),
    /// Global services: the node the task is bound to.
    Node(String),
}

impl SlotKey {
    pub fn of(task: &Task) -> SlotKey {
        if task.slot > 0 {
            SlotKey::Replica(task.slot)
        } else {
            SlotKey::Node(task.node_id.clone())
        }
    }
}

/// The task-model's "running task of a slot": wanted running and not ended.
pub fn is_runnable(t: &Task) -> bool {
    t.desired_state <= TaskState::Running && t.status.state <= TaskState::Running
}

/// The task ended by itself (exit, error, rejection) rather than being stopped by a manager.
/// Agents report `Shutdown` only when asked to stop, so these three states are the task's own.
pub fn ended_on_its_own(t: &Task) -> bool {
    matches!(
        t.status.state,
        TaskState::Complete | TaskState::Failed | TaskState::Rejected
    )
}

/// When the task's status last changed (the agent stamps it); falls back to the object's last
/// write for tasks whose status was never stamped.
pub fn status_since(t: &Task) -> i64 {
    if t.status.timestamp_ms > 0 {
        t.status.timestamp_ms
    } else {
        t.meta.updated_at_ms
    }
}

/// Whether the task runs an older template than its service asks for. A newer `spec_version`
/// alone is not enough: scaling bumps the version without changing what a task runs.
pub fn is_outdated(t: &Task, service: &Service) -> bool {
    if t.spec_version >= service.spec_version {
        return false;
    }
    let allocated = t.status.state >= TaskState::Pending;
    t.spec != service.spec.task || (allocated && t.endpoint_ports != service.endpoint_ports)
}

/// Creation order inside a slot. Creation times can tie in the same millisecond, so the status
/// time breaks ties (a replacement is created after its predecessor ended), then the ID.
pub fn creation_order(a: &Task, b: &Task) -> Ordering {
    (a.meta.created_at_ms, status_since(a), &a.id).cmp(&(
        b.meta.created_at_ms,
        status_since(b),
        &b.id,
    ))
}

/// Why a node can no longer keep a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeFitness {
    Usable,
    Down,
    Drained,
    Gone,
}

pub fn node_fitness(tables: &Tables, node_id: &str) -> NodeFitness {
    match tables.nodes.get(node_id) {
        None => NodeFitness::Gone,
        Some(n) if n.status.state == NodeState::Down => NodeFitness::Down,
        Some(n) if n.spec.availability == NodeAvailability::Drain => NodeFitness::Drained,
        Some(_) => NodeFitness::Usable,
    }
}

/// Nothing runs for the task any more, or nothing ever will report on it: its node is down or
/// gone, or it never reached a node.
pub fn has_stopped(t: &Task, tables: &Tables) -> bool {
    if t.status.state.is_terminal() || t.status.state < TaskState::Assigned {
        return true;
    }
    matches!(
        node_fitness(tables, &t.node_id),
        NodeFitness::Down | NodeFitness::Gone
    )
}

/// What a slot needs, derived from its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// At least one runnable task.
    Active,
    /// The last task ended on its own and the restart policy wants a new one at this time.
    RestartAt(i64),
    /// The last task ended on its own and the restart policy gives up: the slot stays empty.
    Finished,
    /// The last task was stopped by a manager (update) and has not stopped yet.
    Stopping,
    /// The last task was stopped by a manager and is gone: refill now.
    Stopped,
    /// No task, or every task is being removed (scaled down or deleted).
    Vacant,
}

impl Phase {
    /// Whether the slot counts towards the service's replicas.
    pub fn is_occupied(self) -> bool {
        self != Phase::Vacant
    }

    /// Whether a new task should be created in the slot now.
    pub fn wants_task(self, now_ms: i64) -> bool {
        match self {
            Phase::Stopped => true,
            Phase::RestartAt(at) => at <= now_ms,
            _ => false,
        }
    }
}

/// Classifies a slot from its tasks, sorted by [`creation_order`].
pub fn phase(history: &[&Task], service: &Service, tables: &Tables, now_ms: i64) -> Phase {
    if history.iter().any(|t| is_runnable(t)) {
        return Phase::Active;
    }
    let Some(latest) = history
        .iter()
        .rev()
        .find(|t| t.desired_state < TaskState::Remove)
    else {
        return Phase::Vacant;
    };
    // A run of an older template that ended is refilled at once with the current one: the
    // restart delay and attempt limit guard against crash loops of the template that failed.
    if ended_on_its_own(latest) && is_outdated(latest, service) {
        return Phase::Stopped;
    }
    if ended_on_its_own(latest) {
        return match restart::decide(&service.spec.task.restart, history, latest, now_ms) {
            RestartDecision::At(at) => Phase::RestartAt(at),
            RestartDecision::Never => Phase::Finished,
        };
    }
    if has_stopped(latest, tables) {
        Phase::Stopped
    } else {
        Phase::Stopping
    }
}

/// Every slot of the working copy with its tasks (creation order) and phase.
pub fn phases(
    w: &Working,
    service: &Service,
    tables: &Tables,
    now_ms: i64,
) -> BTreeMap<SlotKey, (Vec<usize>, Phase)> {
    w.slots()
        .into_iter()
        .map(|(key, idx)| {
            let p = phase(&w.refs(&idx), service, tables, now_ms);
            (key, (idx, p))
        })
        .collect()
}

/// Leaves at most one runnable task per slot — two while a start-first replacement is not
/// running yet — and says which is which. Duplicates come from races between an old and a new
/// leader; the task kept is the one that runs, else the newest.
pub fn settle_duplicates(
    w: &mut Working,
    service: &Service,
    key: &SlotKey,
    idx: &[usize],
) -> SlotTasks {
    let runnable: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| is_runnable(w.task(i)))
        .collect();
    // `idx` is in creation order, so the position is a fine "newest" tiebreak.
    let best = |w: &Working, outdated: bool| {
        runnable
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, i)| is_outdated(w.task(i), service) == outdated)
            .max_by_key(|&(pos, i)| (w.task(i).status.state == TaskState::Running, pos))
            .map(|(_, i)| i)
    };
    let current = best(w, false);
    let outdated = match current {
        Some(c) if w.task(c).status.state == TaskState::Running => None,
        _ => best(w, true),
    };
    for &i in &runnable {
        if Some(i) != current && Some(i) != outdated {
            w.set_desired(i, TaskState::Shutdown);
        }
    }
    SlotTasks {
        key: key.clone(),
        outdated,
        current,
        refilling: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Node, NodeStatus, RestartCondition};

    fn tables() -> Tables {
        let mut t = Tables::default();
        for (id, state) in [("up", NodeState::Ready), ("down", NodeState::Down)] {
            let node = Node {
                id: id.into(),
                status: NodeStatus {
                    state,
                    ..Default::default()
                },
                ..Default::default()
            };
            t.nodes.insert(id.into(), node);
        }
        t
    }

    fn service(condition: RestartCondition) -> Service {
        let mut s = Service {
            spec_version: 2,
            ..Default::default()
        };
        s.spec.task.restart.condition = condition;
        s.spec.task.restart.delay_ms = 1_000;
        s
    }

    fn task(desired: TaskState, state: TaskState, node: &str, version: u64) -> Task {
        let mut t = Task {
            node_id: node.into(),
            desired_state: desired,
            spec_version: version,
            ..Default::default()
        };
        t.status.state = state;
        t.status.timestamp_ms = 10_000;
        t
    }

    #[test]
    fn phases_follow_the_slot_history() {
        use TaskState::*;
        let t = tables();
        let any = service(RestartCondition::Any);
        let phase_of = |tasks: &[Task], s: &Service| {
            let refs: Vec<&Task> = tasks.iter().collect();
            phase(&refs, s, &t, 10_500)
        };
        assert_eq!(phase_of(&[], &any), Phase::Vacant);
        assert_eq!(
            phase_of(&[task(Running, Running, "up", 2)], &any),
            Phase::Active
        );
        assert_eq!(
            phase_of(&[task(Remove, Shutdown, "up", 2)], &any),
            Phase::Vacant
        );
        // Ended on its own: the restart policy decides, the delay counts from the end.
        assert_eq!(
            phase_of(&[task(Shutdown, Failed, "up", 2)], &any),
            Phase::RestartAt(11_000)
        );
        assert_eq!(
            phase_of(
                &[task(Shutdown, Failed, "up", 2)],
                &service(RestartCondition::None)
            ),
            Phase::Finished
        );
        // A run of an older template is replaced at once, whatever the policy.
        assert_eq!(
            phase_of(
                &[task(Shutdown, Failed, "up", 1)],
                &service(RestartCondition::None)
            ),
            Phase::Stopped
        );
        // Stopped by a manager: refilled once nothing runs it any more.
        assert_eq!(
            phase_of(&[task(Shutdown, Running, "up", 1)], &any),
            Phase::Stopping
        );
        assert_eq!(
            phase_of(&[task(Shutdown, Running, "down", 1)], &any),
            Phase::Stopped
        );
        assert_eq!(
            phase_of(&[task(Shutdown, Pending, "", 1)], &any),
            Phase::Stopped
        );
    }

    #[test]
    fn outdated_means_a_different_template_not_just_a_newer_version() {
        let mut s = service(RestartCondition::Any);
        let mut t = task(TaskState::Running, TaskState::Running, "up", 1);
        t.spec = s.spec.task.clone();
        assert!(
            !is_outdated(&t, &s),
            "same template, only the version moved"
        );
        s.spec.task.force_update = 1;
        assert!(is_outdated(&t, &s));
        t.spec_version = 2;
        assert!(!is_outdated(&t, &s), "created at the current version");
    }
}
