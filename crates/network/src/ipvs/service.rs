//! Virtual services, `ipvsadm`-shaped, and how they map to netlink
//! attributes; plus the address encoding shared with destinations.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use netlink_packet_core::DecodeError;

use super::attrs::{ServiceAttr, ServiceFlags, Stats};

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// Address family of a service or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    Inet,
    Inet6,
}

impl AddressFamily {
    pub(super) fn raw(self) -> u16 {
        match self {
            Self::Inet => AF_INET,
            Self::Inet6 => AF_INET6,
        }
    }

    pub(super) fn from_raw(raw: u16) -> Result<Self, DecodeError> {
        match raw {
            AF_INET => Ok(Self::Inet),
            AF_INET6 => Ok(Self::Inet6),
            other => {
                Err(format!("IPVS address family {other} is neither AF_INET nor AF_INET6").into())
            }
        }
    }

    pub(super) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Inet,
            IpAddr::V6(_) => Self::Inet6,
        }
    }

    /// The netmask meaning "no persistence grouping": a /32 IPv4 mask or a
    /// /128 IPv6 prefix, which is what ipvsadm sends by default.
    fn host_netmask(self) -> u32 {
        match self {
            Self::Inet => u32::MAX,
            Self::Inet6 => 128,
        }
    }
}

/// Transport protocol of a virtual service that is not fwmark-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    fn raw(self) -> u16 {
        match self {
            Self::Tcp => 6,
            Self::Udp => 17,
            Self::Sctp => 132,
        }
    }

    fn from_raw(raw: u16) -> Result<Self, DecodeError> {
        match raw {
            6 => Ok(Self::Tcp),
            17 => Ok(Self::Udp),
            132 => Ok(Self::Sctp),
            other => Err(format!("IPVS protocol {other} is not TCP, UDP or SCTP").into()),
        }
    }
}

/// What identifies a virtual service to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceId {
    /// Traffic to one `addr:port` with one protocol.
    Inet {
        protocol: Protocol,
        addr: SocketAddr,
    },
    /// Traffic carrying a firewall mark (set by nftables), any protocol and
    /// destination; what the routing mesh uses, one mark per published port.
    Fwmark { family: AddressFamily, mark: u32 },
}

impl ServiceId {
    pub fn family(&self) -> AddressFamily {
        match self {
            Self::Inet { addr, .. } => AddressFamily::of(addr.ip()),
            Self::Fwmark { family, .. } => *family,
        }
    }

    /// The attributes the kernel needs to find the service (enough for
    /// `DEL_SERVICE`, `GET_DEST` and the service half of destination calls).
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let mut attrs = vec![ServiceAttr::AddressFamily(self.family().raw())];
        match self {
            Self::Inet { protocol, addr } => {
                attrs.push(ServiceAttr::Protocol(protocol.raw()));
                attrs.push(ServiceAttr::Address(ip_bytes(addr.ip())));
                attrs.push(ServiceAttr::Port(addr.port()));
            }
            Self::Fwmark { mark, .. } => attrs.push(ServiceAttr::Fwmark(*mark)),
        }
        attrs
    }
}

impl fmt::Display for ServiceId {
    /// `ipvsadm -L -n` spelling: `TCP  10.0.0.1:80`, `FWM  256`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inet { protocol, addr } => {
                let name = match protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                    Protocol::Sctp => "SCTP",
                };
                write!(f, "{name}  {addr}")
            }
            Self::Fwmark {
                family: AddressFamily::Inet,
                mark,
            } => write!(f, "FWM  {mark}"),
            Self::Fwmark {
                family: AddressFamily::Inet6,
                mark,
            } => write!(f, "FWM  {mark} IPv6"),
        }
    }
}

