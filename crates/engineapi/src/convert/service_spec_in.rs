//! Docker's `ServiceSpec` → ours, for `service create/update/scale` and `stack deploy`. Every
//! model is taken apart field by field (a field bollard adds is a compile error here, not a
//! silent drop). Absent fields take Docker's defaults, as swarmkit fills them; checks that do
//! not depend on docker's shape (names, images, ranges) are the control API's.

use api::objects as pb;
use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum as Protocol,
    EndpointPortConfigPublishModeEnum as PublishMode, EndpointSpec,
    EndpointSpecModeEnum as EndpointMode, ServiceSpec, ServiceSpecMode, ServiceSpecUpdateConfig,
    ServiceSpecUpdateConfigFailureActionEnum as FailureAction,
    ServiceSpecUpdateConfigOrderEnum as Order,
};
use pb::service_spec::Mode;

use super::task_spec_in::{networks, task_spec};
use super::{millis_of, recast, unsupported};
use crate::error::EngineError;

/// swarmkit's monitor period when none is given; moby sends none for a zero `Monitor`.
pub const DEFAULT_MONITOR_MS: u64 = 5_000;
/// How our placement preferences are written: `spread=<descriptor>`.
pub const SPREAD: &str = "spread=";

pub fn service_spec(spec: ServiceSpec) -> Result<pb::ServiceSpec, EngineError> {
    let ServiceSpec {
        name,
        labels,
        task_template,
        mode,
        update_config,
        rollback_config,
        networks: deprecated_networks,
        endpoint_spec,
    } = spec;
    let mut task = task_spec(task_template.unwrap_or_default())?;
    // Clients before API 1.25 put the networks here; they mean the same as the template's.
    if let Some(old) = deprecated_networks.filter(|n| !n.is_empty()) {
        if !task.networks.is_empty() {
            return Err(EngineError::bad_request(
                "Networks: both the deprecated Networks and TaskTemplate.Networks are set; \
                 give the networks in TaskTemplate.Networks only",
            ));
        }
        task.networks = networks("Networks", old)?;
    }
    let rollback = match rollback_config {
        Some(r) => Some(rollout(
            "RollbackConfig",
            recast(&r).map_err(|e| EngineError::bad_request(format!("RollbackConfig: {e}")))?,
        )?),
        None => None,
    };
    Ok(pb::ServiceSpec {
        name: name.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        task: Some(task),
        mode: Some(mode_of(mode.unwrap_or_default())?),
        update: update_config
            .map(|u| rollout("UpdateConfig", u))
            .transpose()?,
        rollback,
        endpoint: Some(endpoint(endpoint_spec.unwrap_or_default())?),
    })
}

/// A non-negative count; `path` names it when it is not.
pub fn count(path: &str, value: Option<i64>, fix: &str) -> Result<u64, EngineError> {
    let value = value.unwrap_or(0);
    u64::try_from(value)
        .map_err(|_| EngineError::bad_request(format!("{path}: {value} is negative; {fix}")))
}

fn mode_of(mode: ServiceSpecMode) -> Result<Mode, EngineError> {
    let ServiceSpecMode {
        replicated,
        global,
        replicated_job,
        global_job,
    } = mode;
    if replicated_job.is_some() {
        return Err(unsupported("Mode.ReplicatedJob"));
    }
    if global_job.is_some() {
        return Err(unsupported("Mode.GlobalJob"));
    }
    match (replicated, global) {
        (Some(_), Some(_)) => Err(EngineError::bad_request(
            "Mode: both Replicated and Global are set; choose one",
        )),
        (None, Some(_)) => Ok(Mode::Global(true)),
        // moby's default: one replica when the mode or the count is missing.
        (replicated, None) => {
            let replicas = replicated.and_then(|r| r.replicas).or(Some(1));
            let fix = "give 0 or more replicas";
            count("Mode.Replicated.Replicas", replicas, fix).map(Mode::Replicas)
        }
    }
}

