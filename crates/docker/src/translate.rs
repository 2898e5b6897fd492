//! Task → container: the pure translation of a [`Task`] into the body of Docker's
//! `POST /containers/create`, and the container's name.
//!
//! Decisions that are ours, not the user's: Docker never restarts a task's container (the
//! orchestrator replaces tasks, so a restart policy here would hide exits from it); containers
//! start with `NetworkMode=none` because the network module plumbs the overlay interface into
//! the container's netns itself; our labels override any user label of the same key, so a spec
//! cannot pass its container off as another task's.

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, Mount as EngineMount, MountTmpfsOptions,
    MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig, RestartPolicy,
    RestartPolicyNameEnum,
};
use std::collections::HashMap;
use std::path::Path;
use types::{DataKind, HealthCheck, Mount, MountKind, Task};

use crate::labels;

/// Docker rejects hostnames longer than a DNS label.
const MAX_HOSTNAME: usize = 63;

/// `<service>.<slot>.<task-id>` as Swarm names task containers; global tasks use the node ID
/// in place of the slot.
pub fn container_name(task: &Task, node_id: &str) -> String {
    format!(
        "{}.{}.{}",
        task.service_name,
        slot_or_node(task, node_id),
        task.id
    )
}

/// The container create body for `task` on node `node_id`; `files` is where the agent writes
/// the task's secret and config files.
pub fn container_config(task: &Task, node_id: &str, files: Option<&Path>) -> ContainerCreateBody {
    let container = &task.spec.container;
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let non_blank = |s: &String| (!s.is_empty()).then(|| s.clone());
    ContainerCreateBody {
        image: Some(container.image.clone()),
        entrypoint: non_empty(&container.command),
        cmd: non_empty(&container.args),
        env: non_empty(&container.env),
        labels: Some(container_labels(task, node_id)),
        hostname: Some(hostname(task, node_id)),
        user: non_blank(&container.user),
        working_dir: non_blank(&container.workdir),
        stop_timeout: Some(grace_seconds(container.stop_grace_period_ms)),
        healthcheck: container.healthcheck.as_ref().map(health_config),
        host_config: Some(host_config(task, files)),
        ..Default::default()
    }
}

/// Docker's stop timeouts are whole seconds: round a grace period up so a task never gets
/// less time than its spec grants.
pub fn grace_seconds(grace_ms: u64) -> i64 {
    i64::try_from(grace_ms.div_ceil(1000)).unwrap_or(i64::MAX)
}

fn slot_or_node(task: &Task, node_id: &str) -> String {
    if task.slot > 0 {
        task.slot.to_string()
    } else {
        node_id.to_string()
    }
}

fn container_labels(task: &Task, node_id: &str) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = task
        .spec
        .container
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in [
        (labels::SERVICE_ID, task.service_id.clone()),
        (labels::SERVICE_NAME, task.service_name.clone()),
        (labels::TASK_ID, task.id.clone()),
        (labels::TASK_SLOT, task.slot.to_string()),
        (labels::NODE_ID, node_id.to_string()),
    ] {
        labels.insert(key.to_string(), value);
    }
    labels
}

/// The spec's hostname, else the task's name (`web.2`), so a replica can tell which one it is.
fn hostname(task: &Task, node_id: &str) -> String {
    let name = if task.spec.container.hostname.is_empty() {
        format!("{}.{}", task.service_name, slot_or_node(task, node_id))
    } else {
        task.spec.container.hostname.clone()
    };
    let mut end = name.len().min(MAX_HOSTNAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].trim_end_matches(['.', '-']).to_string()
}

