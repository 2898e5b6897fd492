//! Static VXLAN forwarding (FDB) and neighbour (ARP) entries: a pure diff of what the kernel
//! has against what the view wants, and the thin netlink calls that apply it. Only entries we
//! own are touched: FDB entries with a remote `dst` on our VXLAN device, permanent neighbours
//! on our bridge.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use rtnetlink::packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REPLACE,
    NLM_F_REQUEST,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::Handle;

use crate::error::{is_not_found, DataplaneError, Result};
use crate::mac::MacAddr;
use crate::plan::{FdbEntry, NeighEntry};

/// What to add and what to remove to turn `current` into `desired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff<T> {
    pub add: Vec<T>,
    pub remove: Vec<T>,
}

impl<T> Diff<T> {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

pub fn diff<T: Ord + Clone>(current: &BTreeSet<T>, desired: &BTreeSet<T>) -> Diff<T> {
    Diff {
        add: desired.difference(current).cloned().collect(),
        remove: current.difference(desired).cloned().collect(),
    }
}

/// FDB entries with a remote destination on the VXLAN device `ifindex`.
pub async fn dump_fdb(handle: &Handle, ifindex: u32) -> Result<BTreeSet<FdbEntry>> {
    let mut req = handle
        .neighbours()
        .get()
        .set_address_family(AddressFamily::Bridge)
        .execute();
    let mut out = BTreeSet::new();
    while let Some(msg) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("dump fdb"))?
    {
        if msg.header.ifindex != ifindex {
            continue;
        }
        let mut mac = None;
        let mut dst = None;
        for attr in &msg.attributes {
            match attr {
                NeighbourAttribute::LinkLayerAddress(l) => mac = MacAddr::from_slice(l),
                NeighbourAttribute::Destination(d) => dst = ipv4_of(d),
                _ => {}
            }
        }
        if let (Some(mac), Some(dst)) = (mac, dst) {
            out.insert(FdbEntry { mac, dst });
        }
    }
    Ok(out)
}

/// Permanent IPv4 neighbours on the bridge `ifindex` (the ones we install).
pub async fn dump_neighbours(handle: &Handle, ifindex: u32) -> Result<BTreeSet<NeighEntry>> {
    let mut req = handle
        .neighbours()
        .get()
        .set_address_family(AddressFamily::Inet)
        .execute();
    let mut out = BTreeSet::new();
    while let Some(msg) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("dump neighbours"))?
    {
        if msg.header.ifindex != ifindex || msg.header.state != NeighbourState::Permanent {
            continue;
        }
        let mut mac = None;
        let mut ip = None;
        for attr in &msg.attributes {
            match attr {
                NeighbourAttribute::LinkLayerAddress(l) => mac = MacAddr::from_slice(l),
                NeighbourAttribute::Destination(d) => ip = ipv4_of(d),
                _ => {}
            }
        }
        if let (Some(mac), Some(ip)) = (mac, ip) {
            out.insert(NeighEntry { ip, mac });
        }
    }
    Ok(out)
}

/// Bridge-family messages carry NDA_DST as raw bytes.
fn ipv4_of(addr: &NeighbourAddress) -> Option<Ipv4Addr> {
    match addr {
        NeighbourAddress::Inet(ip) => Some(*ip),
        NeighbourAddress::Other(b) => <[u8; 4]>::try_from(b.as_slice()).ok().map(Ipv4Addr::from),
        _ => None,
    }
}

fn fdb_message(ifindex: u32, e: &FdbEntry) -> NeighbourMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Bridge;
    msg.header.ifindex = ifindex;
    msg.header.state = NeighbourState::Permanent;
    // NTF_SELF: the entry belongs to the VXLAN device's own table (with a remote), not to
    // the bridge it is enslaved to.
    msg.header.flags = NeighbourFlags::Own;
    msg.attributes.push(NeighbourAttribute::LinkLayerAddress(
        e.mac.octets().to_vec(),
    ));
    msg.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
            e.dst,
        )));
    msg
}

