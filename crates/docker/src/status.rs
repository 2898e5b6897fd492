//! Container → task facts: what `docker inspect` says, in the agent's terms.

use agent::executor::{ContainerRun, ContainerStatus};
use bollard::models::{
    ContainerInspectResponse, ContainerState, ContainerStateStatusEnum, HealthStatusEnum,
};
use types::HealthState;

use crate::labels;

/// `None` for a container without our task label (not one of ours).
pub fn container_status(inspect: &ContainerInspectResponse) -> Option<ContainerStatus> {
    let task_id = inspect
        .config
        .as_ref()
        .and_then(|config| config.labels.as_ref())
        .and_then(|labels| labels.get(labels::TASK_ID))?
        .clone();
    let default_state = ContainerState::default();
    let state = inspect.state.as_ref().unwrap_or(&default_state);
    let exit_code = state.exit_code.unwrap_or(0);
    let docker_error = state.error.clone().unwrap_or_default();
    let run = match state.status {
        // A start that failed leaves the container "created" with an exit code and an error:
        // it did try to run, and will not by itself.
        Some(ContainerStateStatusEnum::CREATED) if !docker_error.is_empty() => {
            ContainerRun::Exited(exit_code)
        }
        Some(ContainerStateStatusEnum::CREATED) => ContainerRun::Created,
        Some(
            ContainerStateStatusEnum::RUNNING
            | ContainerStateStatusEnum::PAUSED
            | ContainerStateStatusEnum::RESTARTING
            // Still running until the stop completes (newer engines report this).
            | ContainerStateStatusEnum::STOPPING,
        ) => ContainerRun::Running,
        Some(
            ContainerStateStatusEnum::EXITED
            | ContainerStateStatusEnum::DEAD
            | ContainerStateStatusEnum::REMOVING,
        ) => ContainerRun::Exited(exit_code),
        Some(ContainerStateStatusEnum::EMPTY) | None if state.running == Some(true) => {
            ContainerRun::Running
        }
        Some(ContainerStateStatusEnum::EMPTY) | None => ContainerRun::Exited(exit_code),
    };
    let error = match (state.oom_killed == Some(true), docker_error.is_empty()) {
        (true, true) => "OOM killed".to_string(),
        (true, false) => format!("OOM killed: {docker_error}"),
        (false, _) => docker_error,
    };
    Some(ContainerStatus {
        task_id,
        container_id: inspect.id.clone().unwrap_or_default(),
        run,
        health: health_state(state),
        pid: state
            .pid
            .and_then(|pid| u32::try_from(pid).ok())
            .unwrap_or(0),
        error,
    })
}

fn health_state(state: &ContainerState) -> HealthState {
    match state.health.as_ref().and_then(|health| health.status) {
        Some(HealthStatusEnum::STARTING) => HealthState::Starting,
        Some(HealthStatusEnum::HEALTHY) => HealthState::Healthy,
        Some(HealthStatusEnum::UNHEALTHY) => HealthState::Unhealthy,
        Some(HealthStatusEnum::NONE | HealthStatusEnum::EMPTY) | None => HealthState::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, Health};
    use std::collections::HashMap;

    fn inspect(state: ContainerState) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("c0ffee".into()),
            state: Some(state),
            config: Some(ContainerConfig {
                labels: Some(HashMap::from([(labels::TASK_ID.into(), "t1".into())])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn running_container_reports_pid_and_health() {
        let status = container_status(&inspect(ContainerState {
            status: Some(ContainerStateStatusEnum::RUNNING),
            running: Some(true),
            pid: Some(4242),
            health: Some(Health {
                status: Some(HealthStatusEnum::UNHEALTHY),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(status.task_id, "t1");
        assert_eq!(status.container_id, "c0ffee");
        assert_eq!(status.run, ContainerRun::Running);
        assert_eq!(status.pid, 4242);
        assert_eq!(status.health, HealthState::Unhealthy);
        assert_eq!(status.error, "");
    }

    #[test]
    fn exited_container_reports_code_and_oom() {
        let status = container_status(&inspect(ContainerState {
            status: Some(ContainerStateStatusEnum::EXITED),
            exit_code: Some(137),
            oom_killed: Some(true),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(status.run, ContainerRun::Exited(137));
        assert_eq!(status.error, "OOM killed");
        assert_eq!(status.health, HealthState::None);
    }

    #[test]
    fn failed_start_is_an_exit_with_dockers_error() {
        let created = ContainerState {
            status: Some(ContainerStateStatusEnum::CREATED),
            ..Default::default()
        };
        assert_eq!(
            container_status(&inspect(created.clone())).unwrap().run,
            ContainerRun::Created
        );
        let failed = container_status(&inspect(ContainerState {
            exit_code: Some(127),
            error: Some("exec: \"nope\": executable file not found".into()),
            ..created
        }))
        .unwrap();
        assert_eq!(failed.run, ContainerRun::Exited(127));
        assert!(failed.error.contains("executable file not found"));
    }

    #[test]
    fn containers_without_our_label_are_not_tasks() {
        let mut foreign = inspect(ContainerState::default());
        foreign.config = Some(ContainerConfig::default());
        assert_eq!(container_status(&foreign), None);
    }
}
