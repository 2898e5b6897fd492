//! The desired state of this node's data plane, derived from the leader's `NetworkView`:
//! pure functions, so reconcile decisions are table-tested without a kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddrV4};

use ipnet::Ipv4Net;
use types::{MeshService, NetworkView, PortProtocol, PublishMode};

use crate::error::DataplaneError;
use crate::mac::MacAddr;

/// The ingress network as this node must configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressPlan {
    pub subnet: Ipv4Net,
    pub vni: u32,
    pub vxlan_port: u16,
    pub mtu: u32,
    /// This node's IP on the overlay: the bridge's address and the tasks' default gateway.
    pub local_addr: Ipv4Addr,
}

impl IngressPlan {
    pub fn link(&self) -> LinkSpec {
        LinkSpec {
            vni: self.vni,
            vxlan_port: self.vxlan_port,
            mtu: self.mtu,
            bridge_addr: Some((self.local_addr, self.subnet.prefix_len())),
        }
    }
}

/// One overlay's bridge and VXLAN device on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSpec {
    pub vni: u32,
    pub vxlan_port: u16,
    pub mtu: u32,
    /// The node's address on the bridge and the subnet's prefix length; `None` on user
    /// networks, which the node only bridges.
    pub bridge_addr: Option<(Ipv4Addr, u8)>,
}

/// A static VXLAN forwarding entry: frames for `mac` go to the node at `dst`.
/// `MacAddr::ZERO` entries are the flood list (broadcast/ARP reaches every peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FdbEntry {
    pub mac: MacAddr,
    pub dst: Ipv4Addr,
}

/// A permanent ARP entry on the bridge so the node never has to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NeighEntry {
    pub ip: Ipv4Addr,
    pub mac: MacAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPlan {
    pub ingress: IngressPlan,
    pub fdb: BTreeSet<FdbEntry>,
    pub neighbours: BTreeSet<NeighEntry>,
}

/// One virtual service of the routing mesh: a published port and where it leads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MeshPort {
    pub protocol: PortProtocol,
    pub published: u16,
    pub mode: PublishMode,
    pub service_name: String,
    /// Task IP : target port, sorted so rendering is deterministic.
    pub backends: Vec<SocketAddrV4>,
}

/// Everything the mesh backend programs on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshPlan {
    /// Interface mesh traffic leaves through towards the backends (masqueraded there).
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub ports: Vec<MeshPort>,
}

/// Strips an optional `/prefix`: the store keeps bare addresses, but be lenient.
pub fn parse_ipv4(s: &str) -> Result<Ipv4Addr, DataplaneError> {
    let bare = s.split('/').next().unwrap_or(s);
    bare.parse()
        .map_err(|_| DataplaneError::InvalidInput(format!("`{s}` is not an IPv4 address")))
}

/// The ingress settings for this node, or `None` while the view lacks the ingress network
/// or this node has no ingress IP yet (the allocator has not caught up).
pub fn ingress_plan(
    view: &NetworkView,
    node_id: &str,
) -> Result<Option<IngressPlan>, DataplaneError> {
    let Some(net) = &view.ingress else {
        return Ok(None);
    };
    let Some(me) = view.peers.iter().find(|p| p.node_id == node_id) else {
        return Ok(None);
    };
    if me.ingress_addr.is_empty() {
        return Ok(None);
    }
    let subnet: Ipv4Net = net.spec.subnet.parse().map_err(|_| {
        DataplaneError::InvalidInput(format!(
            "ingress subnet `{}` is not IPv4 CIDR",
            net.spec.subnet
        ))
    })?;
    let vxlan_port = u16::try_from(net.spec.vxlan_port)
        .map_err(|_| DataplaneError::InvalidInput(format!("VXLAN port {}", net.spec.vxlan_port)))?;
    Ok(Some(IngressPlan {
        subnet: subnet.trunc(),
        vni: net.spec.vni,
        vxlan_port,
        mtu: net.spec.mtu,
        local_addr: parse_ipv4(&me.ingress_addr)?,
    }))
}

