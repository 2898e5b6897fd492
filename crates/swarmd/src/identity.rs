//! The node identity persisted in the state directory, so a restart needs no flag but
//! `--state-dir`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::config::{ExecutorKind, MeshChoice};

const IDENTITY_FILE: &str = "node.json";

/// Who this node is: written once it has created or joined a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub node_id: String,
    pub cluster_id: String,
    /// 0 until the node is a manager.
    pub raft_id: u64,
    pub hostname: String,
    pub listen_addr: SocketAddr,
    pub advertise_addr: SocketAddr,
    /// Managers last known, to reconnect after a restart.
    pub managers: Vec<String>,
    pub docker_host: String,
    pub executor: ExecutorKind,
    pub mesh_backend: MeshChoice,
    pub link_prefix: String,
    /// Identities written before the gateway bridge existed get Docker's default.
    #[serde(default = "default_gateway_subnet")]
    pub gateway_subnet: Ipv4Net,
}

fn default_gateway_subnet() -> Ipv4Net {
    network::config::DEFAULT_GATEWAY_SUBNET
}

impl Identity {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(IDENTITY_FILE)
    }

    /// The identity of a node that already created or joined a cluster; `None` on a fresh dir.
    pub fn load(state_dir: &Path) -> Result<Option<Identity>> {
        let path = Self::path(state_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
                format!(
                    "state directory {} is corrupted: {} is not a valid identity; restore it or start with an empty --state-dir",
                    state_dir.display(),
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Written atomically (temp file + rename) so a crash never leaves half an identity.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        let path = Self::path(state_dir);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self)?;
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// Makes sure the state directory exists and is writable, with a message naming the fix.
pub fn prepare_state_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create state directory {}; pick a writable --state-dir",
            dir.display()
        )
    })?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").with_context(|| {
        format!(
            "state directory {} is not writable; fix its permissions or pick another --state-dir",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
