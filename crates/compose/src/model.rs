//! The part of the compose file format a swarm deploys, as serde structs. Keys this crate does
//! not map are not fields here: [`crate::keys`] sorts them into "ignored" and "unknown" before
//! these structs are read. Every value is optional, as in the file.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::scalar::{Flag, Float, HealthTest, Int, KeyValues, NamedMap, ShortOrLong, Text, Words};

/// One merged, interpolated compose file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ComposeFile {
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    #[serde(default)]
    pub networks: BTreeMap<String, Option<NetworkDef>>,
    #[serde(default)]
    pub volumes: BTreeMap<String, Option<VolumeDef>>,
    #[serde(default)]
    pub secrets: BTreeMap<String, DataDef>,
    #[serde(default)]
    pub configs: BTreeMap<String, DataDef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Service {
    pub image: Option<Text>,
    pub command: Option<Words>,
    pub entrypoint: Option<Words>,
    pub environment: Option<KeyValues>,
    /// Resolved to absolute paths at load, read into `environment` (below it in priority).
    pub env_file: Option<Words>,
    pub labels: Option<KeyValues>,
    pub hostname: Option<Text>,
    pub user: Option<Text>,
    pub working_dir: Option<Text>,
    pub stop_grace_period: Option<Text>,
    pub healthcheck: Option<Healthcheck>,
    #[serde(default)]
    pub ports: Vec<ShortOrLong<PortLong>>,
    #[serde(default)]
    pub networks: NamedMap<ServiceNetwork>,
    #[serde(default)]
    pub volumes: Vec<ShortOrLong<VolumeLong>>,
    #[serde(default)]
    pub secrets: Vec<ShortOrLong<DataRefLong>>,
    #[serde(default)]
    pub configs: Vec<ShortOrLong<DataRefLong>>,
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub depends_on: NamedMap<DependsOn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Healthcheck {
    pub test: Option<HealthTest>,
    pub interval: Option<Text>,
    pub timeout: Option<Text>,
    pub retries: Option<Int>,
    pub start_period: Option<Text>,
    pub disable: Option<Flag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PortLong {
    pub target: Option<Int>,
    pub published: Option<Text>,
    pub protocol: Option<Text>,
    pub mode: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceNetwork {
    #[serde(default)]
    pub aliases: Vec<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VolumeLong {
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub source: Option<Text>,
    pub target: Option<Text>,
    pub read_only: Option<Flag>,
    pub tmpfs: Option<TmpfsOptions>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TmpfsOptions {
    pub size: Option<Text>,
    pub mode: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DataRefLong {
    pub source: Option<Text>,
    pub target: Option<Text>,
    pub uid: Option<Text>,
    pub gid: Option<Text>,
    /// Octal in YAML 1.1 (`0440`) arrives as a decimal integer; a string is read as octal.
    pub mode: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DependsOn {
    pub condition: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Deploy {
    pub mode: Option<Text>,
    pub replicas: Option<Int>,
    pub labels: Option<KeyValues>,
    pub endpoint_mode: Option<Text>,
    pub placement: Option<Placement>,
    pub resources: Option<Resources>,
    pub restart_policy: Option<RestartPolicy>,
    pub update_config: Option<UpdateConfig>,
    pub rollback_config: Option<UpdateConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Placement {
    #[serde(default)]
    pub constraints: Vec<Text>,
    #[serde(default)]
    pub preferences: Vec<Preference>,
    pub max_replicas_per_node: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Preference {
    pub spread: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Resources {
    pub limits: Option<ResourceAmounts>,
    pub reservations: Option<ResourceAmounts>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ResourceAmounts {
    pub cpus: Option<Text>,
    pub memory: Option<Text>,
    pub pids: Option<Int>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestartPolicy {
    pub condition: Option<Text>,
    pub delay: Option<Text>,
    pub max_attempts: Option<Int>,
    pub window: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateConfig {
    pub parallelism: Option<Int>,
    pub delay: Option<Text>,
    pub failure_action: Option<Text>,
    pub monitor: Option<Text>,
    pub max_failure_ratio: Option<Float>,
    pub order: Option<Text>,
}

/// `external: true` in all its forms; docker's older `external: {name: x}` too.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct External {
    pub name: Option<Text>,
}

impl ShortOrLong<External> {
    /// Whether the object is external, and the name the older long form gives it.
    pub fn external(&self) -> (bool, Option<String>) {
        match self {
            ShortOrLong::Short(flag) => (flag.eq_ignore_ascii_case("true"), None),
            ShortOrLong::Long(ext) => (true, ext.name.as_ref().map(|t| t.0.clone())),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NetworkDef {
    pub name: Option<Text>,
    pub driver: Option<Text>,
    pub driver_opts: Option<KeyValues>,
    pub attachable: Option<Flag>,
    pub internal: Option<Flag>,
    pub labels: Option<KeyValues>,
    pub ipam: Option<Ipam>,
    pub external: Option<ShortOrLong<External>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ipam {
    #[serde(default)]
    pub config: Vec<IpamPool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IpamPool {
    pub subnet: Option<Text>,
    pub gateway: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VolumeDef {
    pub name: Option<Text>,
    pub driver: Option<Text>,
    pub driver_opts: Option<KeyValues>,
    pub external: Option<ShortOrLong<External>>,
}

/// A top-level secret or config.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DataDef {
    pub name: Option<Text>,
    /// Resolved to an absolute path at load; its bytes are in `data`.
    pub file: Option<Text>,
    pub labels: Option<KeyValues>,
    pub external: Option<ShortOrLong<External>>,
    #[serde(skip)]
    pub data: Vec<u8>,
}
