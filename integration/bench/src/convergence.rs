//! (d) Real convergence, side by side: `replicas=30` of `swarmd/sleeper` → 30 RUNNING, on the
//! swarmd lab (3 nodes, real containers) and on Docker's own swarm mode (one private dockerd
//! in `swb-docker`), both created and polled through their APIs every 50 ms.

use std::time::{Duration, Instant};

use anyhow::Result;
use api::control::RemoveServiceRequest;

use crate::control::{self, service_spec};
use crate::docker_swarm::DockerSwarm;
use crate::examples::repo_root;
use crate::lab::Lab;
use crate::managers::rss_kib;
use crate::report::Report;

const SECTION: &str = "d. convergence (30 × swarmd/sleeper)";
const REPLICAS: usize = 30;
const POLL: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(120);

pub async fn run(report: &mut Report, lab: &Lab) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let ours = ours(&mut ctl, lab).await;
    let _ = ctl
        .remove_service(RemoveServiceRequest {
            id: "swb-conv".into(),
        })
        .await;
    let (ours, swarmd_rss) = ours?;
    report.add_ms(SECTION, "swarmd lab (3 nodes, 3 dockerds)", ours, "");
    // The lab's containers stop before the peer starts, so neither run pays for the other.
    let stopped = Instant::now();
    while control::running(&mut ctl, "swb-conv")
        .await
        .is_ok_and(|t| !t.is_empty())
        && stopped.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(POLL).await;
    }
    theirs(report, ours, swarmd_rss).await
}

/// 30 replicas on the lab: create → all RUNNING; and the manager's RSS with them running.
async fn ours(ctl: &mut control::Control, lab: &Lab) -> Result<(Duration, Option<u64>)> {
    let start = Instant::now();
    let spec = service_spec("swb-conv", "swarmd/sleeper", REPLICAS as u64, None, &[]);
    control::create(ctl, spec).await?;
    let took = control::wait_running(ctl, "swb-conv", REPLICAS, start, POLL, LIMIT).await?;
    let rss = lab.swarmd_pid("manager").and_then(|p| rss_kib(p as u32));
    Ok((took, rss))
}

/// The same on Docker's swarm mode, then both memory figures.
async fn theirs(report: &mut Report, ours: Duration, swarmd_rss: Option<u64>) -> Result<()> {
    let images = repo_root().join("integration/images/build.sh");
    let peer = tokio::task::spawn_blocking(move || DockerSwarm::start(&images)).await??;
    let start = Instant::now();
    let (peer, theirs) = tokio::task::spawn_blocking(move || {
        let took = peer
            .create_service("swb-conv", "swarmd/sleeper:latest", REPLICAS as u64)
            .and_then(|()| loop {
                if peer.running("swb-conv")? >= REPLICAS {
                    return Ok(start.elapsed());
                }
                anyhow::ensure!(
                    start.elapsed() < LIMIT,
                    "Docker swarm: not {REPLICAS} running in {LIMIT:?}"
                );
                std::thread::sleep(POLL);
            });
        (peer, took)
    })
    .await?;
    let theirs = theirs?;
    report.add_ms(
        SECTION,
        "Docker swarm mode 20.10 (1 node, 1 dockerd)",
        theirs,
        "",
    );
    report.add(
        SECTION,
        "ratio Docker / swarmd (> 1: swarmd faster)",
        theirs.as_secs_f64() / ours.as_secs_f64(),
        "×",
        "",
    );
    let dockerd_rss = peer.pid().and_then(|p| {
        // nsenter → unshare → sh exec into dockerd: the same PID.
        rss_kib(p)
    });
    let g = "g. memory (swarmd VmRSS)";
    if let Some(kib) = swarmd_rss {
        report.add(
            g,
            "lab manager swarmd with 30 real tasks",
            kib as f64 / 1024.0,
            "MiB",
            "",
        );
    }
    if let Some(kib) = dockerd_rss {
        report.add(
            g,
            "Docker swarm-mode dockerd with 30 tasks (engine + manager)",
            kib as f64 / 1024.0,
            "MiB",
            "",
        );
        report.note("dockerd is the engine too; swarmd drives a separate dockerd on each lab node");
    }
    tokio::task::spawn_blocking(move || drop(peer)).await?;
    Ok(())
}
