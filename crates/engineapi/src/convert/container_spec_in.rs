//! Docker's `ContainerSpec` → ours: what runs, its environment, health check, mounts, and
//! the secrets and configs it gets as files.

use api::objects as pb;
use bollard::models::{
    HealthConfig, Mount, MountBindOptions, MountBindOptionsPropagationEnum as Propagation,
    MountTmpfsOptions, MountType, MountVolumeOptions, MountVolumeOptionsDriverConfig,
    TaskSpecContainerSpec, TaskSpecContainerSpecConfigs, TaskSpecContainerSpecFile,
    TaskSpecContainerSpecFile1, TaskSpecContainerSpecIsolationEnum as Isolation,
    TaskSpecContainerSpecSecrets,
};

use super::service_spec_in::count;
use super::{millis_of, unsupported, zero_only};
use crate::error::EngineError;

const AT: &str = "TaskTemplate.ContainerSpec";
/// swarmkit's stop grace period when none is given.
pub const DEFAULT_STOP_GRACE_MS: u64 = 10_000;

pub fn container_spec(c: TaskSpecContainerSpec) -> Result<pb::ContainerSpec, EngineError> {
    let TaskSpecContainerSpec {
        image,
        labels,
        command,
        args,
        hostname,
        env,
        dir,
        user,
        groups,
        privileges,
        tty,
        open_stdin,
        read_only,
        mounts,
        stop_signal,
        stop_grace_period,
        health_check,
        hosts,
        dns_config,
        secrets,
        oom_score_adj,
        configs,
        isolation,
        init,
        sysctls,
        capability_add,
        capability_drop,
        ulimits,
    } = c;
    let unimplemented = TaskSpecContainerSpec {
        groups,
        privileges,
        tty,
        open_stdin,
        read_only,
        stop_signal,
        hosts,
        dns_config,
        oom_score_adj,
        // `default` is what docker writes for "no choice" on Linux.
        isolation: isolation.filter(|i| *i != Isolation::DEFAULT),
        init,
        sysctls,
        capability_add,
        capability_drop,
        ulimits,
        ..Default::default()
    };
    zero_only(AT, &unimplemented)?;
    let mounts = mounts.unwrap_or_default().into_iter().enumerate();
    let secrets = secrets.unwrap_or_default().into_iter();
    let configs = configs.unwrap_or_default().into_iter().enumerate();
    Ok(pb::ContainerSpec {
        image: image.unwrap_or_default(),
        command: command.unwrap_or_default(),
        args: args.unwrap_or_default(),
        env: env.unwrap_or_default(),
        labels: labels.unwrap_or_default(),
        hostname: hostname.unwrap_or_default(),
        healthcheck: health_check.map(health).transpose()?,
        stop_grace_period_ms: millis_of(&format!("{AT}.StopGracePeriod"), stop_grace_period)?
            .unwrap_or(DEFAULT_STOP_GRACE_MS),
        user: user.unwrap_or_default(),
        workdir: dir.unwrap_or_default(),
        mounts: mounts
            .map(|(i, m)| mount(&format!("{AT}.Mounts[{i}]"), m))
            .collect::<Result<_, _>>()?,
        secrets: secrets.map(secret).collect(),
        configs: configs
            .map(|(i, c)| config(&format!("{AT}.Configs[{i}]"), c))
            .collect::<Result<_, _>>()?,
    })
}

fn health(h: HealthConfig) -> Result<pb::HealthCheck, EngineError> {
    let HealthConfig {
        test,
        interval,
        timeout,
        retries,
        start_period,
        start_interval,
    } = h;
    let at = format!("{AT}.HealthCheck");
    zero_only(&format!("{at}.StartInterval"), &start_interval)?;
    let ms =
        |field: &str, ns| millis_of(&format!("{at}.{field}"), ns).map(Option::unwrap_or_default);
    Ok(pb::HealthCheck {
        // `["NONE"]` disables the image's check; empty inherits it (the control API checks the rest).
        test: test.unwrap_or_default(),
        interval_ms: ms("Interval", interval)?,
        timeout_ms: ms("Timeout", timeout)?,
        retries: count(
            &format!("{at}.Retries"),
            retries,
            "give 0 (the image's) or more",
        )?,
        start_period_ms: ms("StartPeriod", start_period)?,
    })
}

