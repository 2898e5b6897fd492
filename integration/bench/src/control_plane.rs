//! (c) The control plane end to end: 3 `swarmd` managers (processes, test executor) + 100
//! simulated workers (in-process `agent::Agent`s with a `TestExecutor`, joined with the worker
//! token and holding their own node certificates, like real nodes), `replicas=1000` → all RUNNING.
//! (g) Managers' resident memory idle and with those 1,000 tasks in their stores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Agent, AgentConfig, RecordingNetwork, TestExecutor};
use anyhow::{Context, Result};
use tokio_util::sync::CancellationToken;

use crate::control::{self, service_spec};
use crate::managers::{free_loopback_addr, Binaries, Managers};
use crate::report::Report;

const AGENTS: usize = 100;
const REPLICAS: u64 = 1000;
/// Let allocations and background work settle before reading RSS.
const SETTLE: Duration = Duration::from_secs(2);

pub async fn run(report: &mut Report, bins: &Binaries) -> Result<()> {
    let b = bins.clone();
    let cluster = tokio::task::spawn_blocking(move || Managers::start(&b, 3)).await?;
    tokio::time::sleep(SETTLE).await;
    let g = "g. memory (swarmd VmRSS)";
    let idle = rss_mib(&cluster);
    report.add(
        g,
        "idle manager (3-manager cluster, no service), max of 3",
        max(&idle),
        "MiB",
        "",
    );
    report.note(&format!("each: {}", list(&idle)));

    let token = cluster.ctl(0, &["cluster", "join-token", "worker", "-q"]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    anyhow::ensure!(!token.is_empty(), "no worker token");
    let managers: Vec<String> = cluster
        .managers
        .iter()
        .map(|m| m.addr.to_string())
        .collect();

    let shutdown = CancellationToken::new();
    let mut agents = Vec::with_capacity(AGENTS);
    let joined = Instant::now();
    for i in 0..AGENTS {
        let hostname = format!("sim{i:03}");
        let advertise = free_loopback_addr().to_string();
        let admitted = agent::join::join(agent::join::JoinRequest {
            manager: managers[0].clone(),
            token: token.clone(),
            hostname: hostname.clone(),
            advertise_addr: advertise.clone(),
            listen_addr: advertise.clone(),
        })
        .await
        .with_context(|| format!("joining {hostname}"))?;
        let dial = security::Dial::mutual_tls(
            admitted.credentials.client_config()?,
            security::MANAGER_NAME,
            Duration::from_secs(1),
        );
        let agent = Agent::new(
            AgentConfig {
                node_id: admitted.node_id,
                managers: managers.clone(),
                hostname: hostname.clone(),
                listen_addr: advertise,
                drain_delay: Duration::from_millis(300),
                dial,
                files_root: None,
                metrics: metrics::Metrics::default(),
            },
            Arc::new(TestExecutor::new(&hostname)),
            Arc::new(RecordingNetwork::default()),
        );
        agents.push(tokio::spawn(agent.run(shutdown.child_token())));
    }
    let mut ctl = control::connect_socket(cluster.managers[0].socket()).await?;
    let all = 3 + AGENTS;
    while control::ready_nodes(&mut ctl).await? < all {
        anyhow::ensure!(
            joined.elapsed() < Duration::from_secs(60),
            "{AGENTS} agents not Ready in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let c = "c. control plane (3 managers + 100 agents)";
    report.add_ms(
        c,
        "100 agents joined → all 103 nodes Ready",
        joined.elapsed(),
        "",
    );

    let start = Instant::now();
    control::create(
        &mut ctl,
        service_spec("cp-1000", "swarmd/sleeper", REPLICAS, None, &[]),
    )
    .await?;
    let took = control::wait_running(
        &mut ctl,
        "cp-1000",
        REPLICAS as usize,
        start,
        Duration::from_millis(50),
        Duration::from_secs(120),
    )
    .await?;
    report.add_ms(
        c,
        "service create replicas=1000 → 1000 RUNNING",
        took,
        "≤ 2 s",
    );
    report.note("polled every 50 ms with ListTasks on a manager");

    tokio::time::sleep(SETTLE).await;
    let loaded = rss_mib(&cluster);
    report.add(
        g,
        "manager with 1,000 tasks (103 nodes), max of 3",
        max(&loaded),
        "MiB",
        "",
    );
    report.note(&format!(
        "each: {} (Docker's dockerd in swarm mode: see d.)",
        list(&loaded)
    ));

    shutdown.cancel();
    for a in agents {
        let _ = tokio::time::timeout(Duration::from_secs(5), a).await;
    }
    drop(cluster);
    Ok(())
}

fn rss_mib(cluster: &Managers) -> Vec<f64> {
    cluster
        .managers
        .iter()
        .filter_map(|m| m.rss_kib())
        .map(|kib| kib as f64 / 1024.0)
        .collect()
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

fn list(values: &[f64]) -> String {
    let each: Vec<String> = values.iter().map(|v| format!("{v:.1}")).collect();
    format!("{} MiB", each.join(" / "))
}
