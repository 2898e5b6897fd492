//! Mounts: what a task's container sees besides its image, as Docker's `Mount`. The node's
//! engine makes them: a named volume (created on the node by its driver when missing), a host
//! path (which must exist on the node), or a tmpfs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MountKind {
    #[default]
    Volume,
    Bind,
    Tmpfs,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Volume => "volume",
            MountKind::Bind => "bind",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

impl fmt::Display for MountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MountKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "volume" => Ok(MountKind::Volume),
            "bind" => Ok(MountKind::Bind),
            "tmpfs" => Ok(MountKind::Tmpfs),
            other => Err(format!(
                "type `{other}` is not a mount type; use volume, bind or tmpfs"
            )),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mount {
    pub kind: MountKind,
    /// The volume's name, or the path on the node; empty for tmpfs.
    pub source: String,
    /// Absolute path in the container.
    pub target: String,
    pub readonly: bool,
    /// Volumes only: the driver that creates it on the node (empty: the engine's `local`).
    pub volume_driver: String,
    /// Volumes only: the driver's options (`volume-opt=K=V`).
    pub volume_options: BTreeMap<String, String>,
    /// tmpfs only: its size in bytes; 0 = the engine's default (unlimited).
    pub tmpfs_size_bytes: i64,
    /// tmpfs only: its permission bits; 0 = the engine's default (1777).
    pub tmpfs_mode: u32,
}