fn mount(at: &str, m: Mount) -> Result<pb::Mount, EngineError> {
    let Mount {
        target,
        source,
        typ,
        read_only,
        consistency,
        bind_options,
        volume_options,
        image_options,
        tmpfs_options,
    } = m;
    let kind = match typ {
        Some(MountType::VOLUME) => pb::MountKind::Volume,
        Some(MountType::BIND) => pb::MountKind::Bind,
        Some(MountType::TMPFS) => pb::MountKind::Tmpfs,
        Some(other) => return Err(unsupported(&format!("{at}.Type {other}"))),
        None => {
            return Err(EngineError::bad_request(format!(
                "{at}.Type: missing; give volume, bind or tmpfs"
            )))
        }
    };
    let MountVolumeOptions {
        no_copy,
        labels,
        driver_config,
        subpath,
    } = volume_options.unwrap_or_default();
    let MountVolumeOptionsDriverConfig {
        name: volume_driver,
        options: volume_options,
    } = driver_config.unwrap_or_default();
    let MountTmpfsOptions {
        size_bytes,
        mode,
        options: tmpfs_flags,
    } = tmpfs_options.unwrap_or_default();
    let unimplemented = Mount {
        // Docker's defaults, written out by some clients: nothing to do for them.
        consistency: consistency.filter(|c| c != "default"),
        bind_options: bind_options.map(|b| MountBindOptions {
            propagation: b.propagation.filter(|p| *p != Propagation::RPRIVATE),
            ..b
        }),
        image_options,
        volume_options: Some(MountVolumeOptions {
            no_copy,
            labels,
            subpath,
            driver_config: None,
        }),
        tmpfs_options: Some(MountTmpfsOptions {
            options: tmpfs_flags,
            ..Default::default()
        }),
        ..Default::default()
    };
    zero_only(at, &unimplemented)?;
    let mode = mode.unwrap_or(0);
    Ok(pb::Mount {
        kind: kind as i32,
        source: source.unwrap_or_default(),
        target: target.unwrap_or_default(),
        readonly: read_only.unwrap_or(false),
        volume_driver: volume_driver.unwrap_or_default(),
        volume_options: volume_options.unwrap_or_default(),
        tmpfs_size_bytes: size_bytes.unwrap_or(0),
        tmpfs_mode: u32::try_from(mode).map_err(|_| {
            EngineError::bad_request(format!(
                "{at}.TmpfsOptions.Mode: {mode} is not a file mode; give permission bits such as 1023 (0o1777)"
            ))
        })?,
    })
}

/// A secret or config reference: the object by ID, or by name when no ID is given (the control
/// API resolves either and stores the ID with the name beside it).
fn reference(id: Option<String>, name: Option<String>, file: File) -> pb::DataReference {
    let name = name.unwrap_or_default();
    let id = id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| name.clone());
    pb::DataReference {
        id,
        name,
        target: file.0.unwrap_or_default(),
        uid: file.1.unwrap_or_default(),
        gid: file.2.unwrap_or_default(),
        mode: file.3.unwrap_or(0),
    }
}

/// Docker's `File{Name, UID, GID, Mode}` (two generated types with the same fields).
type File = (Option<String>, Option<String>, Option<String>, Option<u32>);

fn secret(s: TaskSpecContainerSpecSecrets) -> pb::DataReference {
    let TaskSpecContainerSpecSecrets {
        file,
        secret_id,
        secret_name,
    } = s;
    let TaskSpecContainerSpecFile {
        name,
        uid,
        gid,
        mode,
    } = file.unwrap_or_default();
    reference(secret_id, secret_name, (name, uid, gid, mode))
}

fn config(at: &str, c: TaskSpecContainerSpecConfigs) -> Result<pb::DataReference, EngineError> {
    let TaskSpecContainerSpecConfigs {
        file,
        runtime,
        config_id,
        config_name,
    } = c;
    // A runtime config (a Windows credential spec) is given to the engine, not as a file.
    if runtime.is_some() {
        return Err(unsupported(&format!("{at}.Runtime")));
    }
    let TaskSpecContainerSpecFile1 {
        name,
        uid,
        gid,
        mode,
    } = file.unwrap_or_default();
    Ok(reference(config_id, config_name, (name, uid, gid, mode)))
}
