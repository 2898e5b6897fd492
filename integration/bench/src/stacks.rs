//! (k) A Compose stack, side by side: 10 services × 3 replicas of `swarmd/sleeper` from one
//! file → all 30 tasks RUNNING, `swarmctl stack deploy` on the lab against the real `docker
//! stack deploy` (docker CLI) on Docker's own swarm mode (the peer of section d), in the same
//! run; each timed from the command's start, both polled every 50 ms.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::control;
use crate::docker_swarm::DockerSwarm;
use crate::examples::repo_root;
use crate::lab::Lab;
use crate::report::Report;

const SECTION: &str = "k. stack deploy (10 services × 3 replicas)";
const STACK: &str = "swbk";
const SERVICES: usize = 10;
const REPLICAS: usize = 3;
const POLL: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(180);

/// The compose file: `s0` … `s9`, 3 replicas each.
fn compose() -> String {
    let mut out = String::from("version: \"3.8\"\nservices:\n");
    for i in 0..SERVICES {
        out.push_str(&format!(
            "  s{i}:\n    image: swarmd/sleeper:latest\n    deploy:\n      replicas: {REPLICAS}\n"
        ));
    }
    out
}

pub async fn run(report: &mut Report, lab: &Lab) -> Result<()> {
    let dir = PathBuf::from(format!("/tmp/swb-stack-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("docker-compose.yml");
    std::fs::write(&file, compose())?;
    let result = measure(report, lab, &file).await;
    let _ = lab.ctl(&["stack", "rm", STACK]);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(report: &mut Report, lab: &Lab, file: &Path) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let start = Instant::now();
    lab.ctl(&["stack", "deploy", "-c", &file.to_string_lossy(), STACK])
        .map_err(anyhow::Error::msg)?;
    for i in 0..SERVICES {
        let name = format!("{STACK}_s{i}");
        control::wait_running(&mut ctl, &name, REPLICAS, start, POLL, LIMIT).await?;
    }
    let ours = start.elapsed();
    report.add_ms(
        SECTION,
        "swarmctl stack deploy, swarmd lab (3 nodes)",
        ours,
        "",
    );
    let _ = lab.ctl(&["stack", "rm", STACK]);

    let images = repo_root().join("integration/images/build.sh");
    let file = file.to_path_buf();
    let theirs = tokio::task::spawn_blocking(move || -> Result<Duration> {
        let peer = DockerSwarm::start(&images)?;
        let start = Instant::now();
        let out = Command::new("docker")
            .env("DOCKER_HOST", peer.host())
            .args(["stack", "deploy", "--resolve-image", "never", "-c"])
            .arg(&file)
            .arg(STACK)
            .output()
            .context("running the docker CLI")?;
        if !out.status.success() {
            bail!(
                "docker stack deploy: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        loop {
            let mut running = 0;
            for i in 0..SERVICES {
                running += peer.running(&format!("{STACK}_s{i}"))?;
            }
            if running >= SERVICES * REPLICAS {
                return Ok(start.elapsed());
            }
            if start.elapsed() > LIMIT {
                bail!(
                    "Docker: {running} of {} running after {LIMIT:?}",
                    SERVICES * REPLICAS
                );
            }
            std::thread::sleep(POLL);
        }
    })
    .await??;
    report.add_ms(
        SECTION,
        "docker stack deploy, Docker swarm mode (1 node)",
        theirs,
        "",
    );
    report.add(
        SECTION,
        "ratio swarmd / Docker",
        ours.as_secs_f64() / theirs.as_secs_f64(),
        "×",
        "≤ 0.7",
    );
    Ok(())
}
