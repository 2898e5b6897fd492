//! The Control API operations of the scale section (h): the fleet Ready, services created
//! and timed until every task is RUNNING, services removed until nothing is left, and the
//! listings that check it. Polls of the leader are kept rare: at 100,000 tasks a listing is
//! itself load, and no cheaper count exists in the Control API.

use std::time::{Duration, Instant};

use anyhow::Result;
use api::control::{ListNodesRequest, ListTasksRequest, RemoveServiceRequest};
use api::objects::{NodeRole, NodeState, TaskState};

use crate::control::{self, service_spec, Control};
use crate::fleet::Fleet;
use crate::managers::Managers;
use crate::scale::SERVICES;

/// Large listings (100,000 tasks, 5,000 nodes) exceed tonic's 4 MiB default.
const MAX_MESSAGE: usize = 512 << 20;
const POLL: Duration = Duration::from_millis(250);
const VERIFY_POLL: Duration = Duration::from_secs(2);
/// How often a long point prints where it is.
const PROGRESS: Duration = Duration::from_secs(5);

pub fn relaxed() -> std::sync::atomic::Ordering {
    std::sync::atomic::Ordering::Relaxed
}

/// The Control API of manager `i`, allowed large answers.
pub async fn connect(cluster: &Managers, i: usize) -> Result<Control> {
    Ok(control::connect_socket(cluster.managers[i].socket())
        .await?
        .max_decoding_message_size(MAX_MESSAGE))
}

pub async fn wait_ready(
    ctl: &mut Control,
    want: usize,
    since: Instant,
    limit: Duration,
) -> Result<Duration> {
    loop {
        let n = control::ready_nodes(ctl).await.unwrap_or(0);
        if n >= want {
            return Ok(since.elapsed());
        }
        anyhow::ensure!(
            since.elapsed() < limit,
            "{n}/{want} nodes Ready after {limit:?}"
        );
        tokio::time::sleep(POLL * 2).await;
    }
}

/// Creates the services and waits until all `tasks` are RUNNING: first by the fleet's
/// acknowledged reports, then confirmed by the leader's listing.
pub async fn converge(
    ctl: &mut Control,
    fleet: &Fleet,
    names: &[String],
    tasks: usize,
    limit: Duration,
) -> Result<Duration> {
    let replicas = (tasks / SERVICES) as u64;
    let before = fleet.counters.running_acked.load(relaxed());
    let start = Instant::now();
    // All at once, as a stack deploy would send them: the cluster's convergence is measured,
    // not one client's round trips.
    let creates = names.iter().map(|name| {
        let mut ctl = ctl.clone();
        async move {
            control::create(
                &mut ctl,
                service_spec(name, "swarmd/sleeper", replicas, None, &[]),
            )
            .await
        }
    });
    for created in futures::future::join_all(creates).await {
        created?;
    }
    println!(
        "    {} services created in {:?}",
        names.len(),
        start.elapsed()
    );
    let mut shown = start;
    let acked = loop {
        let n = fleet.counters.running_acked.load(relaxed()) - before;
        if n as usize >= tasks {
            break start.elapsed();
        }
        if shown.elapsed() >= PROGRESS {
            shown = Instant::now();
            println!(
                "    {:>6.1} s: {n}/{tasks} reported RUNNING; {} pushes, {} MiB received so far",
                start.elapsed().as_secs_f64(),
                fleet.counters.pushes.load(relaxed()),
                fleet.counters.pushed_bytes.load(relaxed()) >> 20
            );
        }
        anyhow::ensure!(
            start.elapsed() < limit,
            "{n}/{tasks} reported RUNNING after {limit:?}"
        );
        tokio::time::sleep(POLL).await;
    };
    // Confirmed at the first listing, the acknowledged time stands (each report was
    // committed when acknowledged); otherwise the time of the listing that confirms it.
    let mut first = true;
    loop {
        let (running, duplicates) = running_tasks(ctl, names, None).await?;
        anyhow::ensure!(duplicates == 0, "{duplicates} slots RUNNING twice");
        if running >= tasks {
            return Ok(if first { acked } else { start.elapsed() });
        }
        first = false;
        anyhow::ensure!(
            start.elapsed() < limit,
            "the leader lists {running}/{tasks} RUNNING after {limit:?}"
        );
        tokio::time::sleep(VERIFY_POLL).await;
    }
}

/// RUNNING tasks (wanted running) of the services as the manager lists them, leaving out
/// those on node `off` when given, and how many slots have more than one.
pub async fn running_tasks(
    ctl: &mut Control,
    names: &[String],
    off: Option<&str>,
) -> Result<(usize, usize)> {
    let (mut running, mut duplicates) = (0, 0);
    for name in names {
        let tasks = crate::control::desired(ctl, name).await?;
        let mut slots: Vec<u64> = tasks
            .iter()
            .filter(|t| {
                t.status
                    .as_ref()
                    .is_some_and(|s| s.state == TaskState::Running as i32)
            })
            .filter(|t| off != Some(t.node_id.as_str()))
            .map(|t| t.slot)
            .collect();
        running += slots.len();
        slots.sort_unstable();
        let distinct = {
            let mut s = slots.clone();
            s.dedup();
            s.len()
        };
        duplicates += slots.len() - distinct;
    }
    Ok((running, duplicates))
}

/// Removes the services; done when no node runs a task and the store holds none.
pub async fn teardown(
    ctl: &mut Control,
    fleet: &Fleet,
    names: &[String],
    limit: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    for name in names {
        ctl.remove_service(RemoveServiceRequest { id: name.clone() })
            .await?;
    }
    loop {
        let on_nodes = fleet.counters.running_now.load(relaxed());
        let stored = if on_nodes == 0 {
            ctl.list_tasks(ListTasksRequest::default())
                .await?
                .into_inner()
                .tasks
                .len()
        } else {
            usize::MAX
        };
        if stored == 0 {
            return Ok(start.elapsed());
        }
        anyhow::ensure!(
            start.elapsed() < limit,
            "after {limit:?}: {on_nodes} tasks still on nodes, the store still holds some"
        );
        tokio::time::sleep(VERIFY_POLL).await;
    }
}

/// Worker nodes the manager has marked Down at some time (`down_since_ms` stays set), since
/// `after_ms` when given; a node marked Down that came back counts too. Managers are left
/// out: a killed one is rightly Down.
pub async fn nodes_marked_down(ctl: &mut Control, after_ms: Option<i64>) -> Result<usize> {
    let nodes = ctl
        .list_nodes(ListNodesRequest {})
        .await?
        .into_inner()
        .nodes;
    Ok(nodes
        .iter()
        .filter(|n| n.role == NodeRole::Worker as i32)
        .filter_map(|n| n.status.as_ref())
        .filter(|s| {
            let since = s.down_since_ms;
            since > 0 && after_ms.is_none_or(|a| since >= a) || s.state == NodeState::Down as i32
        })
        .count())
}
