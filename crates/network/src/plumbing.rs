//! Task plumbing: a veth pair per task and network, the host end enslaved to the network's
//! bridge, the other end moved into the container's namespace (by PID) and configured there
//! as `eth0` (ingress: with a default route via the node's ingress IP) or `eth1`, `eth2`, …
//! (its user networks, in its spec's order: only the subnet's own route) with the task's IP,
//! MAC and MTU.

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
    /// `eth0` on ingress, `eth1`… on user networks.
    pub ifname: String,
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub mac: MacAddr,
    pub mtu: u32,
    /// The default route's gateway: on ingress only.
    pub gateway: Option<Ipv4Addr>,
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
        let short = short_id(task_id, 10);
        VethNames {
            host: format!("{prefix}{short}"),
            peer: format!("{prefix}p{short}"),
        }
    }

    /// The pair of a task's interface on the gateway bridge: as [`VethNames::for_network`],
    /// with `g` for the index.
    pub fn for_gateway(prefix: &str, task_id: &str) -> VethNames {
        let short = short_id(task_id, 9);
        VethNames {
            host: format!("{prefix}{short}_g"),
            peer: format!("{prefix}p{short}_g"),
        }
    }

    /// The pair of a task's `index`th user network (1, 2, …): one character less of the ID,
    /// then `_` and the index, within IFNAMSIZ up to index 99. The `_` keeps them apart from
    /// every [`VethNames::for_task`] name, which holds only letters and digits.
    pub fn for_network(prefix: &str, task_id: &str, index: usize) -> VethNames {
        let short = short_id(task_id, 9);
        VethNames {
            host: format!("{prefix}{short}_{index}"),
            peer: format!("{prefix}p{short}_{index}"),
        }
    }
}

/// The first `n` letters and digits of a task ID.
fn short_id(task_id: &str, n: usize) -> String {
    task_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(n)
        .collect()
}

/// Plugs a task in. Idempotent: an existing host end means the pair is still alive (a dead
/// container namespace takes its veth pair with it), so it is only re-enslaved. `host_mac`
/// is the host end's MAC when it must say something (the gateway's encodes the address).
pub async fn attach(
    handle: &Handle,
    bridge: u32,
    names: &VethNames,
    side: ContainerSide,
    host_mac: Option<MacAddr>,
) -> Result<()> {
    if let Some(link) = links::by_name(handle, &names.host).await? {
        return enslave(handle, link.header.index, bridge, side.mtu, &names.host).await;
    }
    // A leftover temporary end from an attach that failed half-way.
    links::delete(handle, &names.peer).await?;
    let mut veth = LinkVeth::new(&names.host, &names.peer).mtu(side.mtu);
    if let Some(mac) = host_mac {
        veth = veth.address(mac.octets().to_vec());
    }
    handle
        .link()
        .add(veth.build())
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
            "enslave {name} to its network's bridge"
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
    let name = side.ifname.as_str();
    h.link()
        .set(
            LinkUnspec::new_with_index(idx)
                .name(name)
                .address(side.mac.octets().to_vec())
                .mtu(side.mtu)
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "rename container interface to {name}"
        )))?;
    let what = format!("container {name}");
    links::set_only_ipv4(h, idx, side.addr, side.prefix, &what).await?;
    links::set_up(h, idx, &what).await?;
    if let Some(lo) = links::by_name(h, "lo").await? {
        links::set_up(h, lo.header.index, "container lo").await?;
    }
    let Some(gateway) = side.gateway else {
        return Ok(());
    };
    let route = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(gateway)
        .output_interface(idx)
        .build();
    h.route()
        .add(route)
        .replace()
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "default route via {}",
            IpAddr::V4(gateway)
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
        let n = VethNames::for_network("vt", "a1b2-c3d4e5f6g7h8", 12);
        assert_eq!(n.host, "vta1b2c3d4e_12");
        assert_eq!(n.peer, "vtpa1b2c3d4e_12");
        assert!(n.peer.len() <= 15);
        assert_ne!(
            VethNames::for_network("vt", "x1", 1).host,
            VethNames::for_task("vt", "x11").host
        );
        let g = VethNames::for_gateway("vt", "a1b2-c3d4e5f6g7h8");
        assert_eq!(
            (g.host.as_str(), g.peer.as_str()),
            ("vta1b2c3d4e_g", "vtpa1b2c3d4e_g")
        );
    }
}
