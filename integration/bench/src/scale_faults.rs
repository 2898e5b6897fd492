//! (h, faults under load) On the largest point reached, with every task RUNNING:
//! - one node falls silent: it is marked Down, its tasks are replaced elsewhere, and once it
//!   reconnects it stops its old copies, so no task runs twice (counted on the nodes and in
//!   the leader's listing);
//! - kill -9 of the leader while a client writes through a survivor: time until a write is
//!   accepted, every acknowledged write present on both survivors, every node back in session
//!   with the new leader and none marked Down, every task still RUNNING once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use api::control::{GetNodeRequest, ListServicesRequest};
use api::objects::NodeState;
use tokio_util::sync::CancellationToken;

use crate::control::Control;
use crate::fleet::Fleet;
use crate::managers::Managers;
use crate::raft;
use crate::report::Report;
use crate::rss::RssWatch;
use crate::scale::SECTION;
use crate::scale_ops::{self, connect, relaxed, running_tasks};

const LIMIT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(250);
/// A write that takes longer counts as not accepted and the next one is tried: one stuck on
/// the dead leader must not hide a new leader that already accepts writes.
const WRITE_TIMEOUT: Duration = Duration::from_millis(500);

/// The point the faults run on.
pub struct Run<'a> {
    pub fleet: &'a Fleet,
    pub names: &'a [String],
    pub tasks: usize,
    pub rss: &'a RssWatch,
}

pub async fn node_down_and_back(
    report: &mut Report,
    ctl: &mut Control,
    run: &Run<'_>,
) -> Result<()> {
    let victim = &run.fleet.nodes[0];
    let counters = &run.fleet.counters;
    let start = Instant::now();
    victim.pause(true);
    while node_state(ctl, &victim.node_id).await? != NodeState::Down as i32 {
        anyhow::ensure!(start.elapsed() < LIMIT, "the silent node never marked Down");
        tokio::time::sleep(POLL).await;
    }
    let down = start.elapsed();
    loop {
        let (elsewhere, _) = running_tasks(ctl, run.names, Some(&victim.node_id)).await?;
        if elsewhere >= run.tasks {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < LIMIT,
            "{elsewhere}/{} RUNNING off the silent node after {LIMIT:?}",
            run.tasks
        );
        tokio::time::sleep(POLL * 4).await;
    }
    let replaced = start.elapsed();
    let copies = counters
        .running_now
        .load(relaxed())
        .saturating_sub(run.tasks);

    let resumed = Instant::now();
    victim.pause(false);
    loop {
        let on_nodes = counters.running_now.load(relaxed());
        if on_nodes == run.tasks
            && node_state(ctl, &victim.node_id).await? == NodeState::Ready as i32
        {
            break;
        }
        anyhow::ensure!(
            resumed.elapsed() < LIMIT,
            "{on_nodes} tasks on the nodes for {} wanted, {LIMIT:?} after the node came back",
            run.tasks
        );
        tokio::time::sleep(POLL).await;
    }
    let reconciled = resumed.elapsed();
    let (listed, twice) = running_tasks(ctl, run.names, None).await?;

    report.add_ms(SECTION, "a node falls silent → marked Down", down, "");
    report.note(&format!(
        "heartbeat period told {} ms, Down after 3 missed",
        counters.period_ms.load(relaxed())
    ));
    report.add_ms(SECTION, "… → its tasks RUNNING elsewhere", replaced, "");
    report.note(&format!(
        "{copies} copies still on the silent node meanwhile"
    ));
    report.add_ms(
        SECTION,
        "it reconnects → its old copies stopped",
        reconciled,
        "",
    );
    report.note(&format!(
        "then {} tasks on the nodes, the leader lists {listed}/{} RUNNING, {twice} slots twice",
        counters.running_now.load(relaxed()),
        run.tasks
    ));
    anyhow::ensure!(
        listed == run.tasks && twice == 0,
        "duplicates or missing tasks after the reconnect"
    );
    Ok(())
}

async fn node_state(ctl: &mut Control, id: &str) -> Result<i32> {
    let node = ctl
        .get_node(GetNodeRequest { id: id.to_string() })
        .await?
        .into_inner();
    Ok(node.status.map_or(0, |s| s.state))
}

/// An acknowledged write: its name and when it was sent.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

