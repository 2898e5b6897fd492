//! Rolling updates: replacing out-of-date tasks batch by batch, watching the new ones, and
//! pausing or rolling back when too many fail.
//!
//! Everything is derived from the store: a slot is "in flight" while its old task is being
//! stopped or its new task has not yet run for the batch delay; failures are the tasks of the
//! current template created since `update_status.started_at_ms` that failed or were rejected
//! inside the monitor window, that is before they had run for `monitor` (as docker's
//! `--update-monitor` and SwarmKit's updater count them). A task that outlives its window is
//! marked `monitor_passed` in the store, so a later failure, or a new leader, does not count it.

use std::collections::BTreeSet;

use store::Tables;
use types::{
    FailureAction, Service, Task, TaskState, UpdateConfig, UpdateOrder, UpdateState, UpdateStatus,
};

use super::plan::{new_task, Working};
use super::slot::{is_outdated, status_since, SlotKey};
use crate::allocator::ports::allocate_published_ports;

/// One slot as the updater sees it, after duplicates were shut down.
#[derive(Debug, Clone)]
pub struct SlotTasks {
    pub key: SlotKey,
    /// The runnable task of an older template, if the slot still has one.
    pub outdated: Option<usize>,
    /// The runnable task of the current template, if any.
    pub current: Option<usize>,
    /// The slot's last task was stopped by a manager (stop-first) and the slot waits for it to
    /// stop or for its replacement to be created.
    pub refilling: bool,
}

/// The update settings in force: the rollback settings while rolling back.
fn config(service: &Service, rolling_back: bool) -> UpdateConfig {
    if rolling_back {
        // After a rollback the spec being rolled away from is `previous_spec`: its rollback
        // settings apply (`None` = the same as its update settings).
        let from = service.previous_spec.as_ref().unwrap_or(&service.spec);
        from.rollback.clone().unwrap_or_else(|| from.update.clone())
    } else {
        service.spec.update.clone()
    }
}

fn status(state: UpdateState, started_at_ms: i64, message: String) -> UpdateStatus {
    UpdateStatus {
        state,
        started_at_ms,
        completed_at_ms: 0,
        message,
    }
}

