//! The flags `service create` and `service update` share, and how they change a spec.
//!
//! Every flag is optional: `create` applies them to docker's defaults, `update` to the current
//! spec, so an update changes only what was named. Values are parsed by clap with the parsers of
//! [`crate::parse`], so a bad value is refused naming the flag before anything is sent.

use clap::{Args, ValueEnum};
use types::{FailureAction, HealthCheck, RestartCondition, ServiceSpec, UpdateConfig, UpdateOrder};

use crate::parse;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RestartConditionArg {
    None,
    OnFailure,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    StopFirst,
    StartFirst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailureActionArg {
    Pause,
    Continue,
    Rollback,
}

fn duration(s: &str) -> Result<u64, String> {
    parse::duration_ms(s)
}
fn memory(s: &str) -> Result<i64, String> {
    parse::memory_bytes(s)
}
fn cpus(s: &str) -> Result<i64, String> {
    parse::nano_cpus(s)
}
fn count(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("`{s}` is not a count; use a whole number of 0 or more"))
}

fn ratio(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{s}` is not a ratio; use a number from 0 to 1")),
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct SpecFlags {
    /// Number of tasks (replicated services)
    // Negative numbers are taken as values so the error names the flag, not "unexpected `-1`".
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub replicas: Option<u64>,
    /// Maximum tasks of this service per node (0 = unlimited)
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub max_replicas: Option<u64>,
    /// Reserve CPUs, e.g. 0.5
    #[arg(long, value_name = "CPUS", value_parser = cpus)]
    pub reserve_cpu: Option<i64>,
    /// Reserve memory, e.g. 64M
    #[arg(long, value_name = "BYTES", value_parser = memory)]
    pub reserve_memory: Option<i64>,
    /// Limit CPUs
    #[arg(long, value_name = "CPUS", value_parser = cpus)]
    pub limit_cpu: Option<i64>,
    /// Limit memory
    #[arg(long, value_name = "BYTES", value_parser = memory)]
    pub limit_memory: Option<i64>,
    /// Restart when condition is met
    #[arg(long, value_enum)]
    pub restart_condition: Option<RestartConditionArg>,
    /// Delay between restart attempts, e.g. 5s
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub restart_delay: Option<u64>,
    /// Maximum number of restarts before giving up (0 = unlimited)
    #[arg(long, value_name = "N")]
    pub restart_max_attempts: Option<u64>,
    /// Window used to evaluate the restart policy
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub restart_window: Option<u64>,
    /// Maximum number of tasks updated simultaneously (0 = all at once)
    #[arg(long, value_name = "N")]
    pub update_parallelism: Option<u64>,
    /// Delay between updates
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub update_delay: Option<u64>,
    /// Update order
    #[arg(long, value_enum)]
    pub update_order: Option<OrderArg>,
    /// Action on update failure
    #[arg(long, value_enum)]
    pub update_failure_action: Option<FailureActionArg>,
    /// Duration after each task update to monitor for failure
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub update_monitor: Option<u64>,
    /// Failure rate to tolerate during an update (0 to 1)
    #[arg(long, value_name = "RATIO", value_parser = ratio)]
    pub update_max_failure_ratio: Option<f32>,
    /// Maximum number of tasks rolled back simultaneously
    #[arg(long, value_name = "N")]
    pub rollback_parallelism: Option<u64>,
    /// Delay between task rollbacks
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub rollback_delay: Option<u64>,
    /// Rollback order
    #[arg(long, value_enum)]
    pub rollback_order: Option<OrderArg>,
    /// Duration after each task rollback to monitor for failure
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub rollback_monitor: Option<u64>,
    /// Command to run to check health (run with /bin/sh -c)
    #[arg(long, value_name = "CMD")]
    pub health_cmd: Option<String>,
    /// Time between running the check
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub health_interval: Option<u64>,
    /// Maximum time to allow one check to run
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub health_timeout: Option<u64>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long, value_name = "N")]
    pub health_retries: Option<u64>,
    /// Start period for the container to initialize before counting retries
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub health_start_period: Option<u64>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long)]
    pub no_healthcheck: bool,
    /// Time to wait before force killing a container
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub stop_grace_period: Option<u64>,
    /// Container hostname
    #[arg(long)]
    pub hostname: Option<String>,
    /// Username or UID
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(long, short = 'w')]
    pub workdir: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// How the service is found on its networks: one virtual IP, or DNS round robin
    #[arg(long, value_enum)]
    pub endpoint_mode: Option<EndpointModeArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EndpointModeArg {
    Vip,
    Dnsrr,
}

impl SpecFlags {
    /// Applies every flag given to `spec`.
    pub fn apply(&self, spec: &mut ServiceSpec) {
        if let (Some(r), types::ServiceMode::Replicated { .. }) = (self.replicas, spec.mode) {
            spec.mode = types::ServiceMode::Replicated { replicas: r };
        }
        if let Some(m) = self.endpoint_mode {
            spec.endpoint.mode = match m {
                EndpointModeArg::Vip => types::EndpointMode::Vip,
                EndpointModeArg::Dnsrr => types::EndpointMode::Dnsrr,
            };
        }
        let task = &mut spec.task;
        set(&mut task.placement.max_replicas, self.max_replicas);
        set(&mut task.resources.reservations.nano_cpus, self.reserve_cpu);
        set(
            &mut task.resources.reservations.memory_bytes,
            self.reserve_memory,
        );
        set(&mut task.resources.limits.nano_cpus, self.limit_cpu);
        set(&mut task.resources.limits.memory_bytes, self.limit_memory);
        if let Some(c) = self.restart_condition {
            task.restart.condition = match c {
                RestartConditionArg::None => RestartCondition::None,
                RestartConditionArg::OnFailure => RestartCondition::OnFailure,
                RestartConditionArg::Any => RestartCondition::Any,
            };
        }
        set(&mut task.restart.delay_ms, self.restart_delay);
        set(&mut task.restart.max_attempts, self.restart_max_attempts);
        set(&mut task.restart.window_ms, self.restart_window);

        let c = &mut task.container;
        set(&mut c.stop_grace_period_ms, self.stop_grace_period);
        set(&mut c.hostname, self.hostname.clone());
        set(&mut c.user, self.user.clone());
        set(&mut c.workdir, self.workdir.clone());
        if let Some(e) = &self.entrypoint {
            c.command = e.split_whitespace().map(String::from).collect();
        }
        if self.no_healthcheck {
            c.healthcheck = Some(HealthCheck {
                test: vec![HealthCheck::DISABLED.into()],
                ..Default::default()
            });
        } else if self.health_cmd.is_some()
            || self.health_interval.is_some()
            || self.health_timeout.is_some()
            || self.health_retries.is_some()
            || self.health_start_period.is_some()
        {
            let hc = c.healthcheck.get_or_insert_with(HealthCheck::default);
            if let Some(cmd) = &self.health_cmd {
                hc.test = vec!["CMD-SHELL".into(), cmd.clone()];
            }
            set(&mut hc.interval_ms, self.health_interval);
            set(&mut hc.timeout_ms, self.health_timeout);
            set(&mut hc.retries, self.health_retries);
            set(&mut hc.start_period_ms, self.health_start_period);
        }

        let u = &mut spec.update;
        set(&mut u.parallelism, self.update_parallelism);
        set(&mut u.delay_ms, self.update_delay);
        set(&mut u.monitor_ms, self.update_monitor);
        set(&mut u.max_failure_ratio, self.update_max_failure_ratio);
        if let Some(o) = self.update_order {
            u.order = order(o);
        }
        if let Some(a) = self.update_failure_action {
            u.failure_action = match a {
                FailureActionArg::Pause => FailureAction::Pause,
                FailureActionArg::Continue => FailureAction::Continue,
                FailureActionArg::Rollback => FailureAction::Rollback,
            };
        }
        if self.rollback_parallelism.is_some()
            || self.rollback_delay.is_some()
            || self.rollback_order.is_some()
            || self.rollback_monitor.is_some()
        {
            let r = spec.rollback.get_or_insert_with(UpdateConfig::default);
            set(&mut r.parallelism, self.rollback_parallelism);
            set(&mut r.delay_ms, self.rollback_delay);
            set(&mut r.monitor_ms, self.rollback_monitor);
            if let Some(o) = self.rollback_order {
                r.order = order(o);
            }
        }
    }
}

fn order(o: OrderArg) -> UpdateOrder {
    match o {
        OrderArg::StopFirst => UpdateOrder::StopFirst,
        OrderArg::StartFirst => UpdateOrder::StartFirst,
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// Which flag sets a field of the spec, so a validation error names what the user typed.
const FLAG_OF_FIELD: &[(&str, &str)] = &[
    ("spec.name", "--name"),
    ("spec.labels", "--label"),
    ("spec.mode.replicas", "--replicas"),
    ("spec.task.container.image", "IMAGE"),
    ("spec.task.container.env", "--env"),
    ("spec.task.container.labels", "--container-label"),
    (
        "spec.task.container.stop_grace_period_ms",
        "--stop-grace-period",
    ),
    ("spec.task.container.healthcheck", "--health-cmd"),
    (
        "spec.task.resources.reservations.nano_cpus",
        "--reserve-cpu",
    ),
    (
        "spec.task.resources.reservations.memory_bytes",
        "--reserve-memory",
    ),
    ("spec.task.resources.limits.nano_cpus", "--limit-cpu"),
    ("spec.task.resources.limits.memory_bytes", "--limit-memory"),
    ("spec.task.restart.delay_ms", "--restart-delay"),
    ("spec.task.restart.window_ms", "--restart-window"),
    ("spec.task.placement.constraints", "--constraint"),
    ("spec.task.placement.preferences", "--placement-pref"),
    ("spec.task.placement.max_replicas", "--max-replicas"),
    ("spec.update.parallelism", "--update-parallelism"),
    ("spec.update.delay_ms", "--update-delay"),
    ("spec.update.monitor_ms", "--update-monitor"),
    (
        "spec.update.max_failure_ratio",
        "--update-max-failure-ratio",
    ),
    ("spec.rollback.parallelism", "--rollback-parallelism"),
    ("spec.rollback.delay_ms", "--rollback-delay"),
    ("spec.rollback.monitor_ms", "--rollback-monitor"),
    ("spec.endpoint.ports", "--publish"),
    ("spec.task.networks", "--network"),
    ("spec.task.container.mounts", "--mount"),
    ("spec.task.container.secrets", "--secret"),
    ("spec.task.container.configs", "--config"),
];

/// Validates a spec before sending it, naming the flag at fault.
pub fn check(spec: &ServiceSpec) -> anyhow::Result<()> {
    types::validate::validate_service_spec(spec).map_err(|e| {
        match FLAG_OF_FIELD
            .iter()
            .find(|(field, _)| e.field.starts_with(field))
        {
            Some((_, flag)) => anyhow::anyhow!("invalid {flag}: {}", e.message),
            None => anyhow::anyhow!("{e}"),
        }
    })
}

/// A manager's refusal of a field (`invalid spec.task.container.secrets[0]: …`, the same
/// rules as [`check`] plus those that need the cluster, such as a name that resolves to
/// nothing) with the flag named first and the field kept at the end.
pub fn name_flag(e: anyhow::Error) -> anyhow::Error {
    let message = e.to_string();
    let Some((field, rest)) = message
        .strip_prefix("invalid ")
        .and_then(|m| m.split_once(": "))
    else {
        return e;
    };
    match FLAG_OF_FIELD.iter().find(|(f, _)| field.starts_with(f)) {
        Some((_, flag)) => anyhow::anyhow!("invalid {flag}: {rest} ({field})"),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        flags: SpecFlags,
    }

    fn apply(args: &[&str]) -> ServiceSpec {
        let probe =
            Probe::try_parse_from(std::iter::once("probe").chain(args.iter().copied())).unwrap();
        let mut spec = ServiceSpec::default();
        probe.flags.apply(&mut spec);
        spec
    }

    #[test]
    fn flags_change_only_what_they_name() {
        let spec = apply(&[
            "--replicas=3",
            "--reserve-memory=64M",
            "--limit-cpu=0.5",
            "--restart-condition=on-failure",
            "--restart-delay=1m30s",
            "--update-order=start-first",
            "--update-failure-action=rollback",
            "--health-cmd=curl -f localhost",
            "--health-interval=2s",
            "--stop-grace-period=3s",
        ]);
        assert_eq!(spec.replicas(), Some(3));
        assert_eq!(spec.task.resources.reservations.memory_bytes, 64 << 20);
        assert_eq!(spec.task.resources.limits.nano_cpus, 500_000_000);
        assert_eq!(spec.task.restart.condition, RestartCondition::OnFailure);
        assert_eq!(spec.task.restart.delay_ms, 90_000);
        assert_eq!(spec.task.restart.max_attempts, 0, "untouched");
        assert_eq!(spec.update.order, UpdateOrder::StartFirst);
        assert_eq!(spec.update.failure_action, FailureAction::Rollback);
        let hc = spec.task.container.healthcheck.unwrap();
        assert_eq!(hc.test, ["CMD-SHELL", "curl -f localhost"]);
        assert_eq!(hc.interval_ms, 2_000);
        assert_eq!(spec.task.container.stop_grace_period_ms, 3_000);
        assert_eq!(apply(&[]), ServiceSpec::default());
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Probe::try_parse_from(["probe", "--restart-delay", "10x"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--restart-delay"), "{err}");
        assert!(err.contains("unknown unit"), "{err}");
        let mut spec = ServiceSpec {
            name: "web".into(),
            ..Default::default()
        };
        let err = check(&spec).unwrap_err().to_string();
        assert!(err.starts_with("invalid IMAGE:"), "{err}");
        spec.task.container.image = "nginx".into();
        spec.task.placement.constraints = vec!["node.rol==x".into()];
        let err = check(&spec).unwrap_err().to_string();
        assert!(err.starts_with("invalid --constraint:"), "{err}");
    }
}
