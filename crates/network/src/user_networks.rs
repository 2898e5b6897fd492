//! The user networks on this node: each one's bridge and VXLAN device exist while a task of
//! this node is on it and are removed when the last one leaves (as Swarm does), including
//! those an earlier process left behind; and the tasks' interfaces on them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use rtnetlink::Handle;
use tracing::info;

use crate::config::DataplaneConfig;
use crate::error::{DataplaneError, Result};
use crate::links;
use crate::mac::MacAddr;
use crate::overlay::{Overlay, OverlayLinks};
use crate::plumbing::{self, ContainerSide, VethNames};
use crate::user_plan::UserNetworkPlan;

pub struct UserNetworks {
    /// Network ID → what was last built for it.
    applied: BTreeMap<String, (UserNetworkPlan, OverlayLinks)>,
    /// Links of networks not in `applied` may exist (at start, after a failure, after a
    /// network left): look for them on the next reconcile.
    unswept: bool,
}

/// A task's place on one of its user networks, as [`UserNetworks::attach`] plugs it.
pub struct Attachment<'a> {
    pub task_id: &'a str,
    /// 1 for its first user network: the interface is `eth{index}`.
    pub index: usize,
    pub network_id: &'a str,
    pub addr: Ipv4Addr,
    pub mac: MacAddr,
}

impl Default for UserNetworks {
    fn default() -> UserNetworks {
        UserNetworks {
            applied: BTreeMap::new(),
            unswept: true,
        }
    }
}

impl UserNetworks {
    /// Builds the networks `plans` names (all of them again with `force`) and removes the
    /// others.
    pub async fn reconcile(
        &mut self,
        handle: &Handle,
        config: &DataplaneConfig,
        plans: Vec<UserNetworkPlan>,
        force: bool,
    ) -> Result<()> {
        for p in &plans {
            if !force && self.applied.get(&p.network_id).is_some_and(|(a, _)| a == p) {
                continue;
            }
            let overlay = overlay_of(handle, config, p.vni);
            let built = overlay
                .reconcile_links(&p.link(), &p.fdb, &BTreeSet::new())
                .await;
            let links = built.inspect_err(|_| self.unswept = true)?;
            if !self.applied.contains_key(&p.network_id) {
                info!(network = %p.network_id, vni = p.vni, "user network built on this node");
            }
            self.applied
                .insert(p.network_id.clone(), (p.clone(), links));
        }
        let before = self.applied.len();
        self.applied
            .retain(|id, _| plans.iter().any(|p| &p.network_id == id));
        if self.applied.len() < before || self.unswept || force {
            let wanted: BTreeSet<u32> = plans.iter().map(|p| p.vni).collect();
            sweep(handle, config, |vni| !wanted.contains(&vni)).await?;
            self.unswept = false;
        }
        Ok(())
    }

    /// Plugs a task (any process in its netns: `pid`) into one of its user networks.
    pub async fn attach(
        &self,
        handle: &Handle,
        config: &DataplaneConfig,
        a: &Attachment<'_>,
        pid: u32,
    ) -> Result<VethNames> {
        let Some((plan, links)) = self.applied.get(a.network_id) else {
            return Err(DataplaneError::NotReady(format!(
                "task {}: network {} is not built on this node yet",
                a.task_id, a.network_id
            )));
        };
        if !plan.subnet.contains(&a.addr) {
            return Err(DataplaneError::InvalidInput(format!(
                "task {}: {} is outside network {}'s subnet {}",
                a.task_id, a.addr, a.network_id, plan.subnet
            )));
        }
        let names = VethNames::for_network(&config.veth_prefix, a.task_id, a.index);
        let side = ContainerSide {
            pid,
            ifname: format!("eth{}", a.index),
            addr: a.addr,
            prefix: plan.subnet.prefix_len(),
            mac: a.mac,
            mtu: plan.mtu,
            gateway: None,
        };
        plumbing::attach(handle, links.bridge, &names, side, None).await?;
        Ok(names)
    }

    pub fn clear(&mut self) {
        self.applied.clear();
        self.unswept = true;
    }
}

fn overlay_of(handle: &Handle, config: &DataplaneConfig, vni: u32) -> Overlay {
    Overlay::new(
        handle.clone(),
        config.user_bridge_name(vni),
        config.vxlan_prefix.clone(),
        config.underlay_addr,
        config.underlay_dev.clone(),
    )
}

/// Removes the user network bridges (with whatever is still plugged into them) and VXLAN
/// devices whose VNI `unwanted` says.
pub async fn sweep(
    handle: &Handle,
    config: &DataplaneConfig,
    unwanted: impl Fn(u32) -> bool,
) -> Result<()> {
    let prefix = &config.user_bridge_prefix;
    for name in links::names_with_prefix(handle, prefix).await? {
        let Some(vni) = name
            .strip_prefix(prefix.as_str())
            .and_then(|v| v.parse().ok())
        else {
            continue;
        };
        if !unwanted(vni) {
            continue;
        }
        if let Some(bridge) = links::by_name(handle, &name).await? {
            for port in links::ports_of(handle, bridge.header.index).await? {
                links::delete(handle, &port).await?;
            }
        }
        links::delete(handle, &config.vxlan_name(vni)).await?;
        links::delete(handle, &name).await?;
        info!(bridge = %name, vni, "user network removed from this node: no task of it is left");
    }
    Ok(())
}
