//! The reaper: deletes tasks nobody needs any more, as docs/task-model.md lists them.
//!
//! - tasks with `desired_state = Remove` once nothing runs for them (terminal, never reached a
//!   node, or their node was removed); tasks of a deleted service are first marked `Remove`;
//! - orphaned tasks ([`super::orphan`]) as soon as a newer task follows them in their slot (or
//!   their service is gone), rather than as history: a node that comes back is sent every task
//!   still assigned to it, and its agent takes a state it cannot move any more (`Orphaned`) as
//!   the end of the task, so it would never stop the container. Deleted, the task is unknown
//!   to the node, whose agent removes the container. The newest task of a slot stays: the IDs
//!   of new tasks derive from the slot's history, which must not go back to an earlier one;
//! - history beyond the cluster's `task_history_limit` per slot (global: per node), oldest
//!   first, only tasks that are over — except runs the restart policy still counts.

use store::Tables;
use types::{Service, Task, TaskState};

use super::orphan;
use super::plan::Working;
use super::restart::counts_as_attempt;
use super::slot::{node_fitness, NodeFitness};

/// Docker's `--task-history-limit` default, used before the cluster object exists.
const DEFAULT_HISTORY_LIMIT: u64 = 5;

/// Nothing runs for the task and nothing ever will: a manager no longer wants it running and
/// it ended, never reached a node, or its node is gone.
fn is_over(t: &Task, tables: &Tables) -> bool {
    t.desired_state > TaskState::Running
        && (t.status.state.is_terminal()
            || t.status.state < TaskState::Assigned
            || node_fitness(tables, &t.node_id) == NodeFitness::Gone)
}

/// The service was deleted: every task of it is to be removed. Tasks on nodes down past the
/// grace are orphaned too, or nothing would ever say they stopped.
pub fn remove_all(tables: &Tables, service_id: &str, now_ms: i64) -> Working {
    let mut w = Working::of_service(tables, service_id);
    orphan::mark(&mut w, tables, now_ms);
    for i in w.indices() {
        w.set_desired(i, TaskState::Remove);
    }
    w
}

/// IDs of the tasks of `service_id` to delete now. `service` is `None` once it was deleted.
pub fn reapable(
    tables: &Tables,
    service_id: &str,
    service: Option<&Service>,
    now_ms: i64,
) -> Vec<String> {
    let limit = tables
        .cluster()
        .map_or(DEFAULT_HISTORY_LIMIT, |c| c.spec.task_history_limit) as usize;
    let w = Working::of_service(tables, service_id);
    let mut doomed = Vec::new();
    for idx in w.slots().into_values() {
        let history = w.refs(&idx);
        let protected = |t: &Task| match (service, history.last()) {
            (Some(s), Some(latest)) if s.spec.task.restart.max_attempts > 0 => {
                let window = s.spec.task.restart.window_ms as i64;
                let start = if window > 0 {
                    now_ms.saturating_sub(window)
                } else {
                    i64::MIN
                };
                counts_as_attempt(t, latest.spec_version, start)
            }
            _ => false,
        };
        let mut kept = history.len();
        for (pos, t) in history.iter().enumerate() {
            let removed = t.desired_state == TaskState::Remove && is_over(t, tables);
            let followed = service.is_none() || pos + 1 < history.len();
            let orphaned = t.status.state == TaskState::Orphaned
                && t.desired_state > TaskState::Running
                && followed;
            let beyond_history = kept > limit && is_over(t, tables) && !protected(t);
            if removed || orphaned || beyond_history {
                doomed.push(t.id.clone());
                kept -= 1;
            }
        }
    }
    doomed
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Cluster, ClusterSpec, Node};

    fn task(id: &str, slot: u64, created: i64, desired: TaskState, state: TaskState) -> Task {
        let mut t = Task {
            id: id.into(),
            service_id: "s".into(),
            slot,
            node_id: "n1".into(),
            desired_state: desired,
            ..Default::default()
        };
        t.meta.created_at_ms = created;
        t.status.state = state;
        t.status.timestamp_ms = created + 1;
        t
    }

    fn tables(tasks: Vec<Task>, limit: u64) -> Tables {
        let mut t = Tables::default();
        t.nodes.insert(
            "n1".into(),
            Node {
                id: "n1".into(),
                ..Default::default()
            },
        );
        t.clusters.insert(
            "c".into(),
            Cluster::new(
                "c",
                ClusterSpec {
                    task_history_limit: limit,
                    ..Default::default()
                },
            ),
        );
        for task in tasks {
            t.tasks.insert(task.id.clone(), task);
        }
        t
    }

    #[test]
    fn keeps_the_newest_history_per_slot_and_never_a_live_task() {
        use TaskState::*;
        let mut tasks: Vec<Task> = (0..8)
            .map(|i| task(&format!("old{i}"), 1, i, Shutdown, Failed))
            .collect();
        tasks.push(task("live", 1, 100, Running, Running));
        // A task that is wanted down but still runs is not history yet, however old.
        tasks.push(task("stopping", 2, 0, Shutdown, Running));
        tasks.extend((0..5).map(|i| task(&format!("two{i}"), 2, 10 + i, Shutdown, Complete)));
        let t = tables(tasks, 5);
        let mut doomed = reapable(&t, "s", None, 1_000);
        doomed.sort();
        assert_eq!(doomed, vec!["old0", "old1", "old2", "old3", "two0"]);
    }

    #[test]
    fn removes_tasks_wanted_removed_once_nothing_runs_them() {
        use TaskState::*;
        let mut gone = task("gone-node", 3, 0, Remove, Running);
        gone.node_id = "vanished".into();
        let t = tables(
            vec![
                task("stopped", 1, 0, Remove, Shutdown),
                task("unassigned", 2, 0, Remove, Pending),
                task("still-running", 4, 0, Remove, Running),
                gone,
            ],
            5,
        );
        let mut doomed = reapable(&t, "s", None, 0);
        doomed.sort();
        assert_eq!(doomed, vec!["gone-node", "stopped", "unassigned"]);
    }

    #[test]
    fn orphans_go_once_followed_in_their_slot_or_once_their_service_is_gone() {
        use TaskState::*;
        let t = tables(
            vec![
                task("orphan-replaced", 1, 0, Shutdown, Orphaned),
                task("replacement", 1, 1, Running, Running),
                // The newest of its slot: a new task's ID derives from it.
                task("orphan-newest", 2, 0, Shutdown, Orphaned),
            ],
            5,
        );
        let service = Service {
            id: "s".into(),
            ..Default::default()
        };
        assert_eq!(
            reapable(&t, "s", Some(&service), 0),
            vec!["orphan-replaced"]
        );
        let mut doomed = reapable(&t, "s", None, 0);
        doomed.sort();
        assert_eq!(doomed, vec!["orphan-newest", "orphan-replaced"]);
    }

    #[test]
    fn restart_attempts_still_counted_are_kept_beyond_the_limit() {
        use TaskState::*;
        let tasks: Vec<Task> = (0..7)
            .map(|i| task(&format!("f{i}"), 1, i, Shutdown, Failed))
            .collect();
        let t = tables(tasks, 2);
        let mut service = Service {
            id: "s".into(),
            ..Default::default()
        };
        assert_eq!(reapable(&t, "s", Some(&service), 100).len(), 5);
        service.spec.task.restart.max_attempts = 10;
        assert!(reapable(&t, "s", Some(&service), 100).is_empty());
    }
}
