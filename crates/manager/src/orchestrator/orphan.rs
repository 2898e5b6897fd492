//! Orphaning: the tasks of a node that has been Down for longer than the cluster's
//! `orphan_after_ms` (24 h by default, as in SwarmKit) are marked `Orphaned`.
//!
//! Nobody will ever report how such a task ended: its agent is gone. Until it is orphaned it
//! keeps its last reported state (`Running`, say), so it looks alive to everything that counts
//! tasks and the reaper cannot tell it from a task still stopping. `Orphaned` is terminal: the
//! task stops counting and the reaper deletes it (see [`super::reaper`]).
//!
//! Only tasks that could have made progress since their node went silent (`Assigned` to
//! `Running`, as SwarmKit's dispatcher does it) are orphaned; the others already say how they
//! ended, or never reached the node.

use store::Tables;
use types::cluster::DEFAULT_ORPHAN_AFTER_MS;
use types::{format_duration_ms, Node, NodeState, Task, TaskState};

use super::plan::Working;

/// When the tasks of `node` are orphaned (unix ms), or `None` while it is not Down.
pub fn orphan_at(node: &Node, grace_ms: u64) -> Option<i64> {
    if node.status.state != NodeState::Down {
        return None;
    }
    // Nodes marked down before the time was recorded: their last write is the latest the
    // down mark can be, so they are never orphaned early.
    let since = match node.status.down_since_ms {
        0 => node.meta.updated_at_ms,
        at => at,
    };
    Some(since.saturating_add(i64::try_from(grace_ms).unwrap_or(i64::MAX)))
}

/// The task may still be running for all the store knows.
fn could_be_running(t: &Task) -> bool {
    t.status.state >= TaskState::Assigned && t.status.state <= TaskState::Running
}

/// The orphaning stage of a pass: orphans the tasks of nodes down for longer than the grace,
/// and asks to be woken when the grace of the next one runs out.
pub fn mark(w: &mut Working, tables: &Tables, now_ms: i64) {
    let grace = tables
        .cluster()
        .map_or(DEFAULT_ORPHAN_AFTER_MS, |c| c.spec.orphan_after_ms);
    for i in w.indices() {
        let t = w.task(i);
        if !could_be_running(t) {
            continue;
        }
        // A removed node's tasks are over already (the reaper treats them as gone).
        let Some(node) = tables.nodes.get(&t.node_id) else {
            continue;
        };
        match orphan_at(node, grace) {
            Some(at) if at <= now_ms => {
                let why = format!(
                    "node {} down for more than {}",
                    node.id,
                    format_duration_ms(grace)
                );
                w.orphan(i, why, now_ms);
            }
            Some(at) => w.requeue_at(at),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::Tables;
    use types::{Cluster, ClusterSpec, NodeStatus};

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 100 * HOUR;

    fn node(id: &str, state: NodeState, down_since_ms: i64) -> Node {
        let mut n = Node {
            id: id.into(),
            status: NodeStatus {
                state,
                down_since_ms,
                ..Default::default()
            },
            ..Default::default()
        };
        n.meta.updated_at_ms = NOW - HOUR;
        n
    }

    fn task(id: &str, node: &str, state: TaskState) -> Task {
        let mut t = Task {
            id: id.into(),
            service_id: "s".into(),
            slot: 1,
            node_id: node.into(),
            desired_state: TaskState::Shutdown,
            ..Default::default()
        };
        t.status.state = state;
        t
    }

    fn tables(grace_ms: Option<u64>, nodes: Vec<Node>, tasks: Vec<Task>) -> Tables {
        let mut t = Tables::default();
        if let Some(orphan_after_ms) = grace_ms {
            let spec = ClusterSpec {
                orphan_after_ms,
                ..Default::default()
            };
            t.clusters.insert("c".into(), Cluster::new("c", spec));
        }
        for n in nodes {
            t.nodes.insert(n.id.clone(), n);
        }
        for task in tasks {
            t.tasks.insert(task.id.clone(), task);
        }
        t
    }

    /// (case, grace, node, task state, orphaned?, wake-up asked for)
    type Case = (
        &'static str,
        Option<u64>,
        Node,
        TaskState,
        bool,
        Option<i64>,
    );

    #[test]
    fn orphans_only_tasks_that_may_run_on_nodes_down_past_the_grace() {
        use NodeState::{Down, Ready};
        use TaskState::*;
        let day = 24 * HOUR;
        let cases: Vec<Case> = vec![
            (
                "down past the default 24h",
                None,
                node("n", Down, NOW - day - 1),
                Running,
                true,
                None,
            ),
            (
                "down exactly the grace",
                None,
                node("n", Down, NOW - day),
                Running,
                true,
                None,
            ),
            (
                "down, grace not over: wake when it is",
                None,
                node("n", Down, NOW - HOUR),
                Running,
                false,
                Some(NOW - HOUR + day),
            ),
            (
                "a short grace from the cluster",
                Some(1_000),
                node("n", Down, NOW - 1_001),
                Assigned,
                true,
                None,
            ),
            (
                "ready nodes keep their tasks",
                Some(1),
                node("n", Ready, NOW - day * 2),
                Running,
                false,
                None,
            ),
            (
                "an ended task says how it ended",
                Some(1),
                node("n", Down, NOW - day),
                Failed,
                false,
                None,
            ),
            (
                "a task that never reached the node",
                Some(1),
                node("n", Down, NOW - day),
                Pending,
                false,
                None,
            ),
            // Marked down before the time was recorded: the node's last write stands in.
            (
                "no down time, last write 1h ago",
                Some(HOUR as u64),
                node("n", Down, 0),
                Starting,
                true,
                None,
            ),
            (
                "no down time, grace longer",
                Some(2 * HOUR as u64),
                node("n", Down, 0),
                Starting,
                false,
                Some(NOW + HOUR),
            ),
        ];
        for (name, grace, n, state, orphaned, wake) in cases {
            let tables = tables(grace, vec![n], vec![task("t", "n", state)]);
            let mut w = Working::of_service(&tables, "s");
            mark(&mut w, &tables, NOW);
            let t = w.task(0);
            assert_eq!(t.status.state == Orphaned, orphaned, "{name}: {t:?}");
            assert_eq!(w.requeue_at_ms, wake, "{name}");
            if orphaned {
                assert_eq!(t.status.timestamp_ms, NOW, "{name}");
            }
        }
    }

    #[test]
    fn the_message_names_the_node_and_the_grace() {
        let down = node("n1", NodeState::Down, NOW - 25 * HOUR);
        let tables = tables(None, vec![down], vec![task("t", "n1", TaskState::Running)]);
        let mut w = Working::of_service(&tables, "s");
        mark(&mut w, &tables, NOW);
        assert_eq!(
            w.task(0).status.message,
            "node n1 down for more than 24h0m0s"
        );
    }

    #[test]
    fn tasks_of_removed_nodes_are_left_to_the_reaper() {
        let tables = tables(Some(1), vec![], vec![task("t", "gone", TaskState::Running)]);
        let mut w = Working::of_service(&tables, "s");
        mark(&mut w, &tables, NOW);
        assert_eq!(w.task(0).status.state, TaskState::Running);
    }
}
