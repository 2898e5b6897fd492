//! The gateway bridge: how a task that is not on the ingress network reaches the outside, as
//! Docker's `docker_gwbridge`. A task is on ingress only when its service publishes a port in
//! ingress mode; every other task (unless all its networks are `--internal`) gets one more
//! interface here, with the default route through the node, masqueraded on the way out.
//!
//! - One bridge per node (`swarm-gw`), holding the subnet's first address; the subnet is the
//!   node's own (`swarmd --gateway-subnet`, 172.18.0.0/16 by default, as Docker's first pick).
//! - Addresses are node-local, allocated here. The host end of each task's pair carries a MAC
//!   that encodes the address ([`host_mac`]), so a restarted swarmd learns which addresses
//!   are taken by reading the kernel: nothing to keep in step in a file.
//! - Ports are isolated (bridge port isolation) and the node drops traffic routed from the
//!   bridge back into it: tasks here reach the node and the outside, never each other, as
//!   `docker_gwbridge` runs with inter-container communication off. Nothing from elsewhere is
//!   forwarded into the bridge but replies and host-mode published ports (DNAT).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rtnetlink::packet_route::link::InfoBridgePort;
use rtnetlink::{Handle, LinkBridgePort};
use tracing::info;

use crate::config::DataplaneConfig;
use crate::error::{DataplaneError, Result};
use crate::links;
use crate::mac::MacAddr;
use crate::mesh::nft;
use crate::overlay::Overlay;
use crate::plan::LinkSpec;
use crate::plumbing::{self, ContainerSide, VethNames};

/// The nftables table that filters and masquerades the gateway bridge's traffic.
pub const TABLE: &str = "swarmd_gw";

/// MTU of the gateway's pairs: traffic leaves through the node's own interface, not a tunnel.
const MTU: u32 = 1500;

/// Whether a task gets an interface on the gateway bridge: only when it has no ingress
/// interface (which then routes its egress), and either it publishes a host-mode port (which
/// the node DNATs to this interface) or one of its networks lets traffic out of the cluster.
/// A task on no network at all still gets egress, as on Docker.
pub fn needs_gateway(on_ingress: bool, host_ports: bool, internal: &[bool]) -> bool {
    !on_ingress && (host_ports || internal.is_empty() || internal.iter().any(|i| !i))
}

/// The MAC of a pair's host end: `06:42:` + the task's address. Locally administered like the
/// container end's `02:42:` + address, but never equal to it (the bridge would take frames
/// for the task as its own).
pub fn host_mac(addr: Ipv4Addr) -> MacAddr {
    let o = addr.octets();
    MacAddr([0x06, 0x42, o[0], o[1], o[2], o[3]])
}

/// The address a host end's MAC encodes, if it is one of ours.
pub fn addr_of_host_mac(mac: MacAddr) -> Option<Ipv4Addr> {
    let b = mac.octets();
    (b[0] == 0x06 && b[1] == 0x42).then(|| Ipv4Addr::new(b[2], b[3], b[4], b[5]))
}

/// The node-local addresses of the gateway subnet: the first host is the node's, the others
/// go to tasks, lowest free first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayPool {
    subnet: Ipv4Net,
    used: BTreeSet<Ipv4Addr>,
}

impl GatewayPool {
    pub fn new(subnet: Ipv4Net) -> GatewayPool {
        GatewayPool {
            subnet: subnet.trunc(),
            used: BTreeSet::new(),
        }
    }

    pub fn subnet(&self) -> Ipv4Net {
        self.subnet
    }

    /// The node's address on the bridge: the tasks' default gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        self.subnet.hosts().next().unwrap_or(self.subnet.network())
    }

    /// Records an address found in use; one outside the subnet is refused.
    pub fn mark(&mut self, addr: Ipv4Addr) -> bool {
        let ok = self.subnet.contains(&addr) && addr != self.gateway();
        if ok {
            self.used.insert(addr);
        }
        ok
    }

    pub fn release(&mut self, addr: Ipv4Addr) {
        self.used.remove(&addr);
    }

    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let gateway = self.gateway();
        let free = self
            .subnet
            .hosts()
            .find(|a| *a != gateway && !self.used.contains(a))?;
        self.used.insert(free);
        Some(free)
    }
}

/// An address of the node, on another interface than the gateway bridge, inside the gateway
/// subnet: the node routes that subnet elsewhere already (Docker's own `docker_gwbridge` on
/// 172.18.0.0/16, say), and tasks' traffic would go astray.
pub fn clash(subnet: Ipv4Net, bridge: Option<u32>, addrs: &[(u32, Ipv4Addr)]) -> Option<Ipv4Addr> {
    addrs
        .iter()
        .find(|(index, ip)| Some(*index) != bridge && subnet.contains(ip))
        .map(|(_, ip)| *ip)
}

