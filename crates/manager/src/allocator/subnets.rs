//! Subnets, VNIs and addresses of user overlay networks, as pure functions of the store: a
//! new network's subnet is cut from the cluster's default address pool (Docker's 10.0.0.0/8
//! in /24s) and never overlaps another network or the nodes' own addresses; its VNI is the
//! lowest one free. Everything is read back from the stored objects, so a new leader can never
//! hand out a subnet, VNI or address twice.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use store::Tables;
use types::network::{FIRST_USER_VNI, MAX_VNI};
use types::{ClusterSpec, Network};

use super::ipam::IngressPool;
use crate::dispatcher::view::host_of;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubnetError {
    #[error("invalid spec.subnet: {subnet} overlaps network `{network}` ({theirs}); choose a subnet outside it, or leave --subnet out to get a free one")]
    Overlaps {
        subnet: String,
        network: String,
        theirs: String,
    },
    #[error("invalid spec.subnet: {subnet} holds node {node}'s address {addr}; overlay subnets must not overlap the hosts' network")]
    Underlay {
        subnet: String,
        node: String,
        addr: String,
    },
    #[error("the default address pool {pools:?} has no free /{mask_len} left; remove unused networks, or give --subnet")]
    PoolExhausted { pools: Vec<String>, mask_len: u32 },
    #[error("the cluster's default address pool `{pool}` / {mask_len} is not usable: {why}")]
    BadPool {
        pool: String,
        mask_len: u32,
        why: String,
    },
    #[error("every VXLAN network identifier is taken; remove unused networks")]
    NoVni,
}

/// Whether `net` can be a new network's subnet: no overlap with another network, no node
/// address inside it.
pub fn check_subnet(tables: &Tables, net: Ipv4Net) -> Result<(), SubnetError> {
    for other in tables.networks.values() {
        if let Ok(theirs) = other.spec.subnet.parse::<Ipv4Net>() {
            if theirs.contains(&net.network()) || net.contains(&theirs.network()) {
                return Err(SubnetError::Overlaps {
                    subnet: net.to_string(),
                    network: other.spec.name.clone(),
                    theirs: theirs.to_string(),
                });
            }
        }
    }
    for node in tables.nodes.values() {
        if let Ok(ip) = host_of(&node.status.addr).parse::<Ipv4Addr>() {
            if net.contains(&ip) {
                return Err(SubnetError::Underlay {
                    subnet: net.to_string(),
                    node: node.description.hostname.clone(),
                    addr: ip.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The subnets one default pool is cut into.
fn cut(pool: &str, mask_len: u32) -> Result<ipnet::Ipv4Subnets, SubnetError> {
    let bad = |why: &str| SubnetError::BadPool {
        pool: pool.to_string(),
        mask_len,
        why: why.to_string(),
    };
    let net: Ipv4Net = pool.parse().map_err(|_| bad("not an IPv4 CIDR"))?;
    if net.trunc() != net {
        return Err(bad("it has host bits set"));
    }
    if mask_len > 29 {
        return Err(bad("subnets must be /29 or larger"));
    }
    net.subnets(mask_len as u8)
        .map_err(|_| bad("the mask length is shorter than the pool's prefix"))
}

/// Whether a cluster may be created with these default pools (`--default-addr-pool`).
pub fn check_pools(pools: &[String], mask_len: u32) -> Result<(), SubnetError> {
    pools.iter().try_for_each(|p| cut(p, mask_len).map(drop))
}

/// The first subnet of the cluster's default pools that [`check_subnet`] accepts.
pub fn choose_subnet(tables: &Tables, cluster: &ClusterSpec) -> Result<Ipv4Net, SubnetError> {
    let mask_len = cluster.default_addr_pool_mask_len;
    for pool in &cluster.default_addr_pool {
        if let Some(free) = cut(pool, mask_len)?.find(|s| check_subnet(tables, *s).is_ok()) {
            return Ok(free);
        }
    }
    Err(SubnetError::PoolExhausted {
        pools: cluster.default_addr_pool.clone(),
        mask_len,
    })
}

/// The lowest VNI above ingress's that no network has.
pub fn free_vni(tables: &Tables) -> Result<u32, SubnetError> {
    let used: std::collections::BTreeSet<u32> =
        tables.networks.values().map(|n| n.spec.vni).collect();
    (FIRST_USER_VNI..=MAX_VNI)
        .find(|v| !used.contains(v))
        .ok_or(SubnetError::NoVni)
}

/// The addresses of a user network in use: its gateway, every task's attachment to it and
/// every service's virtual IP on it.
pub fn pool_of(tables: &Tables, network: &Network) -> Option<IngressPool> {
    let mut pool = IngressPool::new(&network.spec.subnet).ok()?;
    pool.mark(&network.spec.gateway);
    for t in tables.tasks.values() {
        for a in t.networks.iter().filter(|a| a.network_id == network.id) {
            pool.mark(&a.addr);
        }
    }
    for s in tables.services.values() {
        for v in s.virtual_ips.iter().filter(|v| v.network_id == network.id) {
            pool.mark(&v.addr);
        }
    }
    Some(pool)
}
