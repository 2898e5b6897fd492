//! The restart policy: whether, and when, a slot whose task ended gets a new one.
//!
//! Attempts are counted from the slot's history in the store (tasks of the same spec version
//! that ended on their own inside the window), so a new leader counts what the old one did. The
//! delay runs from the moment the task ended, so a leader change does not restart the clock.

use store::Tables;
use types::{RestartCondition, RestartPolicy, Service, Task, TaskState};

use super::plan::{new_task, Working};
use super::slot::{ended_on_its_own, phases, status_since, Phase, SlotKey};

/// A task that ended while wanted running is shut down; its slot's phase then says whether and
/// when it is replaced.
pub fn shut_down_ended(w: &mut Working) {
    for i in w.indices() {
        let t = w.task(i);
        if t.desired_state <= TaskState::Running && t.status.state.is_terminal() {
            w.set_desired(i, TaskState::Shutdown);
        }
    }
}

/// Creates a task in every slot accepted by `wanted` whose phase asks for one now (restart
/// delay over, or the old task stopped), and asks to be woken when a delay runs out.
pub fn refill(
    w: &mut Working,
    service: &Service,
    tables: &Tables,
    wanted: impl Fn(&SlotKey) -> bool,
    now_ms: i64,
) {
    for (key, (_, phase)) in phases(w, service, tables, now_ms) {
        if !wanted(&key) {
            continue;
        }
        if phase.wants_task(now_ms) {
            if matches!(phase, Phase::RestartAt(_)) {
                w.restarts += 1;
            }
            w.add(new_task(service, &key, now_ms));
        } else if let Phase::RestartAt(at) = phase {
            w.requeue_at(at);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// Create the replacement at this time (unix ms); it may already have passed.
    At(i64),
    /// The policy gives up on the slot.
    Never,
}

/// Decides for `latest`, the last task of a slot, which ended on its own. `history` is every
/// task of the slot, `latest` included.
pub fn decide(
    policy: &RestartPolicy,
    history: &[&Task],
    latest: &Task,
    now_ms: i64,
) -> RestartDecision {
    match policy.condition {
        RestartCondition::None => return RestartDecision::Never,
        RestartCondition::OnFailure if latest.status.state == TaskState::Complete => {
            return RestartDecision::Never
        }
        _ => {}
    }
    if policy.max_attempts > 0 {
        let window_start = if policy.window_ms > 0 {
            now_ms.saturating_sub(policy.window_ms as i64)
        } else {
            i64::MIN
        };
        let ended = history
            .iter()
            .filter(|t| counts_as_attempt(t, latest.spec_version, window_start))
            .count() as u64;
        // The first run is not a restart: `ended` runs have used `ended - 1` restarts.
        if ended > policy.max_attempts {
            return RestartDecision::Never;
        }
    }
    RestartDecision::At(status_since(latest).saturating_add(policy.delay_ms as i64))
}

/// A past run that used up one of the policy's attempts. A new spec version starts afresh.
pub fn counts_as_attempt(t: &Task, spec_version: u64, window_start_ms: i64) -> bool {
    ended_on_its_own(t) && t.spec_version == spec_version && status_since(t) >= window_start_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(state: TaskState, at: i64) -> Task {
        let mut t = Task::default();
        t.status.state = state;
        t.status.timestamp_ms = at;
        t.desired_state = TaskState::Shutdown;
        t
    }

    fn policy(condition: RestartCondition, max_attempts: u64, window_ms: u64) -> RestartPolicy {
        RestartPolicy {
            condition,
            delay_ms: 100,
            max_attempts,
            window_ms,
        }
    }

    #[test]
    fn condition_decides_which_endings_restart() {
        let failed = ended(TaskState::Failed, 1_000);
        let done = ended(TaskState::Complete, 1_000);
        let any = policy(RestartCondition::Any, 0, 0);
        let on_failure = policy(RestartCondition::OnFailure, 0, 0);
        let none = policy(RestartCondition::None, 0, 0);
        assert_eq!(
            decide(&any, &[&done], &done, 1_000),
            RestartDecision::At(1_100)
        );
        assert_eq!(
            decide(&on_failure, &[&failed], &failed, 1_000),
            RestartDecision::At(1_100)
        );
        assert_eq!(
            decide(&on_failure, &[&done], &done, 1_000),
            RestartDecision::Never
        );
        assert_eq!(
            decide(&none, &[&failed], &failed, 1_000),
            RestartDecision::Never
        );
    }

    #[test]
    fn max_attempts_counts_restarts_not_runs() {
        let p = policy(RestartCondition::Any, 2, 0);
        let runs: Vec<Task> = (0..4)
            .map(|i| ended(TaskState::Failed, 1_000 + i))
            .collect();
        let refs: Vec<&Task> = runs.iter().collect();
        // First run + 2 restarts are allowed: after 1 and 2 failures, restart; after 3, give up.
        assert!(matches!(
            decide(&p, &refs[..1], refs[0], 2_000),
            RestartDecision::At(_)
        ));
        assert!(matches!(
            decide(&p, &refs[..2], refs[1], 2_000),
            RestartDecision::At(_)
        ));
        assert_eq!(
            decide(&p, &refs[..3], refs[2], 2_000),
            RestartDecision::Never
        );
    }

    #[test]
    fn window_forgets_old_attempts_and_new_versions_start_afresh() {
        let p = policy(RestartCondition::Any, 1, 1_000);
        let old = ended(TaskState::Failed, 1_000);
        let recent = ended(TaskState::Failed, 5_000);
        assert!(matches!(
            decide(&p, &[&old, &recent], &recent, 5_100),
            RestartDecision::At(5_100)
        ));
        let mut inside = ended(TaskState::Failed, 4_500);
        assert_eq!(
            decide(&p, &[&inside, &recent], &recent, 5_100),
            RestartDecision::Never
        );
        inside.spec_version = 7;
        assert!(matches!(
            decide(&p, &[&inside, &recent], &recent, 5_100),
            RestartDecision::At(_)
        ));
    }
}
