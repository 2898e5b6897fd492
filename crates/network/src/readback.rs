//! The node's live load-balancing table, read back from the kernel (`nft -j list table`),
//! never from our own memory: what `swarmctl node mesh` prints, like `ipvsadm -L -n`.

use std::net::{Ipv4Addr, SocketAddrV4};

use serde_json::Value;
use types::{PortProtocol, PublishMode, VirtualService};

use crate::error::DataplaneError;
use crate::mesh::nft_render::{CT_MARK_HOST, TABLE};

/// Parses `nft -j list table ip swarmd_mesh`. A missing table is an empty mesh.
pub fn parse_nft_json(json: &str) -> Result<Vec<VirtualService>, DataplaneError> {
    let doc: Value =
        serde_json::from_str(json).map_err(|e| DataplaneError::Readback(e.to_string()))?;
    let items = doc["nftables"]
        .as_array()
        .ok_or_else(|| DataplaneError::Readback("no `nftables` array".into()))?;
    let mut services = Vec::new();
    for item in items {
        let Some(rule) = item.get("rule") else {
            continue;
        };
        if rule["table"] != TABLE {
            continue;
        }
        // Each published port's one rule lives in a chain of its own (`p_`: DNAT, `m_`:
        // marked for IPVS, `r_`: rejected); the hook chains only look ports up.
        let chain = rule["chain"].as_str().unwrap_or_default();
        if !["p_", "m_", "r_"].iter().any(|p| chain.starts_with(p)) {
            continue;
        }
        if let Some(vs) = parse_rule(rule)? {
            services.push(vs);
        }
    }
    services.sort_by_key(|s| (s.protocol, s.port));
    Ok(services)
}

fn parse_rule(rule: &Value) -> Result<Option<VirtualService>, DataplaneError> {
    let exprs = rule["expr"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut dport = None;
    let mut vs = VirtualService {
        protocol: PortProtocol::Tcp,
        port: 0,
        mode: PublishMode::Ingress,
        service_name: rule["comment"].as_str().unwrap_or_default().to_string(),
        scheduler: String::new(),
        fwmark: None,
        backends: Vec::new(),
    };
    for e in exprs {
        if let Some(m) = e.get("match") {
            if m["left"]["payload"]["field"] == "dport" {
                vs.protocol = match m["left"]["payload"]["protocol"].as_str() {
                    Some("udp") => PortProtocol::Udp,
                    _ => PortProtocol::Tcp,
                };
                dport = m["right"].as_u64().and_then(|p| u16::try_from(p).ok());
            }
        } else if let Some(m) = e.get("mangle") {
            let value = m["value"].as_u64().and_then(|v| u32::try_from(v).ok());
            if m["key"]["ct"]["key"] == "mark" {
                if value == Some(CT_MARK_HOST) {
                    vs.mode = PublishMode::Host;
                }
            } else if m["key"]["meta"]["key"] == "mark" {
                vs.fwmark = value;
                vs.scheduler = "fwmark".into();
            }
        } else if let Some(d) = e.get("dnat") {
            vs.scheduler = "numgen-inc".into();
            vs.backends = parse_dnat(d)?;
        } else if e.get("reject").is_some() {
            vs.scheduler = "reject".into();
        }
    }
    match dport {
        Some(port) if !vs.scheduler.is_empty() => Ok(Some(VirtualService { port, ..vs })),
        _ => Ok(None),
    }
}

/// `dnat ip to numgen inc mod N map { i : ip . port }` or a plain `dnat to ip:port`.
fn parse_dnat(d: &Value) -> Result<Vec<SocketAddrV4>, DataplaneError> {
    let bad = || DataplaneError::Readback(format!("unexpected dnat: {d}"));
    if let Some(elems) = d["addr"]["map"]["data"]["set"].as_array() {
        let mut out = Vec::new();
        for pair in elems {
            let concat = pair[1]["concat"].as_array().ok_or_else(bad)?;
            let ip: Ipv4Addr = concat
                .first()
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .ok_or_else(bad)?;
            let port = concat
                .get(1)
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(bad)?;
            out.push(SocketAddrV4::new(ip, port));
        }
        return Ok(out);
    }
    let ip: Ipv4Addr = d["addr"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let port = d["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(bad)?;
    Ok(vec![SocketAddrV4::new(ip, port)])
}

#[cfg(test)]
#[path = "readback_tests.rs"]
mod tests;
