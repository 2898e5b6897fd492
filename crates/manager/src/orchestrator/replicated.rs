//! Replicated services: keep exactly N occupied slots, each with one runnable task.
//!
//! A pass runs its stages in this order, each on the result of the previous one: tasks of
//! nodes down past the grace are orphaned; tasks that ended are shut down; extra slots are
//! removed; tasks on lost nodes are replaced; duplicates are settled; the rolling update
//! advances; emptied slots are refilled (restart policy, stopped tasks); missing slots are
//! created.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use store::Tables;
use types::{Service, TaskState};

use super::orphan;
use super::plan::{new_task, Working};
use super::restart;
use super::slot::{
    is_runnable, node_fitness, phases, settle_duplicates, NodeFitness, Phase, SlotKey,
};
use super::update::{self, SlotTasks};

/// One reconcile pass over a replicated service.
pub fn reconcile(tables: &Tables, service: &Service, now_ms: i64) -> Working {
    let replicas = service.spec.replicas().unwrap_or(0);
    let mut w = Working::of_service(tables, &service.id);
    orphan::mark(&mut w, tables, now_ms);
    restart::shut_down_ended(&mut w);
    remove_foreign(&mut w);
    scale_down(&mut w, service, tables, replicas, now_ms);
    replace_on_lost_nodes(&mut w, service, tables, now_ms);

    let mut slots: Vec<SlotTasks> = Vec::new();
    for (key, (idx, _)) in phases(&w, service, tables, now_ms) {
        slots.push(settle_duplicates(&mut w, service, &key, &idx));
    }
    let settled = phases(&w, service, tables, now_ms);
    for s in &mut slots {
        s.refilling = settled
            .get(&s.key)
            .is_some_and(|(_, p)| matches!(p, Phase::Stopping | Phase::Stopped));
    }
    update::step(&mut w, service, tables, &slots, now_ms);
    restart::refill(&mut w, service, tables, |_| true, now_ms);
    scale_up(&mut w, service, tables, replicas, now_ms);
    w
}

/// Tasks without a replica number belong to no slot of a replicated service.
fn remove_foreign(w: &mut Working) {
    for i in w.indices() {
        if w.task(i).slot == 0 {
            w.set_desired(i, TaskState::Remove);
        }
    }
}

/// Removes occupied slots beyond `replicas`: first those that do not run (finished, restarting,
/// pending, on a lost node), then those on the nodes running most of the service, then the
/// highest slot numbers.
fn scale_down(w: &mut Working, service: &Service, tables: &Tables, replicas: u64, now_ms: i64) {
    let occupied: Vec<(SlotKey, Vec<usize>)> = phases(w, service, tables, now_ms)
        .into_iter()
        .filter(|(_, (_, p))| p.is_occupied())
        .map(|(k, (idx, _))| (k, idx))
        .collect();
    let excess = occupied.len().saturating_sub(replicas as usize);
    if excess == 0 {
        return;
    }
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    for i in w.indices() {
        let t = w.task(i);
        if is_runnable(t) && !t.node_id.is_empty() {
            *load.entry(t.node_id.as_str()).or_default() += 1;
        }
    }
    // Sorted ascending, the first slots are the ones to remove.
    type Rank<'a> = (bool, Reverse<usize>, Reverse<SlotKey>, &'a Vec<usize>);
    let mut ranked: Vec<Rank> = occupied
        .iter()
        .map(|(key, idx)| {
            let running = idx.iter().map(|&i| w.task(i)).find(|t| {
                is_runnable(t)
                    && t.status.state == TaskState::Running
                    && node_fitness(tables, &t.node_id) == NodeFitness::Usable
            });
            let node_load =
                running.map_or(0, |t| load.get(t.node_id.as_str()).copied().unwrap_or(0));
            (
                running.is_some(),
                Reverse(node_load),
                Reverse(key.clone()),
                idx,
            )
        })
        .collect();
    ranked.sort();
    let victims: Vec<usize> = ranked
        .into_iter()
        .take(excess)
        .flat_map(|(_, _, _, idx)| idx.iter().copied())
        .collect();
    for i in victims {
        w.set_desired(i, TaskState::Remove);
    }
}

/// A runnable task whose node is down, drained or removed is shut down and its slot gets a
/// replacement in the same write (unless a start-first twin still runs there).
fn replace_on_lost_nodes(w: &mut Working, service: &Service, tables: &Tables, now_ms: i64) {
    let mut emptied: BTreeSet<SlotKey> = BTreeSet::new();
    for i in w.indices() {
        let t = w.task(i);
        if is_runnable(t)
            && !t.node_id.is_empty()
            && node_fitness(tables, &t.node_id) != NodeFitness::Usable
        {
            emptied.insert(SlotKey::of(t));
            w.set_desired(i, TaskState::Shutdown);
        }
    }
    for (key, idx) in w.slots() {
        if emptied.contains(&key) && !idx.iter().any(|&i| is_runnable(w.task(i))) {
            w.add(new_task(service, &key, now_ms));
        }
    }
}

/// Creates tasks in the lowest free slot numbers until `replicas` slots are occupied.
fn scale_up(w: &mut Working, service: &Service, tables: &Tables, replicas: u64, now_ms: i64) {
    let occupied: BTreeSet<u64> = phases(w, service, tables, now_ms)
        .into_iter()
        .filter(|(_, (_, p))| p.is_occupied())
        .filter_map(|(k, _)| match k {
            SlotKey::Replica(n) => Some(n),
            SlotKey::Node(_) => None,
        })
        .collect();
    let missing = (replicas as usize).saturating_sub(occupied.len());
    let free = (1..).filter(|n| !occupied.contains(n)).take(missing);
    for n in free.collect::<Vec<u64>>() {
        w.add(new_task(service, &SlotKey::Replica(n), now_ms));
    }
}