fn rollout(path: &str, u: ServiceSpecUpdateConfig) -> Result<pb::UpdateConfig, EngineError> {
    let ServiceSpecUpdateConfig {
        parallelism,
        delay,
        failure_action,
        monitor,
        max_failure_ratio,
        order,
    } = u;
    let failure_action = match failure_action.unwrap_or(FailureAction::EMPTY) {
        FailureAction::EMPTY | FailureAction::PAUSE => pb::FailureAction::Pause,
        FailureAction::CONTINUE => pb::FailureAction::Continue,
        FailureAction::ROLLBACK => pb::FailureAction::Rollback,
    };
    let order = match order.unwrap_or(Order::EMPTY) {
        Order::EMPTY | Order::STOP_FIRST => pb::UpdateOrder::StopFirst,
        Order::START_FIRST => pb::UpdateOrder::StartFirst,
    };
    Ok(pb::UpdateConfig {
        parallelism: count(
            &format!("{path}.Parallelism"),
            parallelism,
            "give 0 (all at once) or more",
        )?,
        delay_ms: millis_of(&format!("{path}.Delay"), delay)?.unwrap_or(0),
        failure_action: failure_action as i32,
        monitor_ms: millis_of(&format!("{path}.Monitor"), monitor)?
            .filter(|&ms| ms > 0)
            .unwrap_or(DEFAULT_MONITOR_MS),
        // A fraction from 0 to 1 (the control API checks the range); f32 holds it closely
        // enough, and the same f32 comes back from what `service inspect` shows.
        max_failure_ratio: max_failure_ratio.unwrap_or(0.0) as f32,
        order: order as i32,
    })
}

fn endpoint(e: EndpointSpec) -> Result<pb::EndpointSpec, EngineError> {
    let EndpointSpec { mode, ports } = e;
    let mode = match mode.unwrap_or(EndpointMode::EMPTY) {
        EndpointMode::EMPTY | EndpointMode::VIP => pb::EndpointMode::Vip,
        EndpointMode::DNSRR => pb::EndpointMode::Dnsrr,
    };
    let ports = ports
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, p)| port(&format!("EndpointSpec.Ports[{i}]"), p))
        .collect::<Result<_, _>>()?;
    Ok(pb::EndpointSpec {
        ports,
        mode: mode as i32,
    })
}

fn port(at: &str, p: EndpointPortConfig) -> Result<pb::PortConfig, EngineError> {
    let EndpointPortConfig {
        name,
        protocol,
        target_port,
        published_port,
        publish_mode,
    } = p;
    super::zero_only(&format!("{at}.Name"), &name)?;
    let protocol = match protocol.unwrap_or(Protocol::EMPTY) {
        Protocol::EMPTY | Protocol::TCP => pb::PortProtocol::Tcp,
        Protocol::UDP => pb::PortProtocol::Udp,
        Protocol::SCTP => return Err(unsupported(&format!("{at}.Protocol sctp"))),
    };
    let publish_mode = match publish_mode.unwrap_or(PublishMode::EMPTY) {
        PublishMode::EMPTY | PublishMode::INGRESS => pb::PublishMode::Ingress,
        PublishMode::HOST => pb::PublishMode::Host,
    };
    Ok(pb::PortConfig {
        protocol: protocol as i32,
        target_port: port_number(&format!("{at}.TargetPort"), target_port)?,
        published_port: port_number(&format!("{at}.PublishedPort"), published_port)?,
        publish_mode: publish_mode as i32,
    })
}

fn port_number(path: &str, value: Option<i64>) -> Result<u32, EngineError> {
    let value = value.unwrap_or(0);
    u32::try_from(value)
        .ok()
        .filter(|&p| p <= u32::from(u16::MAX))
        .ok_or_else(|| {
            EngineError::bad_request(format!("{path}: {value} is not a port; use 1-65535"))
        })
}

#[cfg(test)]
#[path = "service_spec_tests.rs"]
mod tests;
