//! A node's routing mesh as its kernel holds it: what `swarmctl node mesh` prints, like
//! `ipvsadm -L -n`. Read back by the node's data plane, never taken from our own memory.

use std::fmt;
use std::net::SocketAddrV4;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::service::{PortProtocol, PublishMode};

/// What balances a node's published ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MeshBackendKind {
    /// IPVS fwmark services (nftables only marks), as Docker's swarm mode does.
    Ipvs,
    /// nftables DNAT maps.
    Nftables,
    /// No kernel mesh (a recording data plane, in tests and `--mesh-backend none`).
    #[default]
    None,
}

impl MeshBackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MeshBackendKind::Ipvs => "ipvs",
            MeshBackendKind::Nftables => "nftables",
            MeshBackendKind::None => "none",
        }
    }
}

impl fmt::Display for MeshBackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MeshBackendKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ipvs" => Ok(MeshBackendKind::Ipvs),
            "nftables" => Ok(MeshBackendKind::Nftables),
            "none" | "" => Ok(MeshBackendKind::None),
            other => Err(format!(
                "mesh backend `{other}`: expected ipvs, nftables or none"
            )),
        }
    }
}

/// One virtual service: a published port as the kernel balances it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualService {
    pub protocol: PortProtocol,
    pub port: u16,
    pub mode: PublishMode,
    /// From the rule's comment; empty when the rule carries none.
    pub service_name: String,
    /// `numgen-inc` (nftables), the IPVS scheduler (`rr`), or `reject` (no backend).
    pub scheduler: String,
    /// Set when IPVS balances this port: the mark nftables puts on its packets.
    pub fwmark: Option<u32>,
    pub backends: Vec<SocketAddrV4>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MeshTable {
    pub backend: MeshBackendKind,
    pub services: Vec<VirtualService>,
    /// What the kernel printed, verbatim, for diagnostics beyond this summary.
    pub raw: String,
}

/// `ipvsadm -L -n`-like listing.
impl fmt::Display for MeshTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Mesh backend: {}", self.backend)?;
        writeln!(f, "Prot LocalAddress:Port Scheduler Mode    Service")?;
        writeln!(f, "  -> RemoteAddress:Port")?;
        for s in &self.services {
            let proto = s.protocol.as_str().to_uppercase();
            let mark = s.fwmark.map(|m| format!(" FWM {m:#x}")).unwrap_or_default();
            writeln!(
                f,
                "{proto:<4} *:{:<16} {:<9} {:<7} {}{mark}",
                s.port,
                s.scheduler,
                s.mode.as_str(),
                s.service_name
            )?;
            for b in &s.backends {
                writeln!(f, "  -> {b}")?;
            }
        }
        Ok(())
    }
}

/// One direction of a tracked connection, as the kernel's connection tracking writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnTuple {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

/// A connection the routing mesh carries, from the node's connection tracking: `original` is
/// client → this node's published port, `reply` is the task answering (its source is the
/// backend the mesh chose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshConn {
    pub protocol: PortProtocol,
    pub original: ConnTuple,
    pub reply: ConnTuple,
    /// The TCP state (`ESTABLISHED`, `TIME_WAIT`…); for UDP `UNREPLIED` or `ASSURED`.
    pub state: String,
    /// Seconds until the kernel forgets the connection if no packet comes.
    pub timeout_secs: u64,
    /// Seconds since the connection began; only when `nf_conntrack_timestamp` is on.
    pub age_secs: Option<u64>,
}
