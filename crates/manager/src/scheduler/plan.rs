//! The scheduler's decision for one tick, as a pure function of a snapshot: every pending task
//! is either assigned a node or explained as unschedulable.
//!
//! Tasks are decided together (batched): each placement is accounted in the in-memory
//! [`NodeInfo`] before the next, so three replicas land on three nodes and reservations never
//! oversubscribe a node even though nothing is written until the whole plan is made.

use std::collections::{BTreeMap, HashMap};

use store::Tables;
use types::constraint::SpreadPreference;
use types::{Node, PortConfig, Task, TaskState};

use super::filter::Pipeline;
use super::nodeinfo::{occupies_node, NodeInfo};
use super::spread::SpreadTree;

/// `status.message` of a task the scheduler could not place, as docker shows it.
pub const PENDING_MESSAGE: &str = "pending task scheduling";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Move the task to `Assigned` on this node.
    Assign { task_id: String, node_id: String },
    /// Leave the task `Pending` with this explanation in `status.err`. Only emitted when the
    /// explanation differs from what the task already shows, so a stable cluster sees no writes.
    Unschedulable { task_id: String, err: String },
}

impl Decision {
    pub fn task_id(&self) -> &str {
        match self {
            Decision::Assign { task_id, .. } | Decision::Unschedulable { task_id, .. } => task_id,
        }
    }
}

/// Decides every pending task of the snapshot.
pub fn plan(tables: &Tables) -> Vec<Decision> {
    schedule(tables.nodes.values(), tables.tasks.values())
}

/// Decides every pending task among `tasks` over `nodes`. Tasks already on nodes count against
/// those nodes; other tasks are ignored.
pub fn schedule<'a>(
    nodes: impl IntoIterator<Item = &'a Node>,
    tasks: impl IntoIterator<Item = &'a Task>,
) -> Vec<Decision> {
    let mut nodes: Vec<&Node> = nodes.into_iter().collect();
    // Index order is ID order: spread's last tie-break, and what makes plans reproducible.
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut infos: Vec<NodeInfo> = nodes.iter().map(|n| NodeInfo::new(n)).collect();

    let mut pinned: Vec<&Task> = Vec::new();
    // Tasks sharing service, spec version and ports are stamped from the same template, so
    // filters and the spread tree are prepared once per group rather than once per task.
    let mut groups: BTreeMap<(&str, u64, &[PortConfig]), Vec<&Task>> = BTreeMap::new();
    for task in tasks {
        if occupies_node(task) {
            if let Some(&i) = index.get(task.node_id.as_str()) {
                infos[i].add_task(task);
            }
        } else if task.status.state == TaskState::Pending
            && task.desired_state <= TaskState::Running
        {
            if task.node_id.is_empty() {
                let key = (
                    task.service_id.as_str(),
                    task.spec_version,
                    task.endpoint_ports.as_slice(),
                );
                groups.entry(key).or_default().push(task);
            } else {
                pinned.push(task);
            }
        }
    }

    let mut decisions = Vec::new();
    // Global tasks first: they have one possible node, replicated ones can go elsewhere.
    pinned.sort_by(|a, b| a.id.cmp(&b.id));
    for task in pinned {
        decisions.extend(schedule_pinned(&mut infos, &index, task));
    }
    for mut group in groups.into_values() {
        group.sort_by(|a, b| (a.slot, &a.id).cmp(&(b.slot, &b.id)));
        // Same version should mean same spec; split anyway so a mismatch cannot misplace.
        while let Some(&first) = group.first() {
            let (same, rest): (Vec<&Task>, Vec<&Task>) =
                group.into_iter().partition(|t| t.spec == first.spec);
            schedule_group(&mut infos, &same, &mut decisions);
            group = rest;
        }
    }
    decisions
}

/// A global task: its node is fixed, so the only question is whether that node takes it.
fn schedule_pinned<'a>(
    infos: &mut [NodeInfo<'a>],
    index: &HashMap<&str, usize>,
    task: &'a Task,
) -> Option<Decision> {
    let Some(&i) = index.get(task.node_id.as_str()) else {
        let err = format!(
            "no suitable node (node {} is not in the cluster)",
            task.node_id
        );
        return unschedulable(task, err);
    };
    let pipeline = Pipeline::for_task(task);
    if pipeline.check(&infos[i], task) {
        infos[i].add_task(task);
        Some(Decision::Assign {
            task_id: task.id.clone(),
            node_id: task.node_id.clone(),
        })
    } else {
        unschedulable(task, pipeline.explain(std::iter::once(&infos[i]), task))
    }
}

/// Identical replicated tasks: filter every node once, then spread the tasks over the nodes
/// that pass, re-checking only the node each task lands on.
fn schedule_group<'a>(infos: &mut [NodeInfo<'a>], group: &[&'a Task], out: &mut Vec<Decision>) {
    let Some(&first) = group.first() else {
        return;
    };
    let pipeline = Pipeline::for_task(first);
    // Validation rejects bad preferences; one stored before that spreads over nodes only.
    let preferences =
        SpreadPreference::parse_all(&first.spec.placement.preferences).unwrap_or_default();
    let candidates: Vec<usize> = (0..infos.len())
        .filter(|&i| pipeline.check(&infos[i], first))
        .collect();
    let mut tree = SpreadTree::new(infos, &candidates, &preferences, first);
    let mut unplaced = Vec::new();
    for &task in group {
        match tree.place(infos, &pipeline, task) {
            Some(i) => out.push(Decision::Assign {
                task_id: task.id.clone(),
                node_id: infos[i].node.id.clone(),
            }),
            None => unplaced.push(task),
        }
    }
    if !unplaced.is_empty() {
        // Explained against the nodes as the placed tasks left them: that is why these failed.
        let err = pipeline.explain(infos.iter(), first);
        out.extend(
            unplaced
                .into_iter()
                .filter_map(|task| unschedulable(task, err.clone())),
        );
    }
}

fn unschedulable(task: &Task, err: String) -> Option<Decision> {
    let unchanged = task.status.err == err && task.status.message == PENDING_MESSAGE;
    (!unchanged).then(|| Decision::Unschedulable {
        task_id: task.id.clone(),
        err,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
