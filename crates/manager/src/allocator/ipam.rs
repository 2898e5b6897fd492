//! Addresses on the ingress network: which are free, and the MAC derived from each.
//!
//! The pool holds no state of its own between passes: it is rebuilt from the addresses the
//! store's nodes and tasks hold, so a new leader can never hand out an address twice, and an
//! address comes free when the task holding it is deleted.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    #[error("ingress subnet `{subnet}` is not an IPv4 CIDR such as 10.255.0.0/16")]
    BadSubnet { subnet: String },
}

/// Free and used addresses of one subnet. The network address, the gateway (the first host)
/// and the broadcast address are never handed out.
#[derive(Debug, Clone)]
pub struct IngressPool {
    net: Ipv4Net,
    used: BTreeSet<u32>,
    /// The search starts after the highest address seen (or last handed out), so a
    /// just-released address is not reused while peers may still have it in their neighbour
    /// tables.
    highest: Option<u32>,
}

impl IngressPool {
    pub fn new(subnet: &str) -> Result<IngressPool, IpamError> {
        let net: Ipv4Net = subnet.parse().map_err(|_| IpamError::BadSubnet {
            subnet: subnet.to_string(),
        })?;
        let net = net.trunc();
        Ok(IngressPool {
            net,
            used: BTreeSet::new(),
            highest: None,
        })
    }

    /// The subnet as written in the network object, e.g. `10.255.0.0/16`.
    pub fn subnet(&self) -> String {
        self.net.to_string()
    }

    /// The reserved gateway: the subnet's first host address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.net.network()).saturating_add(1))
    }

    fn first(&self) -> u32 {
        u32::from(self.net.network()).saturating_add(2)
    }

    fn last(&self) -> u32 {
        u32::from(self.net.broadcast()).saturating_sub(1)
    }

    /// Records an address as in use; anything outside the subnet or unparsable is ignored.
    pub fn mark(&mut self, addr: &str) {
        if let Ok(ip) = addr.parse::<Ipv4Addr>() {
            if self.net.contains(&ip) {
                let n = u32::from(ip);
                self.used.insert(n);
                self.highest = Some(self.highest.map_or(n, |h| h.max(n)));
            }
        }
    }

    /// A free address, or `None` when the subnet is full.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let (first, last) = (self.first(), self.last());
        if first > last {
            return None;
        }
        let start = match self.highest {
            Some(h) if h >= first && h < last => h + 1,
            _ => first,
        };
        let found = (start..=last)
            .chain(first..start)
            .find(|n| !self.used.contains(n))?;
        self.used.insert(found);
        self.highest = Some(found);
        Some(Ipv4Addr::from(found))
    }
}

/// Docker's MAC for an IP on an overlay: `02:42:` followed by the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("02:42:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_gateway_and_broadcast_are_never_handed_out() {
        let mut pool = IngressPool::new("10.0.0.0/29").unwrap();
        let got: Vec<Ipv4Addr> = std::iter::from_fn(|| pool.allocate()).collect();
        let want: Vec<Ipv4Addr> = (2..=6).map(|d| Ipv4Addr::new(10, 0, 0, d)).collect();
        assert_eq!(got, want);
        assert_eq!(pool.gateway(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn addresses_in_use_are_skipped_and_search_continues_after_the_highest() {
        let mut pool = IngressPool::new("10.255.0.0/16").unwrap();
        pool.mark("10.255.0.2");
        pool.mark("10.255.0.9");
        pool.mark("192.168.1.1");
        pool.mark("garbage");
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 255, 0, 10)));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 255, 0, 11)));
    }

    #[test]
    fn search_wraps_around_to_released_addresses() {
        let mut pool = IngressPool::new("10.0.0.0/29").unwrap();
        for d in [2, 3, 5, 6] {
            pool.mark(&format!("10.0.0.{d}"));
        }
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 0, 0, 4)));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn tiny_and_bad_subnets() {
        assert_eq!(IngressPool::new("10.0.0.0/31").unwrap().allocate(), None);
        assert!(matches!(
            IngressPool::new("10.0.0.0/33"),
            Err(IpamError::BadSubnet { .. })
        ));
        assert!(IngressPool::new("fe80::/64").is_err());
        // Host bits are ignored, as `ip` does.
        assert_eq!(
            IngressPool::new("10.1.2.3/24").unwrap().subnet(),
            "10.1.2.0/24"
        );
    }

    #[test]
    fn mac_is_docker_style_lowercase_hex() {
        assert_eq!(mac_for(Ipv4Addr::new(10, 255, 0, 171)), "02:42:0a:ff:00:ab");
    }
}
