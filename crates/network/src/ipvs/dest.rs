//! Real servers (destinations) behind a virtual service, and how they map
//! to netlink attributes.

use std::net::{Ipv4Addr, SocketAddr};

use netlink_packet_core::DecodeError;

use super::attrs::{DestAttr, Stats};
use super::service::{ip_bytes, ip_from_bytes, AddressFamily};

/// How IPVS forwards to a destination (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForwardMethod {
    /// NAT: rewrite the destination to the real server (what the mesh uses).
    Masquerade,
    Local,
    Tunnel,
    DirectRoute,
    Bypass,
}

impl ForwardMethod {
    fn raw(self) -> u32 {
        match self {
            Self::Masquerade => 0,
            Self::Local => 1,
            Self::Tunnel => 2,
            Self::DirectRoute => 3,
            Self::Bypass => 4,
        }
    }

    fn from_raw(raw: u32) -> Result<Self, DecodeError> {
        Ok(match raw & 0x7 {
            0 => Self::Masquerade,
            1 => Self::Local,
            2 => Self::Tunnel,
            3 => Self::DirectRoute,
            4 => Self::Bypass,
            other => return Err(format!("IPVS forwarding method {other} is unknown").into()),
        })
    }
}

/// A real server behind a virtual service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub addr: SocketAddr,
    pub fwd_method: ForwardMethod,
    /// Relative share of new connections; 0 stops new ones (drain).
    pub weight: u32,
    /// Connection cap before the destination is skipped (0 = none).
    pub upper_threshold: u32,
    /// Connection count under which an overloaded destination returns.
    pub lower_threshold: u32,
    /// Read back only: established connections.
    pub active_conns: u32,
    /// Read back only: connections in other states (e.g. TIME_WAIT).
    pub inactive_conns: u32,
    /// Read back only: counters.
    pub stats: Option<Stats>,
}

impl Destination {
    /// A NAT destination, the kind the routing mesh uses.
    pub fn masquerade(addr: SocketAddr, weight: u32) -> Self {
        Self {
            addr,
            fwd_method: ForwardMethod::Masquerade,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            active_conns: 0,
            inactive_conns: 0,
            stats: None,
        }
    }

    /// Enough to find the destination (`DEL_DEST`).
    pub fn key_attrs(addr: SocketAddr) -> Vec<DestAttr> {
        vec![
            DestAttr::AddressFamily(AddressFamily::of(addr.ip()).raw()),
            DestAttr::Address(ip_bytes(addr.ip())),
            DestAttr::Port(addr.port()),
        ]
    }

    /// The full entry `NEW_DEST`/`SET_DEST` require (forwarding method,
    /// weight and both thresholds, else EINVAL).
    pub fn to_attrs(&self) -> Vec<DestAttr> {
        let mut attrs = Self::key_attrs(self.addr);
        attrs.push(DestAttr::FwdMethod(self.fwd_method.raw()));
        attrs.push(DestAttr::Weight(self.weight));
        attrs.push(DestAttr::UpperThreshold(self.upper_threshold));
        attrs.push(DestAttr::LowerThreshold(self.lower_threshold));
        attrs
    }

    /// Builds a destination from a dump entry. `service_family` is used when
    /// the kernel predates `IPVS_DEST_ATTR_ADDR_FAMILY`.
    pub fn from_attrs(
        attrs: &[DestAttr],
        service_family: AddressFamily,
    ) -> Result<Self, DecodeError> {
        let (mut family, mut addr, mut port) = (service_family, None, None);
        let mut dest = Destination::masquerade(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)), 0);
        for attr in attrs {
            match attr {
                DestAttr::Address(bytes) => addr = Some(bytes.as_slice()),
                DestAttr::Port(v) => port = Some(*v),
                DestAttr::AddressFamily(v) => family = AddressFamily::from_raw(*v)?,
                DestAttr::FwdMethod(v) => dest.fwd_method = ForwardMethod::from_raw(*v)?,
                DestAttr::Weight(v) => dest.weight = *v,
                DestAttr::UpperThreshold(v) => dest.upper_threshold = *v,
                DestAttr::LowerThreshold(v) => dest.lower_threshold = *v,
                DestAttr::ActiveConns(v) => dest.active_conns = *v,
                DestAttr::InactiveConns(v) => dest.inactive_conns = *v,
                DestAttr::Stats64(stats) => dest.stats = Some(*stats),
                DestAttr::Stats(stats) => {
                    dest.stats.get_or_insert(*stats);
                }
                DestAttr::PersistentConns(_) | DestAttr::Other(_) => {}
            }
        }
        let addr = addr.ok_or("IPVS destination without an address")?;
        let port = port.ok_or("IPVS destination without a port")?;
        dest.addr = SocketAddr::new(ip_from_bytes(addr, family)?, port);
        Ok(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn kernel_addr(ip: [u8; 4]) -> Vec<u8> {
        ip.into_iter().chain([0; 12]).collect()
    }

    #[test]
    fn dest_round_trips_through_its_attributes() {
        let dest = Destination::masquerade("10.255.0.7:8080".parse().unwrap(), 1);
        let attrs = dest.to_attrs();
        assert_eq!(
            attrs,
            vec![
                DestAttr::AddressFamily(2),
                DestAttr::Address(vec![10, 255, 0, 7]),
                DestAttr::Port(8080),
                DestAttr::FwdMethod(0),
                DestAttr::Weight(1),
                DestAttr::UpperThreshold(0),
                DestAttr::LowerThreshold(0),
            ]
        );
        assert_eq!(
            Destination::from_attrs(&attrs, AddressFamily::Inet).unwrap(),
            dest
        );
    }

    #[test]
    fn dest_family_falls_back_to_the_service_family() {
        let v6: Ipv6Addr = "fd00::2".parse().unwrap();
        let attrs = [
            DestAttr::Address(v6.octets().to_vec()),
            DestAttr::Port(80),
            DestAttr::FwdMethod(3),
        ];
        let dest = Destination::from_attrs(&attrs, AddressFamily::Inet6).unwrap();
        assert_eq!(dest.addr, SocketAddr::new(v6.into(), 80));
        assert_eq!(dest.fwd_method, ForwardMethod::DirectRoute);
        // A 16-byte address is only IPv6 when the family says so.
        let v4 = [
            DestAttr::Address(kernel_addr([10, 0, 0, 9])),
            DestAttr::Port(1),
        ];
        assert_eq!(
            Destination::from_attrs(&v4, AddressFamily::Inet)
                .unwrap()
                .addr,
            "10.0.0.9:1".parse().unwrap()
        );
        assert!(Destination::from_attrs(&[DestAttr::Port(1)], AddressFamily::Inet).is_err());
        assert!(Destination::from_attrs(
            &[DestAttr::Address(vec![1, 2, 3]), DestAttr::Port(1)],
            AddressFamily::Inet
        )
        .is_err());
    }
}
