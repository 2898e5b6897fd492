//! What this node's kernel and userland can do, probed once at start. A missing capability
//! becomes a warning shown by `node inspect`, never a crash.

use rtnetlink::{Handle, LinkVxlan};
use tracing::warn;

use crate::links;
use crate::mesh::nft;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub vxlan: bool,
    pub nftables: bool,
    pub ipvs: bool,
}

/// A throwaway device name and a VNI no swarm uses (the maximum).
const PROBE_LINK: &str = "swarmd-vxprobe";
const PROBE_VNI: u32 = 0x00ff_ffff;

/// Probes the kernel and returns the capabilities with one warning per missing one.
pub async fn detect(handle: &Handle, ipvs: bool) -> (Capabilities, Vec<String>) {
    let caps = Capabilities {
        vxlan: vxlan_works(handle).await,
        nftables: nft::available().await,
        ipvs,
    };
    let mut warnings = Vec::new();
    if !caps.vxlan {
        warnings.push(
            "kernel cannot create VXLAN devices: no ingress overlay on this node".to_string(),
        );
    }
    if !caps.nftables {
        warnings.push(
            "`nft` (nftables) not found: no routing mesh, no task egress masquerade on this node"
                .to_string(),
        );
    }
    for w in &warnings {
        warn!("{w}");
    }
    (caps, warnings)
}

async fn vxlan_works(handle: &Handle) -> bool {
    // A leftover from a probe interrupted by a crash would make the add fail.
    if links::delete(handle, PROBE_LINK).await.is_err() {
        return false;
    }
    let added = handle
        .link()
        .add(
            LinkVxlan::new(PROBE_LINK, PROBE_VNI)
                .learning(false)
                .build(),
        )
        .execute()
        .await;
    if added.is_err() {
        return false;
    }
    links::delete(handle, PROBE_LINK).await.is_ok()
}
