//! The nftables routing mesh: each change is one atomic `nft -f -` transaction, carrying only
//! the ports that changed when the table already holds the previous ruleset (a full reload
//! otherwise, and after any failure), and the table is read back with `nft -j list`.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::Mutex;
use tracing::info;

use crate::error::{DataplaneError, Result};
use crate::mesh::nft_delta::render_delta;
use crate::mesh::nft_render::{self, IngressMode, Ruleset, TABLE};
use crate::plan::MeshPlan;

/// Programs the table; remembers the ruleset it last loaded, so an unchanged plan costs
/// nothing and a changed one only its difference.
#[derive(Debug)]
pub struct NftMesh {
    mode: IngressMode,
    loaded: Mutex<Option<Ruleset>>,
}

impl NftMesh {
    pub fn new(mode: IngressMode) -> NftMesh {
        NftMesh {
            mode,
            loaded: Mutex::new(None),
        }
    }

    /// Loads the plan; returns whether anything was sent to the kernel.
    pub async fn program(&self, plan: &MeshPlan) -> Result<bool> {
        let wanted = nft_render::ruleset(plan, self.mode);
        let mut loaded = self.loaded.lock().await;
        let delta = match loaded.take() {
            Some(old) if old == wanted => {
                *loaded = Some(old);
                return Ok(false);
            }
            Some(old) => render_delta(&old, &wanted),
            None => None,
        };
        match delta {
            Some(text) => {
                if let Err(e) = run_script(&text, "update mesh table").await {
                    // The kernel may not hold what we think (changed behind our back): the
                    // whole table is loaded again.
                    tracing::warn!(error = %e, "mesh update refused; reloading the whole table");
                    self.load_full(&wanted).await?;
                }
            }
            None => self.load_full(&wanted).await?,
        }
        *loaded = Some(wanted);
        Ok(true)
    }

    async fn load_full(&self, ruleset: &Ruleset) -> Result<()> {
        run_script(&nft_render::render_full(ruleset), "load mesh table").await?;
        info!(ports = ruleset.ports.len(), "mesh table loaded");
        Ok(())
    }

    /// Drops the cache so the next `program` reloads even an unchanged plan (resync).
    pub async fn forget(&self) {
        *self.loaded.lock().await = None;
    }

    pub async fn remove(&self) -> Result<()> {
        run_script(&nft_render::render_delete(), "delete mesh table").await?;
        self.forget().await;
        Ok(())
    }
}

/// Runs one `nft -f -` transaction.
pub async fn run_script(script: &str, context: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(DataplaneError::io(
            "run nft (is the nftables package installed?)",
        ))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(script.as_bytes())
        .await
        .map_err(DataplaneError::io("write to nft"))?;
    drop(stdin);
    let out = child
        .wait_with_output()
        .await
        .map_err(DataplaneError::io("wait for nft"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(DataplaneError::Nft {
            context: context.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `nft -j list table ip swarmd_mesh`; `None` when the table does not exist.
pub async fn list_table() -> Result<Option<String>> {
    let out = Command::new("nft")
        .args(["-j", "list", "table", "ip", TABLE])
        .output()
        .await
        .map_err(DataplaneError::io(
            "run nft (is the nftables package installed?)",
        ))?;
    if out.status.success() {
        return Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No such file or directory") {
        return Ok(None);
    }
    Err(DataplaneError::Nft {
        context: "list mesh table".into(),
        stderr: stderr.trim().to_string(),
    })
}

/// Whether the `nft` binary runs at all.
pub async fn available() -> bool {
    Command::new("nft")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}