/// A virtual service as programmed (or dumped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: ServiceId,
    /// Scheduler module name (`rr`, `wlc`, `sh`...); its module must be loaded.
    pub scheduler: String,
    /// `IP_VS_SVC_F_*`; the kernel adds `HASHED` (0x2) to what it reports.
    pub flags: u32,
    /// Persistence timeout in seconds (0 = no persistence).
    pub timeout: u32,
    /// Persistence grouping netmask (IPv4 mask in host integer form, e.g.
    /// 0xffff_ffff, or IPv6 prefix length).
    pub netmask: u32,
    /// Counters; only present on services read back from the kernel.
    pub stats: Option<Stats>,
}

impl Service {
    /// A non-persistent service with the given scheduler.
    pub fn new(id: ServiceId, scheduler: &str) -> Self {
        Self {
            id,
            scheduler: scheduler.to_owned(),
            flags: 0,
            timeout: 0,
            netmask: id.family().host_netmask(),
            stats: None,
        }
    }

    /// The full entry `NEW_SERVICE`/`SET_SERVICE` require: the kernel answers
    /// EINVAL unless scheduler, flags, timeout and netmask are all present.
    pub fn to_attrs(&self) -> Vec<ServiceAttr> {
        let mut attrs = self.id.to_attrs();
        attrs.push(ServiceAttr::SchedName(self.scheduler.clone()));
        attrs.push(ServiceAttr::Flags(ServiceFlags {
            flags: self.flags,
            mask: u32::MAX,
        }));
        attrs.push(ServiceAttr::Timeout(self.timeout));
        attrs.push(ServiceAttr::Netmask(self.netmask));
        attrs
    }

    /// Builds a service from a dump entry (`ip_vs_genl_fill_service`).
    pub fn from_attrs(attrs: &[ServiceAttr]) -> Result<Self, DecodeError> {
        let (mut af, mut protocol, mut addr, mut port, mut mark) = (None, None, None, None, None);
        let mut service = Service {
            id: ServiceId::Fwmark {
                family: AddressFamily::Inet,
                mark: 0,
            },
            scheduler: String::new(),
            flags: 0,
            timeout: 0,
            netmask: 0,
            stats: None,
        };
        for attr in attrs {
            match attr {
                ServiceAttr::AddressFamily(v) => af = Some(AddressFamily::from_raw(*v)?),
                ServiceAttr::Protocol(v) => protocol = Some(Protocol::from_raw(*v)?),
                ServiceAttr::Address(bytes) => addr = Some(bytes.as_slice()),
                ServiceAttr::Port(v) => port = Some(*v),
                ServiceAttr::Fwmark(v) => mark = Some(*v),
                ServiceAttr::SchedName(name) => service.scheduler.clone_from(name),
                ServiceAttr::Flags(flags) => service.flags = flags.flags,
                ServiceAttr::Timeout(v) => service.timeout = *v,
                ServiceAttr::Netmask(v) => service.netmask = *v,
                // The 64-bit counters win: they are the ones that do not wrap.
                ServiceAttr::Stats64(stats) => service.stats = Some(*stats),
                ServiceAttr::Stats(stats) => {
                    service.stats.get_or_insert(*stats);
                }
                ServiceAttr::Other(_) => {}
            }
        }
        let family = af.ok_or("IPVS service without an address family")?;
        service.id = match (mark, protocol, addr, port) {
            // The kernel reports fwmark services with the mark only.
            (Some(mark), ..) if mark != 0 => ServiceId::Fwmark { family, mark },
            (_, Some(protocol), Some(addr), Some(port)) => ServiceId::Inet {
                protocol,
                addr: SocketAddr::new(ip_from_bytes(addr, family)?, port),
            },
            _ => return Err("IPVS service with neither a fwmark nor protocol/address/port".into()),
        };
        Ok(service)
    }
}

