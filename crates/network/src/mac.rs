//! MAC addresses on the ingress overlay. Every address is derived from the IPv4 it carries
//! (`02:42:` + the four IP bytes, like Docker), so any node can compute a peer's or a task's
//! MAC from the store without asking anyone.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::error::DataplaneError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The all-zero address: in a VXLAN FDB it means "flood to this destination".
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// `02:42:a.b.c.d`: locally administered, unicast, unique as long as the IP is.
    pub fn from_ipv4(ip: Ipv4Addr) -> MacAddr {
        let o = ip.octets();
        MacAddr([0x02, 0x42, o[0], o[1], o[2], o[3]])
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// From a netlink link-layer attribute; anything but 6 bytes is not Ethernet.
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = DataplaneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DataplaneError::InvalidInput(format!("`{s}` is not a MAC address"));
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let part = parts.next().ok_or_else(bad)?;
            if part.len() != 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_docker_style_mac_from_ip() {
        let mac = MacAddr::from_ipv4(Ipv4Addr::new(10, 255, 0, 5));
        assert_eq!(mac.to_string(), "02:42:0a:ff:00:05");
    }

    #[test]
    fn parses_and_prints_round_trip() {
        let mac: MacAddr = "02:42:0A:ff:00:05".parse().unwrap();
        assert_eq!(mac, MacAddr([2, 0x42, 10, 255, 0, 5]));
        assert_eq!(mac.to_string(), "02:42:0a:ff:00:05");
    }

    #[test]
    fn rejects_malformed_macs() {
        for bad in [
            "",
            "02:42:0a:ff:00",
            "02:42:0a:ff:00:05:06",
            "2:42:0a:ff:00:05",
            "zz:42:0a:ff:00:05",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn from_slice_accepts_only_six_bytes() {
        assert_eq!(
            MacAddr::from_slice(&[1, 2, 3, 4, 5, 6]),
            Some(MacAddr([1, 2, 3, 4, 5, 6]))
        );
        assert_eq!(MacAddr::from_slice(&[1, 2, 3]), None);
    }
}
