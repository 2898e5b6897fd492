//! (a) Raft through the real thing: 3 `swarmd` managers over loopback (redb, fsync on every
//! commit), writes through the Control API, each acknowledged only after commit.
//! (e, first half) kill -9 of the leader: time until a surviving manager accepts a write.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::control::CreateServiceRequest;
use futures::future::join_all;
use tonic::Code;

use crate::control::{self, Control};
use crate::examples;
use crate::managers::{Binaries, Managers};
use crate::report::{percentile, Report};

/// Concurrent writers for the throughput figure: enough to keep the leader's batches full.
const WRITERS: usize = 64;

pub async fn run(report: &mut Report, bins: &Binaries, quick: bool) -> Result<()> {
    let singles = if quick { 300 } else { 1000 };
    let window = Duration::from_secs(if quick { 3 } else { 10 });
    let b = bins.clone();
    let mut cluster = tokio::task::spawn_blocking(move || Managers::start(&b, 3)).await?;
    let leader = cluster.leader_seen_by(0).context("no leader")?;
    // The managers' unix sockets: remote control over TCP needs a client certificate.
    let leader_socket = cluster.managers[leader].socket();
    let mut control = control::connect_socket(leader_socket.clone()).await?;

    // Warm-up: connections, the first redb transactions.
    for i in 0..20 {
        write(&mut control, &format!("warm-{i}")).await?;
    }
    let mut latencies = Vec::with_capacity(singles);
    for i in 0..singles {
        let start = Instant::now();
        write(&mut control, &format!("single-{i}")).await?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let s = "a. raft (3 managers, loopback, fsync)";
    report.add(
        s,
        "single write → committed, p50",
        percentile(&latencies, 0.5),
        "ms",
        "",
    );
    report.add(
        s,
        "single write → committed, p99",
        percentile(&latencies, 0.99),
        "ms",
        "≤ 5 ms",
    );
    report.note(&format!(
        "{singles} sequential CreateService calls to the leader's Control API"
    ));
    report.samples.raft_commit_ms = latencies;

    let pids: Vec<u32> = cluster.managers.iter().filter_map(|m| m.pid()).collect();
    let (managers_before, client_before) = (cpu_seconds(&pids), cpu_seconds(&[std::process::id()]));
    let t = throughput(&leader_socket, window).await?;
    let manager_cpu = cpu_seconds(&pids) - managers_before;
    let client_cpu = cpu_seconds(&[std::process::id()]) - client_before;
    report.add(
        s,
        "concurrent writes/s (acknowledged)",
        t.rate,
        "writes/s",
        "≥ 10,000/s batched",
    );
    report.note(&format!(
        "{WRITERS} concurrent CreateService writers for {window:?}; {} refused as conflicting \
         (FAILED_PRECONDITION: changed concurrently, still after the store's retries)",
        t.conflicts
    ));
    report.add(
        s,
        "concurrent write → committed, p50",
        percentile(&t.latencies, 0.5),
        "ms",
        "",
    );
    report.add(
        s,
        "concurrent write → committed, p99",
        percentile(&t.latencies, 0.99),
        "ms",
        "≤ 5 ms",
    );
    report.add(
        s,
        "CPU of the 3 managers per acknowledged write",
        manager_cpu * 1e6 / t.latencies.len().max(1) as f64,
        "µs",
        "",
    );
    report.note(&format!(
        "user + system time of the three swarmd processes over the window (/proc/PID/stat): \
         what a write costs, whatever else the machine is doing; the {WRITERS} clients (this \
         process) used {:.0} µs per write besides",
        client_cpu * 1e6 / t.latencies.len().max(1) as f64
    ));

    // e. Kill -9 the leader; write through a survivor until one is acknowledged.
    let survivor = (leader + 1) % 3;
    let mut control = control::connect_socket(cluster.managers[survivor].socket()).await?;
    let killed = Instant::now();
    cluster.managers[leader].kill9();
    let mut attempt = 0u64;
    let accepted = loop {
        attempt += 1;
        let w = tokio::time::timeout(
            Duration::from_millis(500),
            write(&mut control, &format!("after-kill-{attempt}")),
        )
        .await;
        if matches!(w, Ok(Ok(()))) {
            break killed.elapsed();
        }
        anyhow::ensure!(
            killed.elapsed() < Duration::from_secs(30),
            "no write accepted 30 s after the leader's kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let e = "e. failover";
    report.add_ms(
        e,
        "leader kill -9 → write accepted (loopback, 3 managers)",
        accepted,
        "",
    );
    report.note(&format!(
        "{attempt} attempts through a surviving manager, 500 ms each at most"
    ));
    drop(cluster);
    Ok(())
}

/// The store crate's `raft_bench` (openraft + redb in one process, no Control API), when the
/// tree has it: its figures as rows, or its output lines as a note when their format changed.
pub fn example(report: &mut Report) -> Result<()> {
    let lines = examples::run("store", "raft_bench", &[])?;
    let s = "a. raft (raft_bench example)";
    let d = |marker: &str, field: &str| examples::duration_ms(&lines, marker, field);
    let rows = [
        (
            "fdatasync of this disk (baseline), p99",
            d("fdatasync", "p99="),
            "ms",
        ),
        (
            "sequential writes on the leader, p50",
            d("on the leader", "p50="),
            "ms",
        ),
        (
            "sequential writes on the leader, p99",
            d("on the leader", "p99="),
            "ms",
        ),
        (
            "sequential writes on a follower, p99",
            d("on a follower", "p99="),
            "ms",
        ),
        (
            "256 writers × 1 object",
            examples::figure(&lines, "256 writers", "writes/s"),
            "writes/s",
        ),
        (
            "64 writers × 10 objects (batched)",
            examples::figure(&lines, "64 writers", "objects/s"),
            "objects/s",
        ),
    ];
    if rows.iter().any(|r| r.1.is_none()) {
        report.missing(s, "output", &lines.join(" / "));
        return Ok(());
    }
    for (metric, value, unit) in rows {
        report.add(s, metric, value.unwrap_or_default(), unit, "");
    }
    Ok(())
}

/// One committed write: a service with no replicas, so no other component writes after it.
pub async fn write(control: &mut Control, name: &str) -> Result<()> {
    control::create(
        control,
        control::service_spec(name, "swarmd/sleeper", 0, None, &[]),
    )
    .await?;
    Ok(())
}

/// What [`WRITERS`] concurrent clients got over a window.
struct Throughput {
    /// Acknowledged writes per second.
    rate: f64,
    /// Writes the manager refused as conflicting with a concurrent one.
    conflicts: u64,
    /// Request → acknowledgement of every acknowledged write, in ms.
    latencies: Vec<f64>,
}

/// Runs [`WRITERS`] concurrent clients creating one service per request for `window`.
async fn throughput(socket: &std::path::Path, window: Duration) -> Result<Throughput> {
    let start = Instant::now();
    let writers = (0..WRITERS).map(|w| {
        let socket = socket.to_path_buf();
        async move {
            let mut control = control::connect_socket(socket).await?;
            let (mut latencies, mut conflicts, mut i) = (Vec::new(), 0u64, 0u64);
            while start.elapsed() < window {
                i += 1;
                let spec =
                    control::service_spec(&format!("bulk-{w}-{i}"), "swarmd/sleeper", 0, None, &[]);
                let sent = Instant::now();
                match control
                    .create_service(CreateServiceRequest { spec: Some(spec) })
                    .await
                {
                    Ok(_) => latencies.push(sent.elapsed().as_secs_f64() * 1e3),
                    Err(s) if s.code() == Code::FailedPrecondition => conflicts += 1,
                    Err(s) => return Err(anyhow::Error::from(s)),
                }
            }
            Ok::<_, anyhow::Error>((latencies, conflicts))
        }
    });
    let mut t = Throughput {
        rate: 0.0,
        conflicts: 0,
        latencies: Vec::new(),
    };
    for r in join_all(writers).await {
        let (latencies, conflicts) = r?;
        t.latencies.extend(latencies);
        t.conflicts += conflicts;
    }
    t.rate = t.latencies.len() as f64 / start.elapsed().as_secs_f64();
    Ok(t)
}

/// User + system CPU seconds the processes have used so far (fields 14 and 15 of
/// /proc/PID/stat, in clock ticks); processes that are gone count 0.
fn cpu_seconds(pids: &[u32]) -> f64 {
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let ticks = |pid: &u32| -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces; the fields after it do not.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    pids.iter().filter_map(ticks).sum::<u64>() as f64 / tick
}
