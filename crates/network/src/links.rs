//! Small rtnetlink lookups shared by the overlay and the task plumbing.

use futures::TryStreamExt;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage,
};
use rtnetlink::{Handle, LinkUnspec};
use std::net::{IpAddr, Ipv4Addr};

use crate::error::{is_not_found, DataplaneError, Result};

/// The link named `name`, or `None` when there is none.
pub async fn by_name(handle: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut req = handle.link().get().match_name(name).execute();
    match req.try_next().await {
        Ok(link) => Ok(link),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(DataplaneError::netlink(format!("get link {name}"))(e)),
    }
}

/// Deletes a link by name; a link already gone is fine.
pub async fn delete(handle: &Handle, name: &str) -> Result<()> {
    let Some(link) = by_name(handle, name).await? else {
        return Ok(());
    };
    match handle.link().del(link.header.index).execute().await {
        Err(e) if !is_not_found(&e) => {
            Err(DataplaneError::netlink(format!("delete link {name}"))(e))
        }
        _ => Ok(()),
    }
}

pub async fn set_up(handle: &Handle, index: u32, what: &str) -> Result<()> {
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(DataplaneError::netlink(format!("set {what} up")))
}

pub fn kind(link: &LinkMessage) -> Option<&InfoKind> {
    infos(link).find_map(|i| match i {
        LinkInfo::Kind(k) => Some(k),
        _ => None,
    })
}

pub fn vxlan_info(link: &LinkMessage) -> Vec<InfoVxlan> {
    infos(link)
        .find_map(|i| match i {
            LinkInfo::Data(InfoData::Vxlan(v)) => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn infos(link: &LinkMessage) -> impl Iterator<Item = &LinkInfo> {
    link.attributes
        .iter()
        .filter_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i.iter()),
            _ => None,
        })
        .flatten()
}

pub fn mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

pub fn mac(link: &LinkMessage) -> Option<Vec<u8>> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(m) => Some(m.clone()),
        _ => None,
    })
}

pub fn controller(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(c) => Some(*c),
        _ => None,
    })
}

/// Every IPv4 address of the namespace, with the index of the interface holding it.
pub async fn all_ipv4_addrs(handle: &Handle) -> Result<Vec<(u32, Ipv4Addr)>> {
    let mut req = handle.address().get().execute();
    let mut out = Vec::new();
    while let Some(msg) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("list addresses"))?
    {
        for attr in &msg.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = attr {
                out.push((msg.header.index, *ip));
            }
        }
    }
    Ok(out)
}

/// IPv4 addresses with prefix length on interface `index`.
pub async fn ipv4_addrs(handle: &Handle, index: u32) -> Result<Vec<(Ipv4Addr, u8)>> {
    let mut req = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    let mut out = Vec::new();
    while let Some(msg) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("list addresses"))?
    {
        if msg.header.index != index {
            continue;
        }
        for attr in &msg.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = attr {
                out.push((*ip, msg.header.prefix_len));
            }
        }
    }
    Ok(out)
}

/// Makes `(ip, prefix)` the only IPv4 address of interface `index`.
pub async fn set_only_ipv4(
    handle: &Handle,
    index: u32,
    ip: Ipv4Addr,
    prefix: u8,
    what: &str,
) -> Result<()> {
    let current = ipv4_addrs(handle, index).await?;
    if current == [(ip, prefix)] {
        return Ok(());
    }
    let mut req = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(msg) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("list addresses"))?
    {
        let stale = msg.header.index == index
            && msg.attributes.iter().any(|a| matches!(a, AddressAttribute::Address(IpAddr::V4(a)) if (*a, msg.header.prefix_len) != (ip, prefix)));
        if stale {
            handle
                .address()
                .del(msg)
                .execute()
                .await
                .map_err(DataplaneError::netlink(format!(
                    "remove stale address of {what}"
                )))?;
        }
    }
    if !current.contains(&(ip, prefix)) {
        handle
            .address()
            .add(index, IpAddr::V4(ip), prefix)
            .execute()
            .await
            .map_err(DataplaneError::netlink(format!(
                "add {ip}/{prefix} to {what}"
            )))?;
    }
    Ok(())
}

/// Names of the links enslaved to `controller_index`.
pub async fn ports_of(handle: &Handle, controller_index: u32) -> Result<Vec<String>> {
    names_where(handle, |link, _| controller(link) == Some(controller_index)).await
}

/// Names of the links whose name starts with `prefix`.
pub async fn names_with_prefix(handle: &Handle, prefix: &str) -> Result<Vec<String>> {
    names_where(handle, |_, name| name.starts_with(prefix)).await
}

async fn names_where(
    handle: &Handle,
    keep: impl Fn(&LinkMessage, &str) -> bool,
) -> Result<Vec<String>> {
    let mut req = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(link) = req
        .try_next()
        .await
        .map_err(DataplaneError::netlink("list links"))?
    {
        let name = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::IfName(n) => Some(n.clone()),
            _ => None,
        });
        if let Some(name) = name.filter(|n| keep(&link, n)) {
            out.push(name);
        }
    }
    Ok(out)
}
