//! Netlink attributes of the IPVS family: the members of the nested
//! `IPVS_CMD_ATTR_SERVICE` and `IPVS_CMD_ATTR_DEST` attributes.
//!
//! Byte order follows the kernel's policies: address family, protocol,
//! fwmark, flags, timeout and the destination numbers are host order; ports
//! and the persistence netmask are network order (`nla_get_be16/be32`).
//! Addresses travel as `union nf_inet_addr`: the kernel always sends 16
//! bytes and accepts 4 for IPv4 (`nla_memcpy` zero-fills the rest).

use netlink_packet_core::{DecodeError, DefaultNla, Nla, NlaBuffer, Parseable, NLA_F_NESTED};

pub use super::stats::{Stats, StatsWidth};

// enum IPVS_SVC_ATTR_* in include/uapi/linux/ip_vs.h
const SVC_AF: u16 = 1;
const SVC_PROTOCOL: u16 = 2;
const SVC_ADDR: u16 = 3;
const SVC_PORT: u16 = 4;
const SVC_FWMARK: u16 = 5;
const SVC_SCHED_NAME: u16 = 6;
const SVC_FLAGS: u16 = 7;
const SVC_TIMEOUT: u16 = 8;
const SVC_NETMASK: u16 = 9;
const SVC_STATS: u16 = 10;
const SVC_STATS64: u16 = 12;

// enum IPVS_DEST_ATTR_* in include/uapi/linux/ip_vs.h
const DEST_ADDR: u16 = 1;
const DEST_PORT: u16 = 2;
const DEST_FWD_METHOD: u16 = 3;
const DEST_WEIGHT: u16 = 4;
const DEST_U_THRESH: u16 = 5;
const DEST_L_THRESH: u16 = 6;
const DEST_ACTIVE_CONNS: u16 = 7;
const DEST_INACT_CONNS: u16 = 8;
const DEST_PERSIST_CONNS: u16 = 9;
const DEST_STATS: u16 = 10;
const DEST_ADDR_FAMILY: u16 = 11;
const DEST_STATS64: u16 = 12;

/// `struct ip_vs_flags`: the kernel applies `flags` only where `mask` has a
/// bit set, so a full replacement sends `mask = u32::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceFlags {
    pub flags: u32,
    pub mask: u32,
}

/// One member of a nested `IPVS_CMD_ATTR_SERVICE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceAttr {
    /// `AF_INET` (2) or `AF_INET6` (10).
    AddressFamily(u16),
    /// IP protocol number (TCP 6, UDP 17, SCTP 132).
    Protocol(u16),
    /// Raw `nf_inet_addr` bytes (4 or 16); interpreted with the family.
    Address(Vec<u8>),
    Port(u16),
    Fwmark(u32),
    /// Scheduler name, e.g. `rr`; sent NUL-terminated.
    SchedName(String),
    Flags(ServiceFlags),
    /// Persistence timeout in seconds.
    Timeout(u32),
    /// Persistence netmask (IPv4 mask in network order, IPv6 prefix length).
    Netmask(u32),
    Stats(Stats),
    Stats64(Stats),
    /// Anything we do not model (e.g. `PE_NAME`), kept so nothing is lost.
    Other(DefaultNla),
}

/// One member of a nested `IPVS_CMD_ATTR_DEST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DestAttr {
    /// Raw `nf_inet_addr` bytes (4 or 16); interpreted with the family.
    Address(Vec<u8>),
    Port(u16),
    /// `IP_VS_CONN_F_FWD_MASK` bits of the connection flags (MASQ = 0).
    FwdMethod(u32),
    Weight(u32),
    UpperThreshold(u32),
    LowerThreshold(u32),
    ActiveConns(u32),
    InactiveConns(u32),
    PersistentConns(u32),
    /// Family of the destination address, which may differ from the
    /// service's (IPv6 service, IPv4 real server).
    AddressFamily(u16),
    Stats(Stats),
    Stats64(Stats),
    /// Tunnel settings and future members, kept verbatim.
    Other(DefaultNla),
}