/// The table's script: replaced whole, atomically, as the mesh's is.
pub fn ruleset(bridge: &str, subnet: Ipv4Net) -> String {
    let mut s = String::new();
    writeln!(s, "table ip {TABLE} {{}}\ndelete table ip {TABLE}").unwrap();
    writeln!(s, "table ip {TABLE} {{").unwrap();
    writeln!(
        s,
        "\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;"
    )
    .unwrap();
    // A task sending to another one's address through the node (a route of its own making).
    writeln!(s, "\t\tiifname \"{bridge}\" oifname \"{bridge}\" drop").unwrap();
    writeln!(
        s,
        "\t\toifname \"{bridge}\" ct state established,related accept"
    )
    .unwrap();
    // Host-mode published ports are DNAT'ed here by the mesh.
    writeln!(s, "\t\toifname \"{bridge}\" ct status dnat accept").unwrap();
    writeln!(s, "\t\toifname \"{bridge}\" drop\n\t}}").unwrap();
    writeln!(
        s,
        "\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;"
    )
    .unwrap();
    writeln!(
        s,
        "\t\toifname != \"{bridge}\" ip saddr {subnet} masquerade"
    )
    .unwrap();
    // localhost:P of a host-mode port: 127.0.0.1 cannot be a source on the bridge.
    writeln!(
        s,
        "\t\toifname \"{bridge}\" ip saddr 127.0.0.0/8 ct status dnat masquerade\n\t}}"
    )
    .unwrap();
    writeln!(s, "}}").unwrap();
    s
}

/// The bridge, its table and its tasks on this node.
pub struct Gateway {
    pool: GatewayPool,
    /// The bridge's index once built (or found) by this process.
    bridge: Option<u32>,
    /// Task ID → its address here.
    tasks: BTreeMap<String, Ipv4Addr>,
    /// Pairs found plugged in at start, by host-end name, until their task is attached again
    /// or leaves.
    found: BTreeMap<String, Ipv4Addr>,
}

impl Gateway {
    pub fn new(subnet: Ipv4Net) -> Gateway {
        Gateway {
            pool: GatewayPool::new(subnet),
            bridge: None,
            tasks: BTreeMap::new(),
            found: BTreeMap::new(),
        }
    }

    /// Task ID → address, for host-mode ports.
    pub fn addresses(&self) -> &BTreeMap<String, Ipv4Addr> {
        &self.tasks
    }

    /// Builds (or adopts) the bridge and its table; the first time, also learns which
    /// addresses the pairs still plugged in from an earlier process hold. With `force`, the
    /// table is written again even if this process already did (the periodic repair).
    pub async fn ensure(
        &mut self,
        handle: &Handle,
        config: &DataplaneConfig,
        force: bool,
    ) -> Result<u32> {
        if let (Some(index), false) = (self.bridge, force) {
            return Ok(index);
        }
        let name = &config.gateway_bridge;
        let spec = LinkSpec {
            vni: 0,
            vxlan_port: 0,
            mtu: MTU,
            bridge_addr: Some((self.pool.gateway(), self.pool.subnet().prefix_len())),
        };
        let overlay = Overlay::new(
            handle.clone(),
            name.clone(),
            config.vxlan_prefix.clone(),
            config.underlay_addr,
            None,
        );
        if self.bridge.is_none() {
            let ours = links::by_name(handle, name).await?.map(|l| l.header.index);
            let addrs = links::all_ipv4_addrs(handle).await?;
            if let Some(ip) = clash(self.pool.subnet(), ours, &addrs) {
                return Err(DataplaneError::InvalidInput(format!(
                    "the gateway subnet {} holds {ip}, an address of this node on another interface; start swarmd with --gateway-subnet and a free subnet (given when the node is created or joins)",
                    self.pool.subnet()
                )));
            }
        }
        let index = overlay.ensure_bridge(&spec).await?;
        nft::run_script(
            &ruleset(name, self.pool.subnet()),
            "program the gateway bridge's table",
        )
        .await?;
        if self.bridge.is_none() {
            for port in links::ports_of(handle, index).await? {
                let addr = links::by_name(handle, &port)
                    .await?
                    .and_then(|l| links::mac(&l))
                    .and_then(|m| MacAddr::from_slice(&m))
                    .and_then(addr_of_host_mac);
                if let Some(addr) = addr.filter(|a| self.pool.mark(*a)) {
                    self.found.insert(port, addr);
                }
            }
            info!(bridge = %name, subnet = %self.pool.subnet(), "gateway bridge ready");
        }
        self.bridge = Some(index);
        Ok(index)
    }