fn host_config(task: &Task, files: Option<&Path>) -> HostConfig {
    let resources = &task.spec.resources;
    let positive = |v: i64| (v > 0).then_some(v);
    let on_networks = !task.spec.networks.is_empty();
    HostConfig {
        network_mode: Some("none".to_string()),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        memory: positive(resources.limits.memory_bytes),
        nano_cpus: positive(resources.limits.nano_cpus),
        pids_limit: positive(resources.pids_limit),
        // On user networks, names are the node's to answer, inside the container; and a bare
        // name is asked as it is first (`ndots:0`), not with a domain resolvers would derive
        // from the dotted task hostname (`web.1` → `api.1`), which only an upstream could
        // refuse. Docker drops `--dns-search .` from resolv.conf, so that is no way out.
        dns: on_networks.then(|| vec![types::network::RESOLVER_ADDR.to_string()]),
        dns_options: on_networks.then(|| vec!["ndots:0".to_string()]),
        mounts: Some(mounts(task, files)).filter(|m| !m.is_empty()),
        ..Default::default()
    }
}

/// The spec's mounts, then each secret and config file the agent wrote for the task, bound
/// read-only where the reference says.
fn mounts(task: &Task, files: Option<&Path>) -> Vec<EngineMount> {
    let c = &task.spec.container;
    let mut out: Vec<EngineMount> = c.mounts.iter().map(engine_mount).collect();
    let Some(root) = files else {
        return out;
    };
    for (kind, refs) in [
        (DataKind::Secret, &c.secrets),
        (DataKind::Config, &c.configs),
    ] {
        for (i, r) in refs.iter().enumerate() {
            let source = agent::files::TaskFiles::path(root, &task.id, kind, i);
            out.push(EngineMount {
                target: Some(r.container_path(kind)),
                source: Some(source.to_string_lossy().into_owned()),
                typ: Some(MountType::BIND),
                read_only: Some(true),
                ..Default::default()
            });
        }
    }
    out
}

/// A mount as the engine takes it: it creates a missing named volume with the driver and
/// options given, and refuses a bind source that does not exist on the node (the task is then
/// rejected with the engine's words).
fn engine_mount(m: &Mount) -> EngineMount {
    let volume = (m.kind == MountKind::Volume
        && (!m.volume_driver.is_empty() || !m.volume_options.is_empty()))
    .then(|| MountVolumeOptions {
        driver_config: Some(MountVolumeOptionsDriverConfig {
            name: (!m.volume_driver.is_empty()).then(|| m.volume_driver.clone()),
            options: Some(m.volume_options.clone().into_iter().collect()),
        }),
        ..Default::default()
    });
    let tmpfs =
        (m.kind == MountKind::Tmpfs && (m.tmpfs_size_bytes > 0 || m.tmpfs_mode > 0)).then(|| {
            MountTmpfsOptions {
                size_bytes: (m.tmpfs_size_bytes > 0).then_some(m.tmpfs_size_bytes),
                mode: (m.tmpfs_mode > 0).then_some(i64::from(m.tmpfs_mode)),
                options: None,
            }
        });
    EngineMount {
        target: Some(m.target.clone()),
        source: (!m.source.is_empty()).then(|| m.source.clone()),
        typ: Some(match m.kind {
            MountKind::Volume => MountType::VOLUME,
            MountKind::Bind => MountType::BIND,
            MountKind::Tmpfs => MountType::TMPFS,
        }),
        read_only: Some(m.readonly),
        volume_options: volume,
        tmpfs_options: tmpfs,
        ..Default::default()
    }
}

