//! The node's connection tracking, read to show which connections the routing mesh carries
//! (`swarmctl service conns`).
//!
//! Read from `/proc/net/nf_conntrack` rather than a ctnetlink dump: no maintained crate in
//! our tree encodes NFNL_SUBSYS_CTNETLINK messages (there is no `netlink-packet-netfilter`
//! here), and a hand-written ctnetlink codec would be far longer than this parser. The file
//! shows the namespace of the reading process, which is the node's (the mesh lives there);
//! it needs root and the `nf_conntrack` module, both of which the mesh needs anyway.
//!
//! [`parse`] and [`through_mesh`] are pure and table-tested on real lines; [`read`] is the
//! I/O around them.

use std::net::SocketAddrV4;

use types::{ConnTuple, MeshConn, PortProtocol};

use crate::error::{DataplaneError, Result};

pub const CONNTRACK_PATH: &str = "/proc/net/nf_conntrack";

/// The IPv4 TCP and UDP entries of a `/proc/net/nf_conntrack` dump; other lines are skipped.
///
/// A line is `ipv4 2 tcp 6 TIMEOUT [STATE] src= dst= sport= dport= [FLAGS] src= dst= sport=
/// dport= [FLAGS] … [delta-time=N] …`: the first address quadruple is the original direction,
/// the second the reply.
pub fn parse(text: &str) -> Vec<MeshConn> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MeshConn> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.first() != Some(&"ipv4") {
        return None;
    }
    let protocol = match *fields.get(2)? {
        "tcp" => PortProtocol::Tcp,
        "udp" => PortProtocol::Udp,
        _ => return None,
    };
    let timeout_secs = fields.get(4)?.parse().ok()?;
    let mut state = match protocol {
        PortProtocol::Tcp => fields.get(5)?.to_string(),
        PortProtocol::Udp => String::new(),
    };
    let mut values: Vec<(&str, &str)> = Vec::new();
    let mut age_secs = None;
    for field in &fields[5..] {
        if let Some((key, value)) = field.split_once('=') {
            if key == "delta-time" {
                age_secs = value.parse().ok();
            }
            values.push((key, value));
        } else if protocol == PortProtocol::Udp
            && (*field == "[UNREPLIED]" || *field == "[ASSURED]")
        {
            state = field.trim_matches(['[', ']']).to_string();
        }
    }
    let tuple = |offset: usize| -> Option<ConnTuple> {
        let get = |key: &str| {
            values[offset..]
                .iter()
                .take(4)
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v)
        };
        let addr = |ip: &str, port: &str| -> Option<SocketAddrV4> {
            Some(SocketAddrV4::new(
                get(ip)?.parse().ok()?,
                get(port)?.parse().ok()?,
            ))
        };
        Some(ConnTuple {
            src: addr("src", "sport")?,
            dst: addr("dst", "dport")?,
        })
    };
    if values.len() < 8 {
        return None;
    }
    if state.is_empty() {
        state = "UDP".into();
    }
    Some(MeshConn {
        protocol,
        original: tuple(0)?,
        reply: tuple(4)?,
        state,
        timeout_secs,
        age_secs,
    })
}

/// The connections the mesh forwarded: sent to one of `published` (protocol, port) on this
/// node, and answered by another address (DNAT'd to a task) rather than by the node itself.
pub fn through_mesh(conns: Vec<MeshConn>, published: &[(PortProtocol, u16)]) -> Vec<MeshConn> {
    conns
        .into_iter()
        .filter(|c| published.contains(&(c.protocol, c.original.dst.port())))
        .filter(|c| c.reply.src != c.original.dst)
        .collect()
}

/// Reads this node's connection tracking table.
pub async fn read() -> Result<Vec<MeshConn>> {
    match tokio::fs::read_to_string(CONNTRACK_PATH).await {
        Ok(text) => Ok(parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DataplaneError::Unsupported(
            format!("{CONNTRACK_PATH} (load it with `modprobe nf_conntrack`)"),
        )),
        Err(e) => Err(DataplaneError::io(format!(
            "reading {CONNTRACK_PATH} (swarmd must run as root to read connection tracking)"
        ))(e)),
    }
}

#[cfg(test)]
#[path = "conntrack_tests.rs"]
mod tests;
