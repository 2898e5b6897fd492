//! Which keys of a merged file are mapped, which are valid compose but have no effect on a
//! swarm (reported in `ignored`, as docker's "Ignoring unsupported options: build, links"),
//! and which are typos (an error naming the key). `x-` extension keys are skipped anywhere.

use std::collections::BTreeSet;

use serde_norway::Value;

use crate::error::ComposeError;

const TOP_MAPPED: &[&str] = &[
    "version", "name", "services", "networks", "volumes", "secrets", "configs",
];
const TOP_IGNORED: &[&str] = &["include", "models"];

const SERVICE_MAPPED: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "labels",
    "hostname",
    "user",
    "working_dir",
    "stop_grace_period",
    "healthcheck",
    "ports",
    "networks",
    "volumes",
    "secrets",
    "configs",
    "deploy",
    "depends_on",
];

/// Valid in a compose file, applied by `docker compose` but not by a swarm (or not yet here).
const SERVICE_IGNORED: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
];

const DEPLOY_MAPPED: &[&str] = &[
    "mode",
    "replicas",
    "labels",
    "endpoint_mode",
    "placement",
    "resources",
    "restart_policy",
    "update_config",
    "rollback_config",
];

/// Sorted, de-duplicated names of the ignored keys (`build`, `deploy.resources.devices`...).
pub fn check_keys(file: &Value) -> Result<Vec<String>, ComposeError> {
    check_version(file.get("version"))?;
    let mut ignored = BTreeSet::new();
    sort_keys(file, "", TOP_MAPPED, TOP_IGNORED, &mut ignored)?;
    if let Some(Value::Mapping(services)) = file.get("services") {
        for (name, service) in services {
            let key = format!("services.{}", name.as_str().unwrap_or_default());
            sort_keys(service, &key, SERVICE_MAPPED, SERVICE_IGNORED, &mut ignored)?;
            if let Some(deploy) = service.get("deploy") {
                let key = format!("{key}.deploy");
                sort_keys(deploy, &key, DEPLOY_MAPPED, &[], &mut ignored)?;
                for part in ["limits", "reservations"] {
                    if let Some(amounts) = deploy.get("resources").and_then(|r| r.get(part)) {
                        for extra in ["devices", "generic_resources"] {
                            if amounts.get(extra).is_some() {
                                ignored.insert(format!("deploy.resources.{part}.{extra}"));
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(ignored.into_iter().collect())
}

/// `version` is optional and informative, but a `1` or `2.x` file is not a stack file.
fn check_version(version: Option<&Value>) -> Result<(), ComposeError> {
    let text = match version {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(()),
    };
    if text.starts_with('1') || text.starts_with('2') {
        return Err(ComposeError::invalid(
            "version",
            format!("`{text}` is a file format stacks do not read; use 3.x or remove `version`"),
        ));
    }
    Ok(())
}

fn sort_keys(
    map: &Value,
    path: &str,
    mapped: &[&str],
    known_ignored: &[&str],
    ignored: &mut BTreeSet<String>,
) -> Result<(), ComposeError> {
    let Value::Mapping(map) = map else {
        return Ok(()); // the type check names the key that should be a map
    };
    for key in map.keys() {
        let key = key.as_str().unwrap_or_default();
        if mapped.contains(&key) || key.starts_with("x-") {
            continue;
        }
        let full = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        if !known_ignored.contains(&key) {
            return Err(ComposeError::invalid(
                full,
                "unknown key; check its spelling against the compose file reference",
            ));
        }
        let section = if path.ends_with(".deploy") {
            "deploy."
        } else {
            ""
        };
        ignored.insert(format!("{section}{key}"));
    }
    Ok(())
}
