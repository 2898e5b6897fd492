//! Task plumbing: a veth pair per task, the host end enslaved to the ingress bridge, the
//! other end moved into the container's namespace (by PID) and configured there as `eth0`
//! with the task's IP, MAC, MTU and a default route via the node's ingress IP.

use std::net::Ipv4Addr;

use rtnetlink::{Handle, LinkUnspec, LinkVeth, RouteMessageBuilder};
use std::net::IpAddr;

use crate::error::{DataplaneError, Result};
use crate::links;
use crate::mac::MacAddr;
use crate::netns;

/// How the container side of a task's interface is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSide {
    pub pid: u32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub mac: MacAddr,
    pub mtu: u32,
    pub gateway: Ipv4Addr,
}

/// Interface names of one task: `vt` + the first 10 characters of its ID on the host, a
/// temporary name for the end on its way into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethNames {
    pub host: String,
    pub peer: String,
}

impl VethNames {
    pub fn for_task(prefix: &str, task_id: &str) -> VethNames {
        let short: String = task_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(10)
            .collect();
        VethNames {
            host: format!("{prefix}{short}"),
            peer: format!("{prefix}p{short}"),
        }
    }
}

/// Plugs a task in. Idempotent: an existing host end means the pair is still alive (a dead
/// container namespace takes its veth pair with it), so it is only re-enslaved.
pub async fn attach(
    handle: &Handle,
    bridge: u32,
    names: &VethNames,
    side: ContainerSide,
) -> Result<()> {
    if let Some(link) = links::by_name(handle, &names.host).await? {
        return enslave(handle, link.header.index, bridge, side.mtu, &names.host).await;
    }
    // A leftover temporary end from an attach that failed half-way.
    links::delete(handle, &names.peer).await?;
    handle
        .link()
        .add(
            LinkVeth::new(&names.host, &names.peer)
                .mtu(side.mtu)
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "create veth {}",
            names.host
        )))?;
    let result = plug(handle, bridge, names, &side).await;
    if result.is_err() {
        // Leave nothing half-made behind; the next attach starts clean.
        links::delete(handle, &names.host).await?;
    }
    result
}

async fn plug(handle: &Handle, bridge: u32, names: &VethNames, side: &ContainerSide) -> Result<()> {
    let host = index(handle, &names.host).await?;
    enslave(handle, host, bridge, side.mtu, &names.host).await?;
    let peer = index(handle, &names.peer).await?;
    handle
        .link()
        .set(
            LinkUnspec::new_with_index(peer)
                .setns_by_pid(side.pid)
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "move {} into pid {}'s netns",
            names.peer, side.pid
        )))?;
    let peer_name = names.peer.clone();
    let side = side.clone();
    netns::run_in(netns::path_of_pid(side.pid), move |h| async move {
        configure_container(&h, &peer_name, &side).await
    })
    .await
}

async fn enslave(handle: &Handle, index: u32, bridge: u32, mtu: u32, name: &str) -> Result<()> {
    handle
        .link()
        .set(
            LinkUnspec::new_with_index(index)
                .controller(bridge)
                .mtu(mtu)
                .up()
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "enslave {name} to the ingress bridge"
        )))
}

async fn index(handle: &Handle, name: &str) -> Result<u32> {
    links::by_name(handle, name)
        .await?
        .map(|l| l.header.index)
        .ok_or_else(|| DataplaneError::NotReady(format!("link {name} vanished")))
}

/// Runs inside the container's namespace.
async fn configure_container(h: &Handle, peer: &str, side: &ContainerSide) -> Result<()> {
    let idx = index(h, peer).await?;
    h.link()
        .set(
            LinkUnspec::new_with_index(idx)
                .name("eth0")
                .address(side.mac.octets().to_vec())
                .mtu(side.mtu)
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(
            "rename container interface to eth0",
        ))?;
    links::set_only_ipv4(h, idx, side.addr, side.prefix, "container eth0").await?;
    links::set_up(h, idx, "container eth0").await?;
    if let Some(lo) = links::by_name(h, "lo").await? {
        links::set_up(h, lo.header.index, "container lo").await?;
    }
    let route = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(side.gateway)
        .output_interface(idx)
        .build();
    h.route()
        .add(route)
        .replace()
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "default route via {}",
            IpAddr::V4(side.gateway)
        )))
}

/// Unplugs a task: deleting the host end removes the pair.
pub async fn detach(handle: &Handle, names: &VethNames) -> Result<()> {
    links::delete(handle, &names.host).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_ifnamsiz_and_skip_punctuation() {
        let n = VethNames::for_task("vt", "a1b2-c3d4e5f6g7h8");
        assert_eq!(n.host, "vta1b2c3d4e5");
        assert_eq!(n.peer, "vtpa1b2c3d4e5");
        assert!(n.peer.len() <= 15);
    }
}