/// Adds one FDB entry. The all-zero MAC holds one remote per peer, which needs NLM_F_APPEND
/// (`bridge fdb append`), which rtnetlink's request builder does not offer.
pub async fn add_fdb(handle: &Handle, ifindex: u32, e: &FdbEntry) -> Result<()> {
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(fdb_message(ifindex, e)));
    let mode = if e.mac == MacAddr::ZERO {
        NLM_F_APPEND
    } else {
        NLM_F_REPLACE
    };
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | mode;
    let mut handle = handle.clone();
    let mut resp = handle
        .request(req)
        .map_err(DataplaneError::netlink(format!(
            "fdb add {} dst {}",
            e.mac, e.dst
        )))?;
    while let Some(msg) = futures::StreamExt::next(&mut resp).await {
        if let NetlinkPayload::Error(err) = msg.payload {
            if err.code.is_some() {
                return Err(DataplaneError::Netlink {
                    context: format!("fdb add {} dst {}", e.mac, e.dst),
                    source: rtnetlink::Error::NetlinkError(err),
                });
            }
        }
    }
    Ok(())
}

pub async fn del_fdb(handle: &Handle, ifindex: u32, e: &FdbEntry) -> Result<()> {
    match handle
        .neighbours()
        .del(fdb_message(ifindex, e))
        .execute()
        .await
    {
        Err(err) if !is_not_found(&err) => Err(DataplaneError::netlink(format!(
            "fdb del {} dst {}",
            e.mac, e.dst
        ))(err)),
        _ => Ok(()),
    }
}

pub async fn add_neighbour(handle: &Handle, ifindex: u32, e: &NeighEntry) -> Result<()> {
    handle
        .neighbours()
        .add(ifindex, IpAddr::V4(e.ip))
        .link_layer_address(&e.mac.octets())
        .replace()
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!(
            "neigh add {} lladdr {}",
            e.ip, e.mac
        )))
}

pub async fn del_neighbour(handle: &Handle, ifindex: u32, e: &NeighEntry) -> Result<()> {
    let mut msg = NeighbourMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.ifindex = ifindex;
    msg.attributes
        .push(NeighbourAttribute::Destination(NeighbourAddress::Inet(
            e.ip,
        )));
    match handle.neighbours().del(msg).execute().await {
        Err(err) if !is_not_found(&err) => {
            Err(DataplaneError::netlink(format!("neigh del {}", e.ip))(err))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fdb(mac: [u8; 6], dst: [u8; 4]) -> FdbEntry {
        FdbEntry {
            mac: MacAddr(mac),
            dst: Ipv4Addr::from(dst),
        }
    }

    #[test]
    fn diff_adds_missing_and_removes_stale() {
        let keep = fdb([0; 6], [192, 168, 77, 2]);
        let stale = fdb([0; 6], [192, 168, 77, 9]);
        let new = fdb([2, 0x42, 10, 255, 0, 3], [192, 168, 77, 3]);
        let current = BTreeSet::from([keep, stale]);
        let desired = BTreeSet::from([keep, new]);
        let d = diff(&current, &desired);
        assert_eq!(d.add, vec![new]);
        assert_eq!(d.remove, vec![stale]);
    }

    #[test]
    fn diff_of_equal_sets_is_empty() {
        let s = BTreeSet::from([NeighEntry {
            ip: Ipv4Addr::new(10, 255, 0, 2),
            mac: MacAddr::from_ipv4(Ipv4Addr::new(10, 255, 0, 2)),
        }]);
        assert!(diff(&s, &s).is_empty());
    }

    #[test]
    fn a_moved_mac_is_removed_from_the_old_node_and_added_to_the_new() {
        let mac = [2, 0x42, 10, 255, 0, 7];
        let d = diff(
            &BTreeSet::from([fdb(mac, [192, 168, 77, 2])]),
            &BTreeSet::from([fdb(mac, [192, 168, 77, 3])]),
        );
        assert_eq!(d.remove, vec![fdb(mac, [192, 168, 77, 2])]);
        assert_eq!(d.add, vec![fdb(mac, [192, 168, 77, 3])]);
    }

    #[test]
    fn bridge_family_destinations_decode_from_raw_bytes() {
        assert_eq!(
            ipv4_of(&NeighbourAddress::Other(vec![192, 168, 77, 2])),
            Some(Ipv4Addr::new(192, 168, 77, 2))
        );
        assert_eq!(ipv4_of(&NeighbourAddress::Other(vec![1, 2])), None);
    }
}