pub async fn leader_kill(report: &mut Report, cluster: &mut Managers, run: &Run<'_>) -> Result<()> {
    let leader = cluster.leader_seen_by(0).context("no leader")?;
    let survivor = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let counters = &run.fleet.counters;
    let sessions_before = counters.sessions_opened.load(relaxed());
    let period = Duration::from_millis(counters.period_ms.load(relaxed()).max(500));

    let acked: Acked = Arc::default();
    let stop = CancellationToken::new();
    let writer = tokio::spawn(write_until(
        connect(cluster, survivor).await?,
        acked.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let kill_ms = now_ms();
    let killed = Instant::now();
    cluster.managers[leader].kill9();
    let accepted = loop {
        let first = acked
            .lock()
            .expect("acked lock")
            .iter()
            .find(|(_, sent)| *sent >= killed)
            .map(|_| killed.elapsed());
        if let Some(t) = first {
            break t;
        }
        anyhow::ensure!(
            killed.elapsed() < LIMIT,
            "no write accepted {LIMIT:?} after the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // Some more writes under the new leader, then check them all.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    writer.await?;
    let names: Vec<(String, Instant)> = acked.lock().expect("acked lock").clone();
    let after = names.iter().filter(|(_, sent)| *sent >= killed).count();
    let mut lost = 0;
    for i in [survivor, other] {
        lost += missing_writes(&mut connect(cluster, i).await?, &names).await?;
    }

    let mut ctl = connect(cluster, survivor).await?;
    let nodes = run.fleet.nodes.len();
    loop {
        let reopened = counters.sessions_opened.load(relaxed()) - sessions_before;
        let open = counters.in_session.load(relaxed());
        if reopened >= nodes as u64 && open == nodes {
            break;
        }
        anyhow::ensure!(
            killed.elapsed() < LIMIT,
            "{open}/{nodes} nodes in session {LIMIT:?} after the kill ({reopened} sessions opened)"
        );
        tokio::time::sleep(POLL).await;
    }
    let back = killed.elapsed();
    // Every node the new leader could mark Down has been, once a whole grace has passed.
    let grace = period * 3 + Duration::from_secs(3);
    tokio::time::sleep(grace.saturating_sub(killed.elapsed())).await;
    let down = scale_ops::nodes_marked_down(&mut ctl, Some(kill_ms)).await?;
    let (listed, twice) = running_tasks(&mut ctl, run.names, None).await?;
    let new_leader = cluster.leader_seen_by(survivor);
    let rss = new_leader.map_or(0.0, |l| run.rss.peak_of(l) as f64 / 1024.0);

    report.add_ms(
        SECTION,
        "leader kill -9 → write accepted by a survivor",
        accepted,
        "≤ 3 s",
    );
    report.note(&format!(
        "{} tasks, {} nodes; writes through a survivor, {WRITE_TIMEOUT:?} each at most",
        run.tasks, nodes
    ));
    report.add(
        SECTION,
        "acknowledged writes lost",
        lost as f64,
        "writes",
        "0",
    );
    report.note(&format!(
        "{} acknowledged ({after} after the kill), looked up on both survivors",
        names.len()
    ));
    report.add_ms(
        SECTION,
        "leader kill → every node in session with the new leader",
        back,
        "",
    );
    report.add(
        SECTION,
        "nodes marked Down by the failover",
        down as f64,
        "nodes",
        "0",
    );
    report.note(&format!(
        "after a whole grace ({grace:?}); then the leader lists {listed}/{} RUNNING, {twice} slots \
         twice, {} on the nodes; new leader RSS peak {rss:.0} MiB",
        run.tasks,
        counters.running_now.load(relaxed())
    ));
    anyhow::ensure!(lost == 0, "{lost} acknowledged writes lost");
    Ok(())
}

/// Writes one service after another until `stop`, recording each acknowledged one.
async fn write_until(mut ctl: Control, acked: Acked, stop: CancellationToken) {
    let mut i = 0u64;
    while !stop.is_cancelled() {
        i += 1;
        let name = format!("ack-{i}");
        let sent = Instant::now();
        let done = tokio::time::timeout(WRITE_TIMEOUT, raft::write(&mut ctl, &name)).await;
        if matches!(done, Ok(Ok(()))) {
            acked.lock().expect("acked lock").push((name, sent));
        } else {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// How many of `written` a manager still lacks once it had time to apply them.
async fn missing_writes(ctl: &mut Control, written: &[(String, Instant)]) -> Result<usize> {
    let start = Instant::now();
    loop {
        let services = ctl
            .list_services(ListServicesRequest {})
            .await?
            .into_inner()
            .services;
        let have: HashSet<String> = services
            .into_iter()
            .filter_map(|s| s.spec.map(|s| s.name))
            .collect();
        let missing = written.iter().filter(|(n, _)| !have.contains(n)).count();
        if missing == 0 || start.elapsed() > Duration::from_secs(20) {
            return Ok(missing);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