/// Runs one step of the service's rolling update on the working copy.
pub fn step(w: &mut Working, service: &Service, tables: &Tables, slots: &[SlotTasks], now_ms: i64) {
    let read = service.update_status.clone();
    let mut st = read.clone().unwrap_or_default();
    let mut candidates: Vec<&SlotTasks> = slots
        .iter()
        .filter(|s| s.outdated.is_some() && s.current.is_none())
        .collect();
    let in_progress = matches!(
        st.state,
        UpdateState::Updating | UpdateState::RollbackStarted
    );
    if !in_progress {
        if candidates.is_empty() {
            return;
        }
        // A paused update stays paused until the spec changes again; a task of the current
        // version exists only if the pause happened at this version.
        let paused = matches!(st.state, UpdateState::Paused | UpdateState::RollbackPaused);
        if paused
            && w.indices()
                .any(|i| w.task(i).spec_version >= service.spec_version)
        {
            return;
        }
        st = status(
            UpdateState::Updating,
            now_ms,
            "update in progress".to_string(),
        );
    }
    let rolling_back = st.state == UpdateState::RollbackStarted;
    let cfg = config(service, rolling_back);

    let updated = |t: &Task| !is_outdated(t, service) && t.meta.created_at_ms >= st.started_at_ms;
    let failed: Vec<&Task> = w
        .indices()
        .map(|i| w.task(i))
        .filter(|t| updated(t) && failed_in_window(t))
        .collect();
    let updated_slots: BTreeSet<SlotKey> = w
        .indices()
        .map(|i| w.task(i))
        .filter(|t| updated(t))
        .map(SlotKey::of)
        .collect();
    if let Some(first) = failed.first() {
        let ratio = failed.len() as f32 / updated_slots.len().max(1) as f32;
        if ratio > cfg.max_failure_ratio {
            let why = format!("due to failure or early termination of task {}", first.id);
            match (cfg.failure_action, rolling_back) {
                (FailureAction::Continue, _) => {}
                (FailureAction::Rollback, false) if service.previous_spec.is_some() => {
                    w.service = Some(roll_back(service, tables, &why, now_ms));
                    return;
                }
                _ => {
                    let (state, what) = if rolling_back {
                        (UpdateState::RollbackPaused, "rollback paused")
                    } else {
                        (UpdateState::Paused, "update paused")
                    };
                    st.state = state;
                    st.message = format!("{what} {why}");
                    st.completed_at_ms = now_ms;
                    write_status(w, service, read, st);
                    return;
                }
            }
        }
    }

    let settled = |t: &Task, hold_ms: u64| {
        t.status.state == TaskState::Running
            && now_ms >= status_since(t).saturating_add(hold_ms as i64)
    };
    let mut in_flight = 0usize;
    let mut watching = false;
    let mut wake: Vec<i64> = Vec::new();
    for s in slots {
        let fresh = s.current.filter(|&i| updated(w.task(i)));
        if let Some(i) = fresh.filter(|&i| settled(w.task(i), cfg.monitor_ms)) {
            w.pass_monitor(i);
        }
        let fresh = fresh.map(|i| w.task(i));
        if s.refilling || fresh.is_some_and(|t| !settled(t, cfg.delay_ms)) {
            in_flight += 1;
        }
        if let Some(t) = fresh {
            for hold in [cfg.delay_ms, cfg.monitor_ms] {
                if t.status.state == TaskState::Running && !settled(t, hold) {
                    wake.push(status_since(t).saturating_add(hold as i64));
                    watching |= hold == cfg.monitor_ms;
                }
            }
            watching |= t.status.state != TaskState::Running;
        }
    }
    for at in wake {
        w.requeue_at(at);
    }

    let parallelism = match cfg.parallelism {
        0 => usize::MAX,
        p => p as usize,
    };
    let room = parallelism.saturating_sub(in_flight);
    // Tasks that are not running yet are replaced first: it costs no running capacity.
    candidates.sort_by_key(|s| {
        let t = w.task(s.outdated.expect("candidates have an outdated task"));
        (t.status.state == TaskState::Running, s.key.clone())
    });
    let done = candidates.is_empty() && in_flight == 0 && !watching;
    let batch: Vec<SlotTasks> = candidates.into_iter().take(room).cloned().collect();
    for s in batch {
        match cfg.order {
            UpdateOrder::StopFirst => {
                let old = s.outdated.expect("candidates have an outdated task");
                w.set_desired(old, TaskState::Shutdown);
            }
            UpdateOrder::StartFirst => {
                w.add(new_task(service, &s.key, now_ms));
            }
        }
    }
    if done {
        let (state, message) = if rolling_back {
            (UpdateState::RollbackCompleted, "rollback completed")
        } else {
            (UpdateState::Completed, "update completed")
        };
        st.state = state;
        st.message = message.to_string();
        st.completed_at_ms = now_ms;
    }
    write_status(w, service, read, st);
}

/// A failure the update answers for: the task failed or was rejected before it had run for
/// the monitor period (never having run at all included).
fn failed_in_window(t: &Task) -> bool {
    matches!(t.status.state, TaskState::Failed | TaskState::Rejected) && !t.monitor_passed
}

fn write_status(w: &mut Working, service: &Service, read: Option<UpdateStatus>, st: UpdateStatus) {
    if read.as_ref() != Some(&st) {
        let mut s = w.service.take().unwrap_or_else(|| service.clone());
        s.update_status = Some(st);
        w.service = Some(s);
    }
}

/// failure_action=rollback: the previous spec becomes the spec (with its ports allocated
/// again, as the control API would) and the update rolls to it under a new version. If its
/// ports can no longer be had, the update pauses instead.
fn roll_back(service: &Service, tables: &Tables, why: &str, now_ms: i64) -> Service {
    let mut s = service.clone();
    let previous = s.previous_spec.take().expect("checked by the caller");
    match allocate_published_ports(tables, &s.id, &previous.endpoint.ports) {
        Ok(ports) => {
            s.previous_spec = Some(std::mem::replace(&mut s.spec, previous));
            s.endpoint_ports = ports;
            s.spec_version += 1;
            s.update_status = Some(status(
                UpdateState::RollbackStarted,
                now_ms,
                format!("update rolled back {why}"),
            ));
        }
        Err(e) => {
            s.previous_spec = Some(previous);
            let mut st = status(
                UpdateState::Paused,
                service
                    .update_status
                    .as_ref()
                    .map_or(now_ms, |u| u.started_at_ms),
                format!("update paused {why}; cannot roll back: {e}"),
            );
            st.completed_at_ms = now_ms;
            s.update_status = Some(st);
        }
    }
    s
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