/// Durations in the spec are milliseconds, Docker's are nanoseconds; 0 keeps the image's value.
fn health_config(check: &HealthCheck) -> HealthConfig {
    let nanos =
        |ms: u64| (ms > 0).then(|| i64::try_from(ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX));
    HealthConfig {
        test: (!check.test.is_empty()).then(|| check.test.clone()),
        interval: nanos(check.interval_ms),
        timeout: nanos(check.timeout_ms),
        retries: (check.retries > 0).then(|| i64::try_from(check.retries).unwrap_or(i64::MAX)),
        start_period: nanos(check.start_period_ms),
        start_interval: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use types::{ContainerSpec, ResourceRequirements, Resources, TaskSpec};

    fn web_task() -> Task {
        Task {
            id: "t0abc".into(),
            service_id: "s0web".into(),
            service_name: "web".into(),
            slot: 2,
            node_id: "n1".into(),
            spec: TaskSpec {
                container: ContainerSpec {
                    image: "swarmd/whoami:latest".into(),
                    env: vec!["PORT=8080".into()],
                    labels: BTreeMap::from([
                        ("team".to_string(), "blue".to_string()),
                        (labels::TASK_ID.to_string(), "spoofed".to_string()),
                    ]),
                    ..Default::default()
                },
                resources: ResourceRequirements {
                    limits: Resources {
                        nano_cpus: 500_000_000,
                        memory_bytes: 64 << 20,
                    },
                    reservations: Resources::default(),
                    pids_limit: 100,
                },
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn replicated_and_global_names_follow_swarm() {
        let mut task = web_task();
        assert_eq!(container_name(&task, "n1"), "web.2.t0abc");
        task.slot = 0;
        assert_eq!(container_name(&task, "n1"), "web.n1.t0abc");
    }

    #[test]
    fn labels_identify_the_task_and_cannot_be_spoofed() {
        let body = container_config(&web_task(), "n1", None);
        let labels = body.labels.unwrap();
        assert_eq!(labels[labels::SERVICE_ID], "s0web");
        assert_eq!(labels[labels::SERVICE_NAME], "web");
        assert_eq!(labels[labels::TASK_ID], "t0abc");
        assert_eq!(labels[labels::TASK_SLOT], "2");
        assert_eq!(labels[labels::NODE_ID], "n1");
        assert_eq!(labels["team"], "blue");
        assert_eq!(labels.len(), 6);
    }

    #[test]
    fn image_env_limits_and_fixed_host_settings() {
        let body = container_config(&web_task(), "n1", None);
        assert_eq!(body.image.as_deref(), Some("swarmd/whoami:latest"));
        assert_eq!(body.env, Some(vec!["PORT=8080".to_string()]));
        // Empty command/args keep the image's entrypoint and CMD.
        assert_eq!(body.entrypoint, None);
        assert_eq!(body.cmd, None);
        assert_eq!(body.user, None);
        assert_eq!(body.working_dir, None);
        assert_eq!(body.healthcheck, None);
        assert_eq!(body.hostname.as_deref(), Some("web.2"));
        assert_eq!(body.stop_timeout, Some(10));
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::NO)
        );
        assert_eq!(host.memory, Some(64 << 20));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.pids_limit, Some(100));
        assert_eq!(
            host.dns, None,
            "off user networks the engine's own resolv.conf stays"
        );
        let mut on_net = web_task();
        on_net.spec.networks = vec![types::NetworkTarget {
            target: "net1".into(),
            aliases: vec![],
        }];
        let host = container_config(&on_net, "n1", None).host_config.unwrap();
        assert_eq!(host.dns, Some(vec!["127.0.0.11".to_string()]));
        assert_eq!(host.dns_options, Some(vec!["ndots:0".to_string()]));
    }

    #[test]
    fn unlimited_resources_are_left_unset() {
        let mut task = web_task();
        task.spec.resources = ResourceRequirements::default();
        let host = container_config(&task, "n1", None).host_config.unwrap();
        assert_eq!(
            (host.memory, host.nano_cpus, host.pids_limit),
            (None, None, None)
        );
    }

    #[test]
    fn command_replaces_entrypoint_and_args_replace_cmd() {
        let mut task = web_task();
        task.spec.container.command = vec!["/bin/sh".into(), "-c".into()];
        task.spec.container.args = vec!["echo hi".into()];
        task.spec.container.user = "nobody".into();
        task.spec.container.workdir = "/tmp".into();
        let body = container_config(&task, "n1", None);
        assert_eq!(body.entrypoint, Some(vec!["/bin/sh".into(), "-c".into()]));
        assert_eq!(body.cmd, Some(vec!["echo hi".into()]));
        assert_eq!(body.user.as_deref(), Some("nobody"));
        assert_eq!(body.working_dir.as_deref(), Some("/tmp"));
    }

    #[test]
    fn grace_period_rounds_up_to_whole_seconds() {
        assert_eq!(grace_seconds(0), 0);
        assert_eq!(grace_seconds(1), 1);
        assert_eq!(grace_seconds(1000), 1);
        assert_eq!(grace_seconds(2500), 3);
        let mut task = web_task();
        task.spec.container.stop_grace_period_ms = 2500;
        assert_eq!(container_config(&task, "n1", None).stop_timeout, Some(3));
    }

    #[test]
    fn healthcheck_durations_become_nanoseconds() {
        let mut task = web_task();
        task.spec.container.healthcheck = Some(HealthCheck {
            test: vec!["CMD-SHELL".into(), "test -e /tmp/ok".into()],
            interval_ms: 250,
            timeout_ms: 1000,
            retries: 3,
            start_period_ms: 0,
        });
        let health = container_config(&task, "n1", None).healthcheck.unwrap();
        assert_eq!(
            health.test,
            Some(vec!["CMD-SHELL".into(), "test -e /tmp/ok".into()])
        );
        assert_eq!(health.interval, Some(250_000_000));
        assert_eq!(health.timeout, Some(1_000_000_000));
        assert_eq!(health.retries, Some(3));
        assert_eq!(health.start_period, None);
    }

    #[test]
    fn hostname_defaults_to_the_task_name_and_fits_a_dns_label() {
        let mut task = web_task();
        task.spec.container.hostname = "api-host".into();
        assert_eq!(
            container_config(&task, "n1", None).hostname.as_deref(),
            Some("api-host")
        );
        task.spec.container.hostname.clear();
        task.slot = 0;
        let long_node = "n".repeat(80);
        let hostname = container_config(&task, &long_node, None).hostname.unwrap();
        assert_eq!(hostname.len(), MAX_HOSTNAME);
        assert!(hostname.starts_with("web.nnn"));
    }
    #[test]
    fn mounts_reach_the_engine_as_docker_mounts() {
        let mut t = web_task();
        assert!(
            host_config(&t, None).mounts.is_none(),
            "no mounts: none sent"
        );
        t.spec.container.mounts = vec![
            Mount {
                kind: MountKind::Volume,
                source: "dbdata".into(),
                target: "/var/lib/db".into(),
                volume_driver: "local".into(),
                volume_options: BTreeMap::from([("type".into(), "tmpfs".into())]),
                ..Default::default()
            },
            Mount {
                kind: MountKind::Bind,
                source: "/srv/conf".into(),
                target: "/etc/app".into(),
                readonly: true,
                ..Default::default()
            },
            Mount {
                kind: MountKind::Tmpfs,
                target: "/scratch".into(),
                tmpfs_size_bytes: 64 << 20,
                tmpfs_mode: 0o1770,
                ..Default::default()
            },
        ];
        t.spec.container.secrets = vec![types::DataReference {
            id: "s1".into(),
            target: "pw".into(),
            ..Default::default()
        }];
        t.spec.container.configs = vec![types::DataReference {
            id: "c1".into(),
            target: "/etc/app.conf".into(),
            ..Default::default()
        }];
        let without_files = host_config(&t, None).mounts.unwrap();
        assert_eq!(without_files.len(), 3, "no files root: no file mounts");
        let mounts = host_config(&t, Some(Path::new("/state/files")))
            .mounts
            .unwrap();
        let files: Vec<_> = mounts[3..]
            .iter()
            .map(|m| {
                let source = m.source.clone().unwrap();
                (source, m.target.clone().unwrap(), m.typ, m.read_only)
            })
            .collect();
        let bind = (Some(MountType::BIND), Some(true));
        assert_eq!(
            files,
            [
                (
                    "/state/files/t0abc/secret-0".into(),
                    "/run/secrets/pw".into(),
                    bind.0,
                    bind.1
                ),
                (
                    "/state/files/t0abc/config-0".into(),
                    "/etc/app.conf".into(),
                    bind.0,
                    bind.1
                ),
            ]
        );
        let json = serde_json::to_value(without_files).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"Target": "/var/lib/db", "Source": "dbdata", "Type": "volume", "ReadOnly": false,
                 "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}},
                {"Target": "/etc/app", "Source": "/srv/conf", "Type": "bind", "ReadOnly": true},
                {"Target": "/scratch", "Type": "tmpfs", "ReadOnly": false,
                 "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1770}}
            ])
        );
    }
}