/// Static FDB and neighbour entries for every peer node and every remote task (libnetwork's
/// peerAdd, fed by the store instead of gossip). Local tasks are learned by the bridge.
pub fn overlay_plan(
    view: &NetworkView,
    node_id: &str,
) -> Result<Option<OverlayPlan>, DataplaneError> {
    let Some(ingress) = ingress_plan(view, node_id)? else {
        return Ok(None);
    };
    let mut underlay_of = BTreeMap::new();
    let mut fdb = BTreeSet::new();
    let mut neighbours = BTreeSet::new();
    for peer in view.peers.iter().filter(|p| p.node_id != node_id) {
        let dst = parse_ipv4(&peer.underlay_addr)?;
        underlay_of.insert(peer.node_id.as_str(), dst);
        fdb.insert(FdbEntry {
            mac: MacAddr::ZERO,
            dst,
        });
        if let Ok(ip) = parse_ipv4(&peer.ingress_addr) {
            let mac = MacAddr::from_ipv4(ip);
            fdb.insert(FdbEntry { mac, dst });
            neighbours.insert(NeighEntry { ip, mac });
        }
    }
    for ep in view.endpoints.iter().filter(|e| e.node_id != node_id) {
        // A task on a node we have no underlay address for cannot be reached yet.
        let Some(&dst) = underlay_of.get(ep.node_id.as_str()) else {
            continue;
        };
        let ip = parse_ipv4(&ep.addr)?;
        let mac = ep.mac.parse().unwrap_or_else(|_| MacAddr::from_ipv4(ip));
        fdb.insert(FdbEntry { mac, dst });
        neighbours.insert(NeighEntry { ip, mac });
    }
    Ok(Some(OverlayPlan {
        ingress,
        fdb,
        neighbours,
    }))
}

/// The routing mesh of this node: every ingress-published port with all the service's
/// backends (at their ingress addresses), and host-mode ports only for this node's own tasks,
/// at their ingress address or, for a task not on ingress, the address `local` (the gateway
/// bridge's) gives it here. A local task without either is left out until it has one.
pub fn mesh_plan(
    services: &[MeshService],
    node_id: &str,
    bridge: &str,
    subnet: Ipv4Net,
    local: &BTreeMap<String, Ipv4Addr>,
) -> Result<MeshPlan, DataplaneError> {
    let mut ports = Vec::new();
    for svc in services {
        for port in &svc.ports {
            let Ok(published) = u16::try_from(port.published_port) else {
                return Err(DataplaneError::InvalidInput(format!(
                    "service {}: published port {}",
                    svc.service_name, port.published_port
                )));
            };
            let target = u16::try_from(port.target_port).map_err(|_| {
                DataplaneError::InvalidInput(format!(
                    "service {}: target port {}",
                    svc.service_name, port.target_port
                ))
            })?;
            // 0 = not allocated yet; nothing to publish until the allocator fills it in.
            if published == 0 {
                continue;
            }
            let local_only = port.publish_mode == PublishMode::Host;
            let mut backends = Vec::new();
            for b in &svc.backends {
                if local_only && b.node_id != node_id {
                    continue;
                }
                let addr = match (b.addr.is_empty(), local_only) {
                    (false, _) => parse_ipv4(&b.addr)?,
                    (true, true) => match local.get(&b.task_id) {
                        Some(a) => *a,
                        None => continue,
                    },
                    (true, false) => continue,
                };
                backends.push(SocketAddrV4::new(addr, target));
            }
            if local_only && backends.is_empty() {
                continue;
            }
            backends.sort();
            backends.dedup();
            ports.push(MeshPort {
                protocol: port.protocol,
                published,
                mode: port.publish_mode,
                service_name: svc.service_name.clone(),
                backends,
            });
        }
    }
    ports.sort();
    Ok(MeshPlan {
        bridge: bridge.to_string(),
        subnet,
        ports,
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