    /// Writes the bridge and its table again if this process built them: the periodic repair
    /// of what was changed behind its back.
    pub async fn repair(&mut self, handle: &Handle, config: &DataplaneConfig) -> Result<()> {
        if self.bridge.is_some() {
            self.ensure(handle, config, true).await?;
        }
        Ok(())
    }

    /// Plugs a task in as `eth{index}` with a default route through the node. A pair still
    /// there from before a restart keeps its address.
    pub async fn attach(
        &mut self,
        handle: &Handle,
        config: &DataplaneConfig,
        task_id: &str,
        pid: u32,
        index: usize,
    ) -> Result<VethNames> {
        let bridge = self.ensure(handle, config, false).await?;
        let names = VethNames::for_gateway(&config.veth_prefix, task_id);
        let kept = match links::by_name(handle, &names.host).await? {
            Some(link) => {
                let kept = links::mac(&link)
                    .and_then(|m| MacAddr::from_slice(&m))
                    .and_then(addr_of_host_mac)
                    .filter(|a| self.pool.subnet().contains(a));
                if kept.is_none() {
                    // Not made by this code (or half-made): start again with a fresh pair.
                    links::delete(handle, &names.host).await?;
                }
                kept
            }
            None => None,
        };
        let addr = match kept.or_else(|| self.tasks.get(task_id).copied()) {
            Some(a) => {
                self.pool.mark(a);
                a
            }
            None => self.pool.allocate().ok_or_else(|| {
                DataplaneError::NotReady(format!(
                    "gateway subnet {} has no free address for task {task_id}",
                    self.pool.subnet()
                ))
            })?,
        };
        let side = ContainerSide {
            pid,
            ifname: format!("eth{index}"),
            addr,
            prefix: self.pool.subnet().prefix_len(),
            mac: MacAddr::from_ipv4(addr),
            mtu: MTU,
            gateway: Some(self.pool.gateway()),
        };
        let plugged = plumbing::attach(handle, bridge, &names, side, Some(host_mac(addr))).await;
        if let Err(e) = plugged {
            if !self.tasks.contains_key(task_id) {
                self.pool.release(addr);
            }
            return Err(e);
        }
        isolate(handle, &names.host).await?;
        self.found.remove(&names.host);
        self.tasks.insert(task_id.to_string(), addr);
        Ok(names)
    }

    /// Forgets a task's address (its pair is deleted with the task's others), also one
    /// found plugged in at start and never attached again by this process.
    pub fn release(&mut self, config: &DataplaneConfig, task_id: &str) {
        let host = VethNames::for_gateway(&config.veth_prefix, task_id).host;
        let addr = self.tasks.remove(task_id).or(self.found.remove(&host));
        if let Some(addr) = addr {
            self.pool.release(addr);
        }
    }

    /// Removes the bridge, whatever is still plugged into it, and the table.
    pub async fn teardown(&mut self, handle: &Handle, config: &DataplaneConfig) -> Result<()> {
        let name = &config.gateway_bridge;
        if let Some(bridge) = links::by_name(handle, name).await? {
            for port in links::ports_of(handle, bridge.header.index).await? {
                links::delete(handle, &port).await?;
            }
        }
        links::delete(handle, name).await?;
        nft::run_script(
            &format!("table ip {TABLE} {{}}\ndelete table ip {TABLE}\n"),
            "remove the gateway bridge's table",
        )
        .await?;
        *self = Gateway::new(self.pool.subnet());
        Ok(())
    }
}

/// Bridge port isolation: an isolated port forwards only to ports that are not isolated (the
/// bridge itself here), so two tasks on the gateway never see each other's frames.
async fn isolate(handle: &Handle, host: &str) -> Result<()> {
    let index = links::by_name(handle, host)
        .await?
        .map(|l| l.header.index)
        .ok_or_else(|| DataplaneError::NotReady(format!("link {host} vanished")))?;
    // Port settings go in an RTM_NEWLINK: `set` (RTM_SETLINK) would be acknowledged and ignored.
    handle
        .link()
        .set_port(
            LinkBridgePort::new(index)
                .append_info_data(InfoBridgePort::Isolated(true))
                .build(),
        )
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "isolate {host} on the gateway bridge"
        )))
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
