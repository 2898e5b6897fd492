//! What a node is sent, and whether a newer one tells it anything. Each push costs the agent a
//! reconcile, so a push must carry news: what the managers changed (a new or removed task, a
//! desired state, a spec, the node, the network view, the manager list), never the node's own
//! status reports coming back to it. The agent writes a task's status from `Accepted` on
//! (docs/task-model.md); up to `Assigned` the scheduler does, and that is news to the node.

use std::sync::Arc;
use std::time::Duration;

use types::{DataPayload, Node, Task, TaskState};

use super::view_log::ViewLog;

/// Everything a node needs. Pushed when it differs from the last push in something the node
/// does not already know; what is pushed is always the latest store state.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub session_id: String,
    pub node: Node,
    /// The node's tasks past scheduling, in ID order. Shared with the next assignment when
    /// only the network view or the managers change.
    pub tasks: Arc<[Task]>,
    /// One `Arc` per distinct view: the publisher keeps the previous one while the view does
    /// not change, so a different `Arc` means a different view.
    pub network: Arc<ViewLog>,
    pub managers: Vec<String>,
    pub heartbeat_period: Duration,
    /// The secrets and configs `tasks` reference (objects never change, so they are news only
    /// with the tasks that bring them).
    pub data: Arc<[DataPayload]>,
}

impl Assignment {
    /// Whether a node that was last sent `known` learns anything from `self`.
    pub fn is_news_after(&self, known: &Assignment) -> bool {
        self.session_id != known.session_id
            || self.node != known.node
            // Comparing the views themselves would cost their size for every node.
            || !Arc::ptr_eq(&self.network, &known.network)
            || self.managers != known.managers
            || self.heartbeat_period != known.heartbeat_period
            || !Arc::ptr_eq(&self.tasks, &known.tasks)
                && (self.tasks.len() != known.tasks.len()
                    || self
                        .tasks
                        .iter()
                        .zip(known.tasks.iter())
                        .any(|(next, known)| task_is_news(known, next)))
    }
}

/// Whether `next` differs from `known` in more than what the node reported itself. `meta`
/// changes with every write and tells the node nothing; `monitor_passed` is the update
/// orchestrator's own bookkeeping.
fn task_is_news(known: &Task, next: &Task) -> bool {
    // Spelled out field by field so that a new field must be classified here to compile.
    let Task {
        id,
        meta: _,
        service_id,
        service_name,
        slot,
        node_id,
        spec,
        spec_version,
        desired_state,
        status,
        networks,
        endpoint_ports,
        monitor_passed: _,
    } = next;
    *id != known.id
        || *service_id != known.service_id
        || *service_name != known.service_name
        || *slot != known.slot
        || *node_id != known.node_id
        || *spec != known.spec
        || *spec_version != known.spec_version
        || *desired_state != known.desired_state
        || *networks != known.networks
        || *endpoint_ports != known.endpoint_ports
        || (status.state <= TaskState::Assigned && *status != known.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, state: TaskState) -> Task {
        let mut t = Task {
            id: id.into(),
            node_id: "n1".into(),
            desired_state: TaskState::Running,
            ..Default::default()
        };
        t.status.state = state;
        t
    }

    fn sent(tasks: Vec<Task>) -> Assignment {
        Assignment {
            session_id: "s".into(),
            node: Node::default(),
            tasks: tasks.into(),
            network: Arc::new(ViewLog::default()),
            managers: vec!["10.0.0.1:2377".into()],
            heartbeat_period: Duration::from_millis(500),
            data: Arc::new([]),
        }
    }

    /// `a` with its first task changed by `f`.
    fn with_task(a: &Assignment, f: impl FnOnce(&mut Task)) -> Assignment {
        let mut tasks = a.tasks.to_vec();
        f(&mut tasks[0]);
        Assignment {
            tasks: tasks.into(),
            ..a.clone()
        }
    }

    #[test]
    fn the_nodes_own_reports_are_no_news() {
        let known = sent(vec![task("a", TaskState::Assigned)]);
        for state in [
            TaskState::Accepted,
            TaskState::Running,
            TaskState::Failed,
            TaskState::Shutdown,
        ] {
            let next = with_task(&known, |t| {
                t.status.state = state;
                t.status.message = "reported".into();
                t.status.container_id = "c1".into();
                t.status.health = types::HealthState::Healthy;
                t.status.timestamp_ms = 42;
                t.meta.version = 7;
            });
            assert!(!next.is_news_after(&known), "{state:?} echoed");
        }
    }

    #[test]
    fn what_the_managers_change_is_news() {
        let known = sent(vec![task("a", TaskState::Running)]);
        type Change = fn(&Assignment) -> Assignment;
        let changes: [(&str, Change); 8] = [
            ("desired state", |a| {
                with_task(a, |t| t.desired_state = TaskState::Shutdown)
            }),
            ("spec", |a| {
                with_task(a, |t| t.spec.container.image = "nginx:2".into())
            }),
            ("a new task", |a| Assignment {
                tasks: [a.tasks[0].clone(), task("b", TaskState::Assigned)].into(),
                ..a.clone()
            }),
            ("a removed task", |a| Assignment {
                tasks: Arc::new([]),
                ..a.clone()
            }),
            ("the node", |a| {
                let mut a = a.clone();
                a.node.spec.labels.insert("k".into(), "v".into());
                a
            }),
            ("the network view", |a| Assignment {
                network: Arc::new(ViewLog::default()),
                ..a.clone()
            }),
            ("the managers", |a| Assignment {
                managers: vec![],
                ..a.clone()
            }),
            ("the heartbeat period", |a| Assignment {
                heartbeat_period: Duration::from_secs(1),
                ..a.clone()
            }),
        ];
        for (what, change) in changes {
            assert!(change(&known).is_news_after(&known), "{what} not pushed");
        }
    }

    #[test]
    fn a_status_the_scheduler_wrote_is_news() {
        let known = with_task(&sent(vec![task("a", TaskState::Assigned)]), |t| {
            t.status.err = "waiting".into()
        });
        let next = with_task(&known, |t| t.status.err = String::new());
        assert!(next.is_news_after(&known));
    }
}
