//! The engine's facts for the node's description: `docker info`.

use agent::executor::{EngineInfo, ExecError};
use bollard::models::SystemInfo;
use bollard::Docker;
use std::collections::BTreeMap;
use types::Resources;

use crate::errors::engine;

pub async fn engine_info(docker: &Docker) -> Result<EngineInfo, ExecError> {
    let info = docker.info().await.map_err(|err| engine("info", err))?;
    Ok(from_system_info(info))
}

fn from_system_info(info: SystemInfo) -> EngineInfo {
    let engine_labels = info
        .labels
        .unwrap_or_default()
        .into_iter()
        .map(|label| match label.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (label, String::new()),
        })
        .collect::<BTreeMap<_, _>>();
    EngineInfo {
        hostname: info.name.unwrap_or_default(),
        os: info.os_type.unwrap_or_default(),
        arch: info.architecture.unwrap_or_default(),
        resources: Resources {
            nano_cpus: info.ncpu.unwrap_or(0).saturating_mul(1_000_000_000),
            memory_bytes: info.mem_total.unwrap_or(0),
        },
        engine_version: info.server_version.unwrap_or_default(),
        engine_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_info_becomes_engine_info() {
        let info = from_system_info(SystemInfo {
            name: Some("worker1".into()),
            os_type: Some("linux".into()),
            architecture: Some("x86_64".into()),
            ncpu: Some(2),
            mem_total: Some(4 << 30),
            server_version: Some("20.10.24".into()),
            labels: Some(vec!["zone=a".into(), "ssd".into()]),
            ..Default::default()
        });
        assert_eq!(info.hostname, "worker1");
        assert_eq!((info.os.as_str(), info.arch.as_str()), ("linux", "x86_64"));
        assert_eq!(info.resources.nano_cpus, 2_000_000_000);
        assert_eq!(info.resources.memory_bytes, 4 << 30);
        assert_eq!(info.engine_version, "20.10.24");
        assert_eq!(info.engine_labels["zone"], "a");
        assert_eq!(info.engine_labels["ssd"], "");
    }
}
