//! One overlay on this node: bridge + VXLAN device (learning off) bound to the advertise
//! address, on ingress the node's IP on the bridge, and the static FDB/neighbour entries for
//! every peer and remote task. The ingress overlay and each user network are one `Overlay`
//! each, told apart by bridge name and VNI. Re-adopts links it finds on restart; recreates a
//! VXLAN device whose VNI, port or local address no longer match.

use std::collections::BTreeSet;

use std::net::Ipv4Addr;

use rtnetlink::packet_core::DefaultNla;
use rtnetlink::packet_route::link::{InfoKind, InfoVxlan, LinkAttribute, LinkProtoInfoBridge};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{Handle, LinkBridge, LinkUnspec, LinkVxlan};
use tracing::{debug, info};

use crate::error::{DataplaneError, Result};
use crate::fdb;
use crate::links;
use crate::mac::MacAddr;
use crate::plan::{FdbEntry, LinkSpec, NeighEntry, OverlayPlan};

/// Interface indexes of the overlay, valid until the links are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayLinks {
    pub bridge: u32,
    pub vxlan: u32,
}

pub struct Overlay {
    handle: Handle,
    bridge_name: String,
    vxlan_prefix: String,
    underlay_addr: Ipv4Addr,
    underlay_dev: Option<String>,
}

impl Overlay {
    pub fn new(
        handle: Handle,
        bridge_name: String,
        vxlan_prefix: String,
        underlay_addr: Ipv4Addr,
        underlay_dev: Option<String>,
    ) -> Overlay {
        Overlay {
            handle,
            bridge_name,
            vxlan_prefix,
            underlay_addr,
            underlay_dev,
        }
    }

    pub fn vxlan_name(&self, vni: u32) -> String {
        format!("{}{}", self.vxlan_prefix, vni)
    }

    /// The ingress overlay's links, addresses and entries as the plan says.
    pub async fn reconcile(&self, plan: &OverlayPlan) -> Result<OverlayLinks> {
        self.reconcile_links(&plan.ingress.link(), &plan.fdb, &plan.neighbours)
            .await
    }

    /// Links and entries as given, touching only what differs.
    pub async fn reconcile_links(
        &self,
        spec: &LinkSpec,
        fdb_entries: &BTreeSet<FdbEntry>,
        neighbours: &BTreeSet<NeighEntry>,
    ) -> Result<OverlayLinks> {
        let links = self.ensure_links(spec).await?;
        let current = fdb::dump_fdb(&self.handle, links.vxlan).await?;
        let d = fdb::diff(&current, fdb_entries);
        // Stale first: a MAC that moved to another node must lose its old remote before
        // it is replaced, or frames would go to both.
        for e in &d.remove {
            fdb::del_fdb(&self.handle, links.vxlan, e).await?;
        }
        for e in &d.add {
            fdb::add_fdb(&self.handle, links.vxlan, e).await?;
        }
        let current = fdb::dump_neighbours(&self.handle, links.bridge).await?;
        let n = fdb::diff(&current, neighbours);
        for e in &n.remove {
            fdb::del_neighbour(&self.handle, links.bridge, e).await?;
        }
        for e in &n.add {
            fdb::add_neighbour(&self.handle, links.bridge, e).await?;
        }
        if !d.is_empty() || !n.is_empty() {
            debug!(
                fdb_added = d.add.len(),
                fdb_removed = d.remove.len(),
                neigh_added = n.add.len(),
                neigh_removed = n.remove.len(),
                "overlay entries reconciled"
            );
        }
        Ok(links)
    }

    async fn ensure_links(&self, plan: &LinkSpec) -> Result<OverlayLinks> {
        let bridge = self.ensure_bridge(plan).await?;
        let vxlan = self.ensure_vxlan(plan, bridge).await?;
        Ok(OverlayLinks { bridge, vxlan })
    }

    /// The bridge alone, addressed and up (the gateway bridge has no VXLAN device).
    pub(crate) async fn ensure_bridge(&self, plan: &LinkSpec) -> Result<u32> {
        let name = &self.bridge_name;
        // On ingress the bridge's MAC derives from its IP so peers can install our neighbour
        // entry without asking; a user network's bridge never speaks, so any MAC is unique
        // enough as long as it is this node's: it derives from the underlay address.
        let mac_ip = plan.bridge_addr.map_or(self.underlay_addr, |(ip, _)| ip);
        let mac = MacAddr::from_ipv4(mac_ip).octets().to_vec();
        let existing = links::by_name(&self.handle, name).await?;
        let index = match existing {
            Some(link) if links::kind(&link) == Some(&InfoKind::Bridge) => {
                if links::mtu(&link) != Some(plan.mtu)
                    || links::mac(&link).as_deref() != Some(&mac[..])
                {
                    self.handle
                        .link()
                        .set(
                            LinkUnspec::new_with_index(link.header.index)
                                .mtu(plan.mtu)
                                .address(mac)
                                .up()
                                .build(),
                        )
                        .execute()
                        .await
                        .map_err(DataplaneError::netlink(format!("update bridge {name}")))?;
                }
                link.header.index
            }
            other => {
                if other.is_some() {
                    info!(%name, "replacing a non-bridge link that holds an overlay bridge's name");
                    links::delete(&self.handle, name).await?;
                }
                self.handle
                    .link()
                    .add(LinkBridge::new(name).mtu(plan.mtu).address(mac).build())
                    .execute()
                    .await
                    .map_err(DataplaneError::netlink(format!("create bridge {name}")))?;
                info!(%name, "created overlay bridge");
                self.index_of(name).await?
            }
        };
        if let Some((ip, prefix)) = plan.bridge_addr {
            links::set_only_ipv4(&self.handle, index, ip, prefix, name).await?;
        }
        links::set_up(&self.handle, index, name).await?;
        Ok(index)
    }

