//! Global services: one task on every eligible node.
//!
//! A node is eligible for a new task when it is Ready, not drained and satisfies the service's
//! constraints. Tasks leave nodes that are down, drained, removed or no longer satisfy the
//! constraints; nodes that are merely unknown or disconnected keep theirs (the dispatcher marks
//! them down if they do not come back).

use std::collections::BTreeSet;

use store::Tables;
use types::constraint::Constraint;
use types::{Node, NodeAvailability, NodeState, Service, TaskState};

use super::orphan;
use super::plan::{new_task, Working};
use super::restart;
use super::slot::{is_runnable, phases, settle_duplicates, Phase, SlotKey};
use super::update::{self, SlotTasks};

fn satisfies(service: &Service, node: &Node) -> bool {
    Constraint::exprs_admit(&service.spec.task.placement.constraints, node)
}

fn may_start_on(service: &Service, node: &Node) -> bool {
    node.status.state == NodeState::Ready
        && node.spec.availability != NodeAvailability::Drain
        && satisfies(service, node)
}

fn must_leave(service: &Service, node: Option<&Node>) -> Option<TaskState> {
    match node {
        None => Some(TaskState::Remove),
        Some(n)
            if n.status.state == NodeState::Down
                || n.spec.availability == NodeAvailability::Drain
                || !satisfies(service, n) =>
        {
            Some(TaskState::Shutdown)
        }
        Some(_) => None,
    }
}

/// One reconcile pass over a global service.
pub fn reconcile(tables: &Tables, service: &Service, now_ms: i64) -> Working {
    let mut w = Working::of_service(tables, &service.id);
    orphan::mark(&mut w, tables, now_ms);
    restart::shut_down_ended(&mut w);
    for i in w.indices() {
        let t = w.task(i);
        let leave = if t.slot > 0 || t.node_id.is_empty() {
            // Not a global task (the mode cannot change, but a spec written around the control
            // API must not leave tasks behind).
            Some(TaskState::Remove)
        } else if !tables.nodes.contains_key(&t.node_id) {
            // The node was removed: its whole slot, history included, goes.
            Some(TaskState::Remove)
        } else if is_runnable(t) {
            must_leave(service, tables.nodes.get(&t.node_id))
        } else {
            None
        };
        if let Some(state) = leave {
            w.set_desired(i, state);
        }
    }

    let eligible: BTreeSet<SlotKey> = tables
        .nodes
        .values()
        .filter(|n| may_start_on(service, n))
        .map(|n| SlotKey::Node(n.id.clone()))
        .collect();
    let mut slots: Vec<SlotTasks> = Vec::new();
    for (key, (idx, _)) in phases(&w, service, tables, now_ms) {
        if let SlotKey::Node(_) = key {
            slots.push(settle_duplicates(&mut w, service, &key, &idx));
        }
    }
    let settled = phases(&w, service, tables, now_ms);
    slots.retain(|s| eligible.contains(&s.key));
    for s in &mut slots {
        s.refilling = settled
            .get(&s.key)
            .is_some_and(|(_, p)| matches!(p, Phase::Stopping | Phase::Stopped));
    }
    update::step(&mut w, service, tables, &slots, now_ms);
    restart::refill(&mut w, service, tables, |k| eligible.contains(k), now_ms);

    // Nodes whose slot is vacant (new nodes, or nodes that came back) get their task.
    let occupied: BTreeSet<SlotKey> = phases(&w, service, tables, now_ms)
        .into_iter()
        .filter(|(_, (_, p))| p.is_occupied())
        .map(|(k, _)| k)
        .collect();
    for key in eligible.difference(&occupied) {
        w.add(new_task(service, key, now_ms));
    }
    w
}