/// IPv4 goes as 4 bytes: the kernel zero-fills the rest of `nf_inet_addr`.
pub(super) fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// The kernel sends the whole 16-byte `nf_inet_addr`; only the family says
/// whether the first 4 bytes are an IPv4 address.
pub(super) fn ip_from_bytes(bytes: &[u8], family: AddressFamily) -> Result<IpAddr, DecodeError> {
    match (family, bytes.len()) {
        (AddressFamily::Inet, 4 | 16) => {
            let octets: [u8; 4] = bytes[..4].try_into().expect("length checked");
            Ok(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        (AddressFamily::Inet6, 16) => {
            let octets: [u8; 16] = bytes.try_into().expect("length checked");
            Ok(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        (family, len) => Err(format!("IPVS {family:?} address of {len} bytes").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel_addr(ip: [u8; 4]) -> Vec<u8> {
        ip.into_iter().chain([0; 12]).collect()
    }

    #[test]
    fn new_service_carries_every_field_the_kernel_requires() {
        let id = ServiceId::Fwmark {
            family: AddressFamily::Inet,
            mark: 0x101,
        };
        let attrs = Service::new(id, "rr").to_attrs();
        assert_eq!(
            attrs,
            vec![
                ServiceAttr::AddressFamily(2),
                ServiceAttr::Fwmark(0x101),
                ServiceAttr::SchedName("rr".into()),
                ServiceAttr::Flags(ServiceFlags {
                    flags: 0,
                    mask: u32::MAX
                }),
                ServiceAttr::Timeout(0),
                ServiceAttr::Netmask(u32::MAX),
            ]
        );
    }

    #[test]
    fn inet_service_identity_has_protocol_address_and_port() {
        let id = ServiceId::Inet {
            protocol: Protocol::Udp,
            addr: "10.0.0.1:53".parse().unwrap(),
        };
        assert_eq!(
            id.to_attrs(),
            vec![
                ServiceAttr::AddressFamily(2),
                ServiceAttr::Protocol(17),
                ServiceAttr::Address(vec![10, 0, 0, 1]),
                ServiceAttr::Port(53),
            ]
        );
        assert_eq!(id.to_string(), "UDP  10.0.0.1:53");
    }

    #[test]
    fn decodes_a_kernel_service_dump_entry() {
        // ip_vs_genl_fill_service for TCP 10.1.0.100:80: a 16-byte address,
        // the HASHED flag set by the kernel, stats in both widths.
        let attrs = [
            ServiceAttr::AddressFamily(2),
            ServiceAttr::Protocol(6),
            ServiceAttr::Address(kernel_addr([10, 1, 0, 100])),
            ServiceAttr::Port(80),
            ServiceAttr::SchedName("rr".into()),
            ServiceAttr::Flags(ServiceFlags {
                flags: 2,
                mask: u32::MAX,
            }),
            ServiceAttr::Timeout(0),
            ServiceAttr::Netmask(u32::MAX),
            ServiceAttr::Stats(Stats {
                conns: 1,
                ..Stats::default()
            }),
            ServiceAttr::Stats64(Stats {
                conns: 5,
                ..Stats::default()
            }),
        ];
        let service = Service::from_attrs(&attrs).unwrap();
        assert_eq!(
            service.id,
            ServiceId::Inet {
                protocol: Protocol::Tcp,
                addr: "10.1.0.100:80".parse().unwrap()
            }
        );
        assert_eq!(service.scheduler, "rr");
        assert_eq!(service.flags, 2);
        assert_eq!(service.stats.unwrap().conns, 5);
    }

    #[test]
    fn decodes_an_fwmark_service_and_rejects_an_anonymous_one() {
        let attrs = [ServiceAttr::AddressFamily(2), ServiceAttr::Fwmark(7)];
        let service = Service::from_attrs(&attrs).unwrap();
        assert_eq!(
            service.id,
            ServiceId::Fwmark {
                family: AddressFamily::Inet,
                mark: 7
            }
        );
        assert_eq!(service.id.to_string(), "FWM  7");
        assert!(Service::from_attrs(&[ServiceAttr::AddressFamily(2)]).is_err());
        assert!(Service::from_attrs(&[ServiceAttr::Fwmark(7)]).is_err());
    }
}