    async fn ensure_vxlan(&self, plan: &LinkSpec, bridge: u32) -> Result<u32> {
        let name = self.vxlan_name(plan.vni);
        let dev_index = match &self.underlay_dev {
            Some(dev) => Some(self.index_of(dev).await?),
            None => None,
        };
        let existing = links::by_name(&self.handle, &name).await?;
        let reusable = existing.as_ref().is_some_and(|l| {
            let info = links::vxlan_info(l);
            links::kind(l) == Some(&InfoKind::Vxlan)
                && info.contains(&InfoVxlan::Id(plan.vni))
                && info.contains(&InfoVxlan::Port(plan.vxlan_port))
                && info.contains(&InfoVxlan::Local(self.underlay_addr))
                && info.contains(&InfoVxlan::Learning(false))
        });
        let index = match existing {
            Some(link) if reusable => link.header.index,
            other => {
                if other.is_some() {
                    info!(%name, "recreating VXLAN device whose settings changed");
                    links::delete(&self.handle, &name).await?;
                }
                let mut b = LinkVxlan::new(&name, plan.vni)
                    .port(plan.vxlan_port)
                    .local(self.underlay_addr)
                    .learning(false);
                if let Some(dev) = dev_index {
                    b = b.dev(dev);
                }
                self.handle
                    .link()
                    .add(b.build())
                    .execute()
                    .await
                    .map_err(DataplaneError::netlink(format!("create vxlan {name}")))?;
                info!(%name, vni = plan.vni, local = %self.underlay_addr, "created VXLAN device");
                self.index_of(&name).await?
            }
        };
        let link = links::by_name(&self.handle, &name).await?;
        let settled = link.as_ref().is_some_and(|l| {
            links::controller(l) == Some(bridge) && links::mtu(l) == Some(plan.mtu)
        });
        if !settled {
            self.handle
                .link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .controller(bridge)
                        .mtu(plan.mtu)
                        .up()
                        .build(),
                )
                .execute()
                .await
                .map_err(DataplaneError::netlink(format!("enslave {name}")))?;
        }
        self.port_learning_off(index, &name).await?;
        links::set_up(&self.handle, index, &name).await?;
        Ok(index)
    }

    /// Learning off on the VXLAN device is not enough: its *bridge port* would still learn,
    /// and a task MAC once seen through the tunnel (its IP reused on another node) would stay
    /// pinned to the tunnel for the bridge's aging time, dropping traffic to the new task.
    async fn port_learning_off(&self, index: u32, name: &str) -> Result<()> {
        // IFLA_BRPORT_LEARNING, set like `bridge link set dev X learning off` does: a
        // RTM_SETLINK of family AF_BRIDGE carrying IFLA_PROTINFO.
        const IFLA_BRPORT_LEARNING: u16 = 8;
        let learning = LinkProtoInfoBridge::Other(DefaultNla::new(IFLA_BRPORT_LEARNING, vec![0]));
        self.handle
            .link()
            .set(
                LinkUnspec::new_with_index(index)
                    .interface_family(AddressFamily::Bridge)
                    .append_extra_attribute(LinkAttribute::ProtoInfoBridge(vec![learning]))
                    .build(),
            )
            .execute()
            .await
            .map_err(DataplaneError::netlink(format!(
                "learning off on bridge port {name}"
            )))
    }

    async fn index_of(&self, name: &str) -> Result<u32> {
        links::by_name(&self.handle, name)
            .await?
            .map(|l| l.header.index)
            .ok_or_else(|| DataplaneError::NotReady(format!("link {name} vanished")))
    }

    /// Removes the bridge and every VXLAN device with our prefix (their FDB and neighbour
    /// entries go with them).
    pub async fn teardown(&self, vni: Option<u32>) -> Result<()> {
        if let Some(vni) = vni {
            links::delete(&self.handle, &self.vxlan_name(vni)).await?;
        }
        links::delete(&self.handle, &self.bridge_name).await
    }
}
