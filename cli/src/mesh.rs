//! `swarmctl node mesh`: a node's live routing-mesh table, laid out like `ipvsadm -L -n`.

use anyhow::Result;
use api::control::{self as pc, MeshTable};

use crate::client::{Control, StatusExt};
use crate::output::Format;

/// The mesh table in `ipvsadm -L -n` layout.
pub fn render_mesh(table: &MeshTable) -> String {
    let mut out = format!(
        "IP Virtual Server table of node {} (backend {})\n",
        table.hostname, table.backend
    );
    out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
    out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for s in &table.services {
        out.push_str(&format!("{:<4} {} {}\n", s.protocol, s.key, s.scheduler));
        for b in &s.backends {
            out.push_str(&format!(
                "  -> {:<28} {:<7} {:<6} {:<10} {}\n",
                b.addr, b.forward, b.weight, b.active_conns, b.inactive_conns
            ));
        }
    }
    out
}

pub async fn show(
    client: &mut Control,
    raw: bool,
    format: Option<&str>,
    node: Option<String>,
) -> Result<()> {
    let format = Format::parse(format)?;
    let node = node.filter(|n| n != "self").unwrap_or_default();
    let table = client
        .node_mesh(pc::NodeMeshRequest { node })
        .await
        .or_status()?;
    if raw {
        print!("{}", table.raw);
        return Ok(());
    }
    match format {
        Format::Json => println!("{}", mesh_json(&table)),
        Format::Table => print!("{}", render_mesh(&table)),
    }
    Ok(())
}

fn mesh_json(t: &MeshTable) -> serde_json::Value {
    serde_json::json!({
        "NodeID": t.node_id,
        "Hostname": t.hostname,
        "Backend": t.backend,
        "Services": t.services.iter().map(|s| serde_json::json!({
            "Protocol": s.protocol,
            "Key": s.key,
            "PublishedPort": s.published_port,
            "Scheduler": s.scheduler,
            "Service": s.service_name,
            "Backends": s.backends.iter().map(|b| serde_json::json!({
                "Addr": b.addr,
                "Forward": b.forward,
                "Weight": b.weight,
                "ActiveConn": b.active_conns,
                "InActConn": b.inactive_conns,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_renders_like_ipvsadm() {
        let t = MeshTable {
            hostname: "worker1".into(),
            backend: "ipvs".into(),
            services: vec![pc::MeshVirtualService {
                protocol: "FWM".into(),
                key: "256".into(),
                scheduler: "rr".into(),
                backends: vec![pc::MeshBackendEntry {
                    addr: "10.255.0.5:80".into(),
                    forward: "Masq".into(),
                    weight: 1,
                    active_conns: 0,
                    inactive_conns: 3,
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = render_mesh(&t);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("IP Virtual Server"));
        assert_eq!(lines[1], "Prot LocalAddress:Port Scheduler Flags");
        assert_eq!(lines[3], "FWM  256 rr");
        assert_eq!(
            lines[4],
            "  -> 10.255.0.5:80                Masq    1      0          3"
        );
    }
}
