//! (e, second half) Node loss on the lab: kill -9 worker2 (swarmd, dockerd, containerd) →
//! its replica RUNNING elsewhere, and the published port answering on both surviving nodes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::control::{ListNodesRequest, RemoveServiceRequest};

use crate::control::{self, service_spec};
use crate::lab::{http_get, in_netns, ip, Lab};
use crate::report::Report;

const SERVICE: &str = "swb-fo";
const PORT: u32 = 8088;

/// Measures, then removes the service and brings worker2 back however the measurement ended.
pub async fn run(report: &mut Report, lab: &Lab) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let result = measure(report, lab, &mut ctl).await;
    let _ = ctl
        .remove_service(RemoveServiceRequest { id: SERVICE.into() })
        .await;
    if lab.swarmd_pid("worker2").is_none() {
        let out = lab.run(&["restart", "worker2"]);
        anyhow::ensure!(
            out.status.success(),
            "lab.sh restart worker2: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    result
}

async fn measure(report: &mut Report, lab: &Lab, ctl: &mut control::Control) -> Result<()> {
    let start = Instant::now();
    control::create(
        ctl,
        service_spec(SERVICE, "swarmd/whoami", 3, Some((PORT, 80)), &[]),
    )
    .await?;
    control::wait_running(
        ctl,
        SERVICE,
        3,
        start,
        Duration::from_millis(50),
        Duration::from_secs(60),
    )
    .await?;
    let nodes = ctl
        .list_nodes(ListNodesRequest {})
        .await?
        .into_inner()
        .nodes;
    let victim = nodes
        .iter()
        .find(|n| {
            n.description
                .as_ref()
                .is_some_and(|d| d.hostname == "worker2")
        })
        .context("worker2 is not in the cluster")?
        .id
        .clone();

    let out = lab.run(&["kill", "worker2"]);
    let killed = Instant::now();
    anyhow::ensure!(out.status.success(), "lab.sh kill worker2 failed");
    let moved = loop {
        let tasks = control::running(ctl, SERVICE).await.unwrap_or_default();
        if tasks.len() == 3 && tasks.iter().all(|t| t.node_id != victim) {
            break killed.elapsed();
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(60),
            "replicas not moved in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Then the port: 20 requests in a row answered on each surviving node.
    let answered = tokio::task::spawn_blocking(move || {
        in_netns("swl-client", move || {
            let targets: Vec<SocketAddr> = ["manager", "worker1"]
                .iter()
                .map(|n| format!("{}:{PORT}", ip(n)).parse().expect("address"))
                .collect();
            loop {
                let ok = targets
                    .iter()
                    .all(|a| (0..20).all(|_| http_get(*a, Duration::from_millis(500)).is_ok()));
                if ok {
                    return Some(killed.elapsed());
                }
                if killed.elapsed() > Duration::from_secs(60) {
                    return None;
                }
            }
        })
    })
    .await?
    .context("the port never answered steadily on both surviving nodes")?;

    let e = "e. failover";
    report.add_ms(
        e,
        "lab: worker kill -9 → its replica RUNNING elsewhere",
        moved,
        "≤ 3 s",
    );
    report.note("heartbeat 500 ms, node Down after 3 missed (Swarm: ≥ 15 s)");
    report.add_ms(
        e,
        "lab: worker kill -9 → port answers 20/20 on both survivors",
        answered,
        "",
    );

    Ok(())
}