fn sched_name_len(name: &str) -> usize {
    name.len() + 1
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::AddressFamily(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::Address(bytes) => bytes.len(),
            Self::SchedName(name) => sched_name_len(name),
            Self::Flags(_) => 8,
            Self::Stats(stats) => stats.body_len(StatsWidth::Legacy),
            Self::Stats64(stats) => stats.body_len(StatsWidth::Wide),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::AddressFamily(_) => SVC_AF,
            Self::Protocol(_) => SVC_PROTOCOL,
            Self::Address(_) => SVC_ADDR,
            Self::Port(_) => SVC_PORT,
            Self::Fwmark(_) => SVC_FWMARK,
            Self::SchedName(_) => SVC_SCHED_NAME,
            Self::Flags(_) => SVC_FLAGS,
            Self::Timeout(_) => SVC_TIMEOUT,
            Self::Netmask(_) => SVC_NETMASK,
            Self::Stats(_) => SVC_STATS | NLA_F_NESTED,
            Self::Stats64(_) => SVC_STATS64 | NLA_F_NESTED,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::AddressFamily(v) | Self::Protocol(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Port(port) => buffer.copy_from_slice(&port.to_be_bytes()),
            Self::Fwmark(v) | Self::Timeout(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Netmask(mask) => buffer.copy_from_slice(&mask.to_be_bytes()),
            Self::Address(bytes) => buffer.copy_from_slice(bytes),
            Self::SchedName(name) => {
                buffer[..name.len()].copy_from_slice(name.as_bytes());
                buffer[name.len()] = 0;
            }
            Self::Flags(flags) => {
                buffer[..4].copy_from_slice(&flags.flags.to_ne_bytes());
                buffer[4..8].copy_from_slice(&flags.mask.to_ne_bytes());
            }
            Self::Stats(stats) => stats.emit_body(StatsWidth::Legacy, buffer),
            Self::Stats64(stats) => stats.emit_body(StatsWidth::Wide, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Port(_) | Self::AddressFamily(_) => 2,
            Self::FwdMethod(_)
            | Self::Weight(_)
            | Self::UpperThreshold(_)
            | Self::LowerThreshold(_)
            | Self::ActiveConns(_)
            | Self::InactiveConns(_)
            | Self::PersistentConns(_) => 4,
            Self::Address(bytes) => bytes.len(),
            Self::Stats(stats) => stats.body_len(StatsWidth::Legacy),
            Self::Stats64(stats) => stats.body_len(StatsWidth::Wide),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Address(_) => DEST_ADDR,
            Self::Port(_) => DEST_PORT,
            Self::FwdMethod(_) => DEST_FWD_METHOD,
            Self::Weight(_) => DEST_WEIGHT,
            Self::UpperThreshold(_) => DEST_U_THRESH,
            Self::LowerThreshold(_) => DEST_L_THRESH,
            Self::ActiveConns(_) => DEST_ACTIVE_CONNS,
            Self::InactiveConns(_) => DEST_INACT_CONNS,
            Self::PersistentConns(_) => DEST_PERSIST_CONNS,
            Self::AddressFamily(_) => DEST_ADDR_FAMILY,
            Self::Stats(_) => DEST_STATS | NLA_F_NESTED,
            Self::Stats64(_) => DEST_STATS64 | NLA_F_NESTED,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Port(port) => buffer.copy_from_slice(&port.to_be_bytes()),
            Self::AddressFamily(af) => buffer.copy_from_slice(&af.to_ne_bytes()),
            Self::FwdMethod(v)
            | Self::Weight(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConns(v)
            | Self::InactiveConns(v)
            | Self::PersistentConns(v) => buffer.copy_from_slice(&v.to_ne_bytes()),
            Self::Address(bytes) => buffer.copy_from_slice(bytes),
            Self::Stats(stats) => stats.emit_body(StatsWidth::Legacy, buffer),
            Self::Stats64(stats) => stats.emit_body(StatsWidth::Wide, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

/// Reads a fixed-size value, naming the attribute when the kernel (or a
/// corrupted buffer) sends a different length.
fn fixed<const N: usize>(value: &[u8], what: &str) -> Result<[u8; N], DecodeError> {
    value.try_into().map_err(|_| {
        DecodeError::from(format!(
            "IPVS attribute {what}: expected {N} bytes, got {}",
            value.len()
        ))
    })
}

fn ne_u16(value: &[u8], what: &str) -> Result<u16, DecodeError> {
    fixed::<2>(value, what).map(u16::from_ne_bytes)
}

fn ne_u32(value: &[u8], what: &str) -> Result<u32, DecodeError> {
    fixed::<4>(value, what).map(u32::from_ne_bytes)
}

fn nul_string(value: &[u8], what: &str) -> Result<String, DecodeError> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8(value[..end].to_vec())
        .map_err(|e| DecodeError::from(format!("IPVS attribute {what}: {e}")))
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        Ok(match buf.kind() {
            SVC_AF => Self::AddressFamily(ne_u16(value, "SVC_AF")?),
            SVC_PROTOCOL => Self::Protocol(ne_u16(value, "SVC_PROTOCOL")?),
            SVC_ADDR => Self::Address(value.to_vec()),
            SVC_PORT => Self::Port(fixed::<2>(value, "SVC_PORT").map(u16::from_be_bytes)?),
            SVC_FWMARK => Self::Fwmark(ne_u32(value, "SVC_FWMARK")?),
            SVC_SCHED_NAME => Self::SchedName(nul_string(value, "SVC_SCHED_NAME")?),
            SVC_FLAGS => {
                let raw = fixed::<8>(value, "SVC_FLAGS")?;
                Self::Flags(ServiceFlags {
                    flags: ne_u32(&raw[..4], "SVC_FLAGS")?,
                    mask: ne_u32(&raw[4..], "SVC_FLAGS")?,
                })
            }
            SVC_TIMEOUT => Self::Timeout(ne_u32(value, "SVC_TIMEOUT")?),
            SVC_NETMASK => Self::Netmask(fixed::<4>(value, "SVC_NETMASK").map(u32::from_be_bytes)?),
            SVC_STATS => Self::Stats(Stats::parse(value)?),
            SVC_STATS64 => Self::Stats64(Stats::parse(value)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let value = buf.value();
        Ok(match buf.kind() {
            DEST_ADDR => Self::Address(value.to_vec()),
            DEST_PORT => Self::Port(fixed::<2>(value, "DEST_PORT").map(u16::from_be_bytes)?),
            DEST_FWD_METHOD => Self::FwdMethod(ne_u32(value, "DEST_FWD_METHOD")?),
            DEST_WEIGHT => Self::Weight(ne_u32(value, "DEST_WEIGHT")?),
            DEST_U_THRESH => Self::UpperThreshold(ne_u32(value, "DEST_U_THRESH")?),
            DEST_L_THRESH => Self::LowerThreshold(ne_u32(value, "DEST_L_THRESH")?),
            DEST_ACTIVE_CONNS => Self::ActiveConns(ne_u32(value, "DEST_ACTIVE_CONNS")?),
            DEST_INACT_CONNS => Self::InactiveConns(ne_u32(value, "DEST_INACT_CONNS")?),
            DEST_PERSIST_CONNS => Self::PersistentConns(ne_u32(value, "DEST_PERSIST_CONNS")?),
            DEST_ADDR_FAMILY => Self::AddressFamily(ne_u16(value, "DEST_ADDR_FAMILY")?),
            DEST_STATS => Self::Stats(Stats::parse(value)?),
            DEST_STATS64 => Self::Stats64(Stats::parse(value)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn emit(attr: &impl Nla) -> Vec<u8> {
        let mut buf = vec![0xAA; attr.buffer_len()];
        attr.emit(&mut buf);
        buf
    }

    #[test]
    fn service_members_match_the_kernel_layout() {
        // u16 host order, padded to 4 bytes.
        assert_eq!(
            emit(&ServiceAttr::AddressFamily(2)),
            [6, 0, 1, 0, 2, 0, 0, 0]
        );
        assert_eq!(emit(&ServiceAttr::Protocol(6)), [6, 0, 2, 0, 6, 0, 0, 0]);
        // Port 80 in network order.
        assert_eq!(emit(&ServiceAttr::Port(80)), [6, 0, 4, 0, 0, 80, 0, 0]);
        assert_eq!(emit(&ServiceAttr::Fwmark(0x100)), [8, 0, 5, 0, 0, 1, 0, 0]);
        // "rr" plus the NUL the kernel's NLA_NUL_STRING policy wants.
        assert_eq!(
            emit(&ServiceAttr::SchedName("rr".into())),
            [7, 0, 6, 0, b'r', b'r', 0, 0]
        );
        assert_eq!(
            emit(&ServiceAttr::Flags(ServiceFlags {
                flags: 1,
                mask: u32::MAX
            })),
            [12, 0, 7, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            emit(&ServiceAttr::Timeout(300)),
            [8, 0, 8, 0, 0x2c, 1, 0, 0]
        );
        // 255.255.255.0 in network order.
        assert_eq!(
            emit(&ServiceAttr::Netmask(0xffff_ff00)),
            [8, 0, 9, 0, 0xff, 0xff, 0xff, 0]
        );
        assert_eq!(
            emit(&ServiceAttr::Address(vec![10, 0, 0, 1])),
            [8, 0, 3, 0, 10, 0, 0, 1]
        );
    }

    #[test]
    fn dest_members_match_the_kernel_layout() {
        assert_eq!(emit(&DestAttr::Port(8080)), [6, 0, 2, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(emit(&DestAttr::FwdMethod(0)), [8, 0, 3, 0, 0, 0, 0, 0]);
        assert_eq!(emit(&DestAttr::Weight(1)), [8, 0, 4, 0, 1, 0, 0, 0]);
        assert_eq!(emit(&DestAttr::UpperThreshold(0)), [8, 0, 5, 0, 0, 0, 0, 0]);
        assert_eq!(emit(&DestAttr::LowerThreshold(0)), [8, 0, 6, 0, 0, 0, 0, 0]);
        assert_eq!(emit(&DestAttr::AddressFamily(2)), [6, 0, 11, 0, 2, 0, 0, 0]);
    }

    #[test]
    fn every_member_round_trips() {
        let services = [
            ServiceAttr::AddressFamily(10),
            ServiceAttr::Protocol(17),
            ServiceAttr::Address((1..=16).collect()),
            ServiceAttr::Port(443),
            ServiceAttr::Fwmark(7),
            ServiceAttr::SchedName("wlc".into()),
            ServiceAttr::Flags(ServiceFlags { flags: 2, mask: 3 }),
            ServiceAttr::Timeout(9),
            ServiceAttr::Netmask(128),
            ServiceAttr::Stats(Stats {
                conns: 3,
                in_bytes: 1 << 40,
                ..Stats::default()
            }),
            ServiceAttr::Stats64(Stats {
                out_bps: 1 << 40,
                ..Stats::default()
            }),
            ServiceAttr::Other(DefaultNla::new(11, b"sip\0".to_vec())),
        ];
        for attr in services {
            let bytes = emit(&attr);
            let parsed = ServiceAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap();
            assert_eq!(parsed, attr);
        }
        let dests = [
            DestAttr::Address(vec![192, 168, 1, 2]),
            DestAttr::Port(1),
            DestAttr::FwdMethod(3),
            DestAttr::Weight(5),
            DestAttr::UpperThreshold(6),
            DestAttr::LowerThreshold(7),
            DestAttr::ActiveConns(8),
            DestAttr::InactiveConns(9),
            DestAttr::PersistentConns(10),
            DestAttr::AddressFamily(2),
            DestAttr::Stats(Stats {
                cps: 4,
                ..Stats::default()
            }),
            DestAttr::Stats64(Stats {
                in_packets: 1 << 50,
                ..Stats::default()
            }),
            DestAttr::Other(DefaultNla::new(13, vec![0])),
        ];
        for attr in dests {
            let bytes = emit(&attr);
            let parsed = DestAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap();
            assert_eq!(parsed, attr);
        }
    }

    #[test]
    fn a_wrong_length_is_an_error_not_garbage() {
        // SVC_PORT with 4 value bytes instead of 2.
        let bytes = [8, 0, 4, 0, 0, 80, 0, 0];
        let err = ServiceAttr::parse(&NlaBuffer::new_checked(&bytes[..]).unwrap()).unwrap_err();
        assert!(err.to_string().contains("SVC_PORT"), "{err}");
    }
}
