//! Traffic counters the kernel attaches to every service and destination in a
//! dump (`IPVS_SVC_ATTR_STATS[64]`, `IPVS_DEST_ATTR_STATS[64]`).

use netlink_packet_core::{DecodeError, DefaultNla, Emitable, NlasIterator};

// enum IPVS_STATS_ATTR_* in include/uapi/linux/ip_vs.h
const CONNS: u16 = 1;
const INPKTS: u16 = 2;
const OUTPKTS: u16 = 3;
const INBYTES: u16 = 4;
const OUTBYTES: u16 = 5;
const CPS: u16 = 6;
const INPPS: u16 = 7;
const OUTPPS: u16 = 8;
const INBPS: u16 = 9;
const OUTBPS: u16 = 10;

/// Counters of one virtual service or destination, widened to u64 so the
/// 32-bit (`STATS`) and 64-bit (`STATS64`) kernel encodings share one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled since the entry was created.
    pub conns: u64,
    /// Packets received from clients.
    pub in_packets: u64,
    /// Packets sent back to clients.
    pub out_packets: u64,
    /// Bytes received from clients.
    pub in_bytes: u64,
    /// Bytes sent back to clients.
    pub out_bytes: u64,
    /// Current connection rate (per second, estimator-smoothed).
    pub cps: u64,
    /// Current incoming packet rate.
    pub in_pps: u64,
    /// Current outgoing packet rate.
    pub out_pps: u64,
    /// Current incoming byte rate.
    pub in_bps: u64,
    /// Current outgoing byte rate.
    pub out_bps: u64,
}

/// Which of the two kernel layouts a nested stats attribute uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsWidth {
    /// `*_ATTR_STATS`: u32 counters and rates, u64 byte counters.
    Legacy,
    /// `*_ATTR_STATS64`: every field u64.
    Wide,
}

impl Stats {
    /// Parses the body of a nested stats attribute. Unknown members (the
    /// kernel's `IPVS_STATS_ATTR_PAD`, or fields newer than us) are skipped,
    /// and both 4- and 8-byte values are accepted whatever the width claims.
    pub fn parse(nested: &[u8]) -> Result<Self, DecodeError> {
        let mut stats = Stats::default();
        for nla in NlasIterator::new(nested) {
            let nla = nla?;
            let value = nla.value();
            let number = match value.len() {
                4 => u64::from(u32::from_ne_bytes(
                    value.try_into().expect("length checked"),
                )),
                8 => u64::from_ne_bytes(value.try_into().expect("length checked")),
                _ => continue,
            };
            let field = match nla.kind() {
                CONNS => &mut stats.conns,
                INPKTS => &mut stats.in_packets,
                OUTPKTS => &mut stats.out_packets,
                INBYTES => &mut stats.in_bytes,
                OUTBYTES => &mut stats.out_bytes,
                CPS => &mut stats.cps,
                INPPS => &mut stats.in_pps,
                OUTPPS => &mut stats.out_pps,
                INBPS => &mut stats.in_bps,
                OUTBPS => &mut stats.out_bps,
                _ => continue,
            };
            *field = number;
        }
        Ok(stats)
    }

    /// The nested members exactly as the kernel lays them out for `width`
    /// (`ip_vs_genl_fill_stats` / `ip_vs_genl_fill_stats64`).
    fn members(&self, width: StatsWidth) -> Vec<DefaultNla> {
        let fields = [
            (CONNS, self.conns, false),
            (INPKTS, self.in_packets, false),
            (OUTPKTS, self.out_packets, false),
            (INBYTES, self.in_bytes, true),
            (OUTBYTES, self.out_bytes, true),
            (CPS, self.cps, false),
            (INPPS, self.in_pps, false),
            (OUTPPS, self.out_pps, false),
            (INBPS, self.in_bps, false),
            (OUTBPS, self.out_bps, false),
        ];
        fields
            .into_iter()
            .map(|(kind, value, always_wide)| {
                let bytes = if width == StatsWidth::Wide || always_wide {
                    value.to_ne_bytes().to_vec()
                } else {
                    // Legacy counters are u32 in the kernel; truncation is
                    // what the kernel itself does when it fills them.
                    (value as u32).to_ne_bytes().to_vec()
                };
                DefaultNla::new(kind, bytes)
            })
            .collect()
    }

    /// Length of the nested body for `width`.
    pub fn body_len(&self, width: StatsWidth) -> usize {
        self.members(width).as_slice().buffer_len()
    }

    /// Writes the nested body for `width` into `buffer`
    /// (exactly [`Stats::body_len`] bytes).
    pub fn emit_body(&self, width: StatsWidth, buffer: &mut [u8]) {
        self.members(width).as_slice().emit(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_legacy_mixed_width_layout() {
        // conns (u32) = 7, inbytes (u64) = 0x1_0000_0001, then a pad attr
        // the kernel may insert before 64-bit values, then outpps (u32) = 3.
        let mut body = vec![8, 0, 1, 0, 7, 0, 0, 0];
        body.extend([12, 0, 4, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        body.extend([4, 0, 11, 0]);
        body.extend([8, 0, 8, 0, 3, 0, 0, 0]);
        let stats = Stats::parse(&body).unwrap();
        assert_eq!(stats.conns, 7);
        assert_eq!(stats.in_bytes, 0x1_0000_0001);
        assert_eq!(stats.out_pps, 3);
        assert_eq!(stats.in_packets, 0);
    }

    #[test]
    fn both_widths_round_trip() {
        let stats = Stats {
            conns: 1,
            in_packets: 2,
            out_packets: 3,
            in_bytes: 4 << 33,
            out_bytes: 5,
            cps: 6,
            in_pps: 7,
            out_pps: 8,
            in_bps: 9,
            out_bps: 10,
        };
        for width in [StatsWidth::Legacy, StatsWidth::Wide] {
            let mut buf = vec![0; stats.body_len(width)];
            stats.emit_body(width, &mut buf);
            assert_eq!(Stats::parse(&buf).unwrap(), stats, "{width:?}");
        }
        // Legacy: 8 u32 members (8 bytes each) + 2 u64 members (12 bytes).
        assert_eq!(stats.body_len(StatsWidth::Legacy), 8 * 8 + 2 * 12);
        assert_eq!(stats.body_len(StatsWidth::Wide), 10 * 12);
    }

    #[test]
    fn rejects_a_truncated_member() {
        // Header claims 8 bytes but only 6 are present.
        assert!(Stats::parse(&[8, 0, 1, 0, 7, 0]).is_err());
    }
}
