//! `service conns`: the live connections the routing mesh carries to a service's tasks,
//! gathered from every node's connection tracking.

use anyhow::Result;
use api::control::{self as pc, ServiceConn};
use clap::Args;

use crate::client::{Control, StatusExt};
use crate::output::{table, Format};

#[derive(Debug, Args)]
pub struct ConnsArgs {
    /// Output format: table or json
    #[arg(long)]
    pub format: Option<String>,
    /// Service name or ID
    pub service: String,
}

const HEADERS: [&str; 7] = [
    "CLIENT",
    "VIA NODE",
    "PORT",
    "TASK",
    "TASK NODE",
    "TASK IP",
    "STATE",
];

pub fn render(conns: &[ServiceConn]) -> String {
    let rows: Vec<Vec<String>> = conns
        .iter()
        .map(|c| {
            vec![
                c.client.clone(),
                c.via_node.clone(),
                format!("{}/{}", c.published_port, c.protocol),
                c.task_name.clone(),
                c.task_node.clone(),
                c.task_addr.clone(),
                c.state.clone(),
            ]
        })
        .collect();
    table(&HEADERS, &rows)
}

fn conns_json(c: &ServiceConn) -> serde_json::Value {
    serde_json::json!({
        "Client": c.client,
        "ViaNode": c.via_node,
        "PublishedPort": c.published_port,
        "Protocol": c.protocol,
        "TaskID": c.task_id,
        "Task": c.task_name,
        "TaskNode": c.task_node,
        "TaskAddr": c.task_addr,
        "State": c.state,
        "TimeoutSeconds": c.timeout_secs,
        "AgeSeconds": (c.age_secs > 0).then_some(c.age_secs),
    })
}

pub async fn conns(client: &mut Control, args: ConnsArgs) -> Result<()> {
    let format = Format::parse(args.format.as_deref())?;
    let reply = client
        .service_conns(pc::ServiceConnsRequest {
            service: args.service,
        })
        .await
        .or_status()?;
    for node in &reply.unreachable {
        eprintln!("warning: connections of node {node} are missing");
    }
    match format {
        Format::Json => {
            let rows: Vec<_> = reply.conns.iter().map(conns_json).collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        Format::Table => print!("{}", render(&reply.conns)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_client_node_and_task_columns() {
        let out = render(&[ServiceConn {
            client: "192.168.56.100:40522".into(),
            via_node: "manager1".into(),
            published_port: 8080,
            protocol: "tcp".into(),
            task_name: "web.1".into(),
            task_node: "worker1".into(),
            task_addr: "10.255.0.5:80".into(),
            state: "ESTABLISHED".into(),
            ..Default::default()
        }]);
        let lines: Vec<Vec<&str>> = out
            .lines()
            .map(|l| {
                l.split("  ")
                    .filter(|c| !c.trim().is_empty())
                    .map(str::trim)
                    .collect()
            })
            .collect();
        assert_eq!(
            lines[0],
            [
                "CLIENT",
                "VIA NODE",
                "PORT",
                "TASK",
                "TASK NODE",
                "TASK IP",
                "STATE"
            ]
        );
        assert_eq!(
            lines[1],
            [
                "192.168.56.100:40522",
                "manager1",
                "8080/tcp",
                "web.1",
                "worker1",
                "10.255.0.5:80",
                "ESTABLISHED"
            ]
        );
    }
}
