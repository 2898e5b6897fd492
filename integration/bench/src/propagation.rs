//! f. Propagation on the swarmd lab with 1,000 published services: from a new task RUNNING (as
//! the manager lists it) to its address in the routing-mesh chain of every node's kernel.
//!
//! 999 services (199 with `--quick`) publish a port with no replica (each node's table holds a
//! chain per port),
//! one more is scaled 1 → 2 → 1 repeatedly; each time the three nodes' kernels are polled in
//! parallel (`nft list chain` of that one port, ~10 ms) until the new backend shows. The
//! services are removed however it ends.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::control::{GetServiceRequest, RemoveServiceRequest, UpdateServiceRequest};
use api::objects::service_spec::Mode;

use crate::control::{self, service_spec, Control};
use crate::lab::{Lab, NODES};
use crate::report::{percentile, Report};

const SERVICE: &str = "swb-prop";
const PORT: u32 = 20999;
const FILLER_PORT0: u32 = 21000;
const LIMIT: Duration = Duration::from_secs(30);

pub async fn lab(report: &mut Report, lab: &Lab, quick: bool) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let fillers = if quick { 199 } else { 999 };
    let rounds = if quick { 5 } else { 20 };
    let result = measure(report, &mut ctl, fillers, rounds).await;
    for name in std::iter::once(SERVICE.to_string()).chain((0..fillers).map(filler)) {
        let _ = ctl.remove_service(RemoveServiceRequest { id: name }).await;
    }
    result
}

fn filler(i: u32) -> String {
    format!("swb-prop-{i}")
}

async fn measure(
    report: &mut Report,
    ctl: &mut Control,
    fillers: u32,
    rounds: usize,
) -> Result<()> {
    for i in 0..fillers {
        let spec = service_spec(
            &filler(i),
            "swarmd/whoami",
            0,
            Some((FILLER_PORT0 + i, 80)),
            &[],
        );
        control::create(ctl, spec).await?;
    }
    let spec = service_spec(SERVICE, "swarmd/whoami", 1, Some((PORT, 80)), &[]);
    let start = Instant::now();
    control::create(ctl, spec).await?;
    control::wait_running(ctl, SERVICE, 1, start, Duration::from_millis(20), LIMIT).await?;
    // Every node has taken in the 1,000 ports before the clock runs.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let before: Vec<String> = control::running(ctl, SERVICE)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        scale(ctl, 2).await?;
        let asked = Instant::now();
        let (ip, running_at) = loop {
            let tasks = control::running(ctl, SERVICE).await?;
            if let Some(t) = tasks.iter().find(|t| !before.contains(&t.id)) {
                let ip = t
                    .networks
                    .first()
                    .map(|n| n.addr.clone())
                    .unwrap_or_default();
                break (ip, Instant::now());
            }
            anyhow::ensure!(asked.elapsed() < LIMIT, "the second task never ran");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let needle = format!("{ip} . 80");
        let seen = tokio::task::spawn_blocking(move || in_every_kernel(&needle)).await??;
        samples.push(seen.duration_since(running_at).as_secs_f64() * 1e3);
        scale(ctl, 1).await?;
        control::wait_running(
            ctl,
            SERVICE,
            1,
            Instant::now(),
            Duration::from_millis(50),
            LIMIT,
        )
        .await?;
        // The stopped task leaves the mesh before the next round starts.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let s = &format!(
        "f. propagation with {} published services (swarmd lab, 3 nodes)",
        fillers + 1
    );
    let label = format!("new task RUNNING → backend in all 3 kernels, p50 of {rounds}");
    report.add(s, &label, percentile(&samples, 0.5), "ms", "");
    report.add(
        s,
        &format!("same, max of {rounds} (stands for p99)"),
        percentile(&samples, 1.0),
        "ms",
        "≤ 200 ms",
    );
    report.note(&format!(
        "{} published ports per node; each node's chain polled with `nft list chain`",
        fillers + 1
    ));
    Ok(())
}

async fn scale(ctl: &mut Control, replicas: u64) -> Result<()> {
    let service = ctl
        .get_service(GetServiceRequest { id: SERVICE.into() })
        .await?
        .into_inner();
    let mut spec = service.spec.context("service without spec")?;
    spec.mode = Some(Mode::Replicas(replicas));
    ctl.update_service(UpdateServiceRequest {
        id: service.id,
        version: service.meta.map_or(0, |m| m.version),
        spec: Some(spec),
        rollback: false,
    })
    .await?;
    Ok(())
}

/// Polls the port's chain on every node at once; when the last one lists `needle`.
fn in_every_kernel(needle: &str) -> Result<Instant> {
    let chain = format!("p_tcp_{PORT}");
    let found: Vec<Result<Instant>> = std::thread::scope(|s| {
        let polls: Vec<_> = NODES
            .iter()
            .map(|node| {
                let chain = &chain;
                s.spawn(move || {
                    let t0 = Instant::now();
                    loop {
                        let out = Command::new("ip")
                            .args(["netns", "exec", &format!("swl-{node}")])
                            .args(["nft", "list", "chain", "ip", "swarmd_mesh", chain])
                            .output()?;
                        if String::from_utf8_lossy(&out.stdout).contains(needle) {
                            return Ok(Instant::now());
                        }
                        anyhow::ensure!(t0.elapsed() < LIMIT, "{needle} not on {node}");
                    }
                })
            })
            .collect();
        polls
            .into_iter()
            .map(|p| p.join().expect("poller"))
            .collect()
    });
    let mut last = None;
    for f in found {
        let at = f?;
        last = Some(last.map_or(at, |l: Instant| l.max(at)));
    }
    last.context("no node")
}
