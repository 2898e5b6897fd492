//! (x) The Docker Engine API, side by side: the real docker CLI's `docker service ls` over
//! 1,000 services and `docker service ps` over one service of 10,000 tasks, timed as a user
//! waits for them (process start to exit), against one swarmd manager's Engine API socket and
//! against Docker's own swarm mode (one manager, the peer of section d) in the same run.
//!
//! The tasks are real task objects on both sides, held pending by a constraint no node meets,
//! so neither side starts 10,000 containers on this 2-core machine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::docker_swarm::{call, encode, DockerSwarm};
use crate::examples::repo_root;
use crate::managers::{poll, Binaries, Managers};
use crate::report::{percentile, Report};

const SECTION: &str = "x. Engine API (real docker CLI)";
const SERVICES: usize = 1_000;
const TASKS: usize = 10_000;
const RUNS: usize = 15;
const LIMIT: Duration = Duration::from_secs(600);

/// One engine to measure: its socket and a name for the report.
struct Target<'a> {
    name: &'a str,
    socket: &'a Path,
}

pub async fn run(report: &mut Report, bins: &Binaries, quick: bool) -> Result<()> {
    let bins = bins.clone();
    let rows = tokio::task::spawn_blocking(move || measure_both(&bins, quick)).await??;
    for (metric, value, unit, target) in rows {
        report.add(SECTION, &metric, value, unit, &target);
    }
    Ok(())
}

/// Rows of the report: metric, value, unit, target.
type Row = (String, f64, &'static str, String);

fn measure_both(bins: &Binaries, quick: bool) -> Result<Vec<Row>> {
    let runs = if quick { 5 } else { RUNS };
    let ours = Managers::start(bins, 1);
    let socket = ours.managers[0].state_dir.join("docker.sock");
    ensure!(
        poll(Duration::from_secs(30), || socket.exists()),
        "swarmd never created its Engine API socket {}",
        socket.display()
    );
    let peer = DockerSwarm::start(&repo_root().join("integration/images/build.sh"))?;
    let theirs = peer.socket();
    let targets = [
        Target {
            name: "swarmd (1 manager)",
            socket: &socket,
        },
        Target {
            name: "Docker swarm mode (1 manager)",
            socket: &theirs,
        },
    ];
    let mut ls = Vec::new();
    let mut ps = Vec::new();
    for t in &targets {
        fill(t)?;
        ls.push(p50(t, &["service", "ls"], runs)?);
        ps.push(p50(t, &["service", "ps", "big"], runs)?);
    }
    let mut rows = Vec::new();
    for (what, times) in [
        (format!("docker service ls, {SERVICES} services, p50"), &ls),
        (format!("docker service ps, {TASKS} tasks, p50"), &ps),
    ] {
        for (t, ms) in targets.iter().zip(times.iter()) {
            rows.push((
                format!("{what}: {}", t.name),
                *ms,
                "ms",
                "≤ Docker".to_string(),
            ));
        }
        rows.push((
            format!("{what}: ratio swarmd / Docker"),
            times[0] / times[1],
            "×",
            "≤ 1.0".to_string(),
        ));
    }
    Ok(rows)
}

/// 1,000 services of 0 replicas and one service `big` of 10,000 pending tasks, through the
/// Engine API; waits until all 10,000 task objects exist.
fn fill(t: &Target) -> Result<()> {
    let t0 = Instant::now();
    for i in 0..SERVICES {
        create(t, &format!("s{i}"), 0)?;
    }
    println!(
        "  {}: {SERVICES} services in {:.1} s",
        t.name,
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    create(t, "big", TASKS)?;
    let filters = encode(r#"{"service":{"big":true}}"#);
    // Each read of 10,000 tasks is megabytes: ask once a second.
    let seen = loop {
        let seen = call(
            t.socket,
            "GET",
            &format!("/v1.41/tasks?filters={filters}"),
            "",
        )
        .ok()
        .and_then(|(_, body)| serde_json::from_str::<Vec<serde_json::Value>>(&body).ok())
        .map_or(0, |tasks| tasks.len());
        if seen >= TASKS || t0.elapsed() > LIMIT {
            break seen;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    ensure!(
        seen >= TASKS,
        "{}: only {seen} of {TASKS} tasks after {LIMIT:?}",
        t.name
    );
    println!(
        "  {}: {TASKS} task objects in {:.1} s",
        t.name,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn create(t: &Target, name: &str, replicas: usize) -> Result<()> {
    let body = format!(
        r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"swarmd/sleeper:latest"}},"Placement":{{"Constraints":["node.labels.swb_nowhere==1"]}}}},"Mode":{{"Replicated":{{"Replicas":{replicas}}}}}}}"#
    );
    let (status, answer) = call(t.socket, "POST", "/v1.41/services/create", &body)
        .with_context(|| format!("{}: creating {name}", t.name))?;
    ensure!(
        status == 201,
        "{}: creating {name}: {status} {answer}",
        t.name
    );
    Ok(())
}

/// The median wall time of `docker ARGS` against `t`, in ms (one warm-up run first).
fn p50(t: &Target, args: &[&str], runs: usize) -> Result<f64> {
    let mut samples = Vec::with_capacity(runs);
    for i in 0..=runs {
        let t0 = Instant::now();
        let out = Command::new("docker")
            .env("DOCKER_HOST", format!("unix://{}", t.socket.display()))
            .args(args)
            .output()
            .context("running the docker CLI")?;
        let elapsed = t0.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            bail!(
                "{}: docker {}: {}",
                t.name,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if i > 0 {
            samples.push(elapsed);
        }
    }
    let ms = percentile(&samples, 0.5);
    println!("  {}: docker {} p50 {ms:.1} ms", t.name, args.join(" "));
    Ok(ms)
}
