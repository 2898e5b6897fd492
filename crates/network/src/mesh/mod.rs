//! The routing mesh: one trait-like enum over the backends that balance published ports.
//! - `nft_render`: the pure ruleset rendering (both backends use nftables for matching,
//!   marking and masquerading).
//! - `nft`: the nftables backend (`numgen inc` DNAT maps), loaded with `nft -f -`.
//! - `ipvs`: the IPVS backend (fwmark services over generic netlink + nftables marks).
//! - `recording`: a fake that records plans, for tests without a kernel.

pub mod ipvs;
pub mod nft;
pub mod nft_delta;
pub mod nft_render;
pub mod recording;

use crate::error::Result;
use crate::plan::MeshPlan;
use types::{MeshBackendKind, MeshTable};

use crate::readback;

pub use ipvs::IpvsMesh;
pub use nft::NftMesh;
pub use recording::RecordingMesh;

/// The closed set of mesh backends.
#[derive(Debug)]
pub enum MeshBackend {
    Nftables(NftMesh),
    Ipvs(IpvsMesh),
    Recording(RecordingMesh),
}

impl MeshBackend {
    pub fn kind(&self) -> MeshBackendKind {
        match self {
            MeshBackend::Nftables(_) => MeshBackendKind::Nftables,
            MeshBackend::Ipvs(_) => MeshBackendKind::Ipvs,
            MeshBackend::Recording(_) => MeshBackendKind::None,
        }
    }

    /// Programs the plan; returns whether the kernel was changed.
    pub async fn program(&self, plan: &MeshPlan) -> Result<bool> {
        match self {
            MeshBackend::Nftables(m) => m.program(plan).await,
            MeshBackend::Ipvs(m) => m.program(plan).await,
            MeshBackend::Recording(m) => Ok(m.program(plan)),
        }
    }

    /// Forgets what was loaded so the next `program` rewrites the kernel (periodic resync).
    pub async fn forget(&self) {
        match self {
            MeshBackend::Nftables(m) => m.forget().await,
            MeshBackend::Ipvs(m) => m.forget().await,
            MeshBackend::Recording(_) => {}
        }
    }

    /// The live table, read from the kernel.
    pub async fn table(&self) -> Result<MeshTable> {
        match self {
            MeshBackend::Nftables(_) => {
                // One read: the JSON is parsed and also shown as it is (`node mesh --raw`).
                let raw = nft::list_table().await?.unwrap_or_default();
                let services = match raw.is_empty() {
                    true => Vec::new(),
                    false => readback::parse_nft_json(&raw)?,
                };
                Ok(MeshTable {
                    backend: self.kind(),
                    services,
                    raw,
                })
            }
            MeshBackend::Ipvs(m) => m.table().await,
            MeshBackend::Recording(m) => Ok(m.table()),
        }
    }

    pub async fn remove(&self) -> Result<()> {
        match self {
            MeshBackend::Nftables(m) => m.remove().await,
            MeshBackend::Ipvs(m) => m.remove().await,
            MeshBackend::Recording(m) => {
                m.remove();
                Ok(())
            }
        }
    }
}
