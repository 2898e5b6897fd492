//! (v) Issue 14 on the lab, with real containers: a client container on a user network
//! loads a service through its virtual IP and straight to its task (same run, interleaved),
//! and a new task's name reaches every node's resolver: from the task RUNNING to
//! `tasks.SERVICE` listing it, asked inside a client container on each of the 3 nodes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::control;
use crate::dnsload::{self, DnsLoad};
use crate::docker_swarm::DockerSwarm;
use crate::lab::{http_get, in_netns_at, Lab, NODES};
use crate::mesh::{load_from, Load};
use crate::report::{percentile, Report};

const NET: &str = "swb-net";
const API: &str = "swb-api";
const CLIENT: &str = "swb-client";
const SECTION: &str = "v. user network (lab): VIP, names";

pub async fn lab(report: &mut Report, lab: &Lab, quick: bool) -> Result<()> {
    let mut ctl = control::connect_socket(lab.socket("manager")).await?;
    let result = measure(report, lab, &mut ctl, quick).await;
    for s in [API, CLIENT] {
        let _ = lab.ctl(&["service", "rm", s]);
    }
    let gone = crate::lab::wait(Duration::from_secs(30), || {
        lab.ctl(&["network", "rm", NET]).is_ok()
    });
    if !gone {
        eprintln!("  could not remove network {NET}");
    }
    result
}

fn ctl(lab: &Lab, args: &[&str]) -> Result<String> {
    lab.ctl(args).map_err(anyhow::Error::msg)
}

async fn measure(
    report: &mut Report,
    lab: &Lab,
    ctl_: &mut control::Control,
    quick: bool,
) -> Result<()> {
    ctl(lab, &["network", "create", NET])?;
    let api = ["service", "create", "-d", "--name", API, "--network", NET];
    let api = [
        &api[..],
        &[
            "--constraint",
            "node.hostname==worker1",
            "swarmd/whoami:latest",
        ],
    ]
    .concat();
    ctl(lab, &api)?;
    let client = [
        "service",
        "create",
        "-d",
        "--name",
        CLIENT,
        "--network",
        NET,
    ];
    ctl(
        lab,
        &[&client[..], &["--mode", "global", "swarmd/sleeper:latest"]].concat(),
    )?;
    let start = Instant::now();
    let limit = Duration::from_secs(60);
    let every = Duration::from_millis(50);
    control::wait_running(ctl_, API, 1, start, every, limit).await?;
    control::wait_running(ctl_, CLIENT, 3, start, every, limit).await?;

    let (vip, net_id) = vip_of(ctl_).await?;
    let task = control::running(ctl_, API).await?.remove(0);
    let on_net = |t: &api::objects::Task| {
        t.networks
            .iter()
            .find(|a| a.network_id == net_id)
            .map(|a| a.addr.clone())
            .context("the api task has no address on the network")
    };
    let task_ip = on_net(&task)?;
    let clients = client_namespaces(lab, ctl_).await?;
    let (_, manager_ns) = clients
        .iter()
        .find(|(n, _)| n == "manager")
        .context("no client on the manager")?;

    // Throughput: the client on the manager, the task on worker1, over the VXLAN overlay.
    let per_round = if quick { 500 } else { 2000 };
    let through_vip: SocketAddr = format!("{vip}:80").parse()?;
    let direct: SocketAddr = format!("{task_ip}:80").parse()?;
    // The client's own namespace is plumbed a moment after it is RUNNING: wait for both paths.
    let warm = manager_ns.clone();
    let ready = tokio::task::spawn_blocking(move || {
        crate::lab::wait(Duration::from_secs(20), || {
            [direct, through_vip].iter().all(|a| {
                let a = *a;
                in_netns_at(warm.clone(), move || {
                    http_get(a, Duration::from_secs(1)).is_ok()
                })
            })
        })
    })
    .await?;
    ensure!(
        ready,
        "the client container does not reach the task, directly or through the VIP"
    );
    let ns = manager_ns.clone();
    let (v, d) = tokio::task::spawn_blocking(move || {
        let (mut v, mut d) = (Load::default(), Load::default());
        for _ in 0..3 {
            d.merge(load_from(&ns, direct, per_round));
            v.merge(load_from(&ns, through_vip, per_round));
        }
        (v, d)
    })
    .await?;
    ensure!(
        v.errors + d.errors < 40,
        "requests failing: {} via the VIP, {} direct",
        v.errors,
        d.errors
    );
    report.add(
        SECTION,
        "direct to the task (other node)",
        d.rps(),
        "req/s",
        "",
    );
    report.note(&d.summary());
    report.add(SECTION, "through the service's VIP", v.rps(), "req/s", "");
    report.note(&v.summary());
    report.add(
        SECTION,
        "throughput ratio VIP/direct",
        v.rps() / d.rps(),
        "×",
        "≥ 0.95",
    );

    // Names: scale up one at a time; RUNNING → in `tasks.swb-api` on all 3 nodes.
    let rounds = if quick { 3 } else { 10 };
    let mut ms = Vec::new();
    for i in 0..rounds {
        let before: Vec<String> = control::running(ctl_, API)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        ctl(
            lab,
            &[
                "service",
                "scale",
                "-d",
                &format!("{API}={}", before.len() + 1),
            ],
        )?;
        let asked = Instant::now();
        let (addr, running_at) = loop {
            let now = control::running(ctl_, API).await?;
            if let Some(t) = now.iter().find(|t| !before.contains(&t.id)) {
                break (on_net(t)?.parse::<Ipv4Addr>()?, Instant::now());
            }
            ensure!(asked.elapsed() < limit, "round {i}: the new task never ran");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let mut pending: Vec<String> = clients.iter().map(|(_, ns)| ns.clone()).collect();
        while !pending.is_empty() {
            let mut still = Vec::new();
            for ns in pending {
                let ns2 = ns.clone();
                let seen =
                    tokio::task::spawn_blocking(move || lookup(&ns2, &format!("tasks.{API}")))
                        .await?
                        .unwrap_or_default();
                if !seen.contains(&addr) {
                    still.push(ns);
                }
            }
            pending = still;
            if running_at.elapsed() > Duration::from_secs(10) {
                bail!("round {i}: {addr} not in every node's tasks.{API} after 10 s");
            }
        }
        ms.push(running_at.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    report.add(
        SECTION,
        "task RUNNING → in tasks.NAME on all 3 nodes, p50",
        percentile(&ms, 0.5),
        "ms",
        "",
    );
    report.add(
        SECTION,
        "… worst of the rounds",
        *ms.last().unwrap_or(&0.0),
        "ms",
        "p99 ≤ 300 ms",
    );
    report.note(&format!(
        "{rounds} scale-ups of one task; asked every ~ms inside a client container on each node"
    ));

    // The resolver from one container, then Docker's embedded DNS from one of its own.
    let secs = if quick { 1 } else { 3 };
    let ns = manager_ns.clone();
    let ours = tokio::task::spawn_blocking(move || dnsload::run(&ns, API, 5000, secs)).await??;
    dns_rows(report, "swarmd, from a task on the manager", &ours);
    let images = crate::examples::repo_root().join("integration/images/build.sh");
    let docker = tokio::task::spawn_blocking(move || -> Result<(DnsLoad, Result<Vec<f64>>)> {
        let peer = DockerSwarm::start(&images)?;
        peer.create_overlay("swb-dnsnet")?;
        peer.create_service_on("swb-dns", "swarmd/sleeper:latest", "swb-dnsnet")?;
        let up = crate::lab::wait(Duration::from_secs(60), || {
            peer.running("swb-dns").is_ok_and(|n| n == 1)
        });
        ensure!(up, "Docker's swb-dns never ran");
        let ns = format!("/proc/{}/ns/net", peer.container_pid("swb-dns")?);
        let load = dnsload::run(&ns, "swb-dns", 5000, secs)?;
        let names = crate::docker_names::propagation(&peer, "swb-dnsnet", &ns, rounds);
        Ok((load, names))
    })
    .await?;
    match docker {
        Ok((d, names)) => {
            dns_rows(report, "Docker swarm mode, from a task of its own", &d);
            match names {
                Ok(mut ms) => {
                    ms.sort_by(f64::total_cmp);
                    let metric = "Docker: task RUNNING → in tasks.NAME (1 node), p50";
                    report.add(SECTION, metric, percentile(&ms, 0.5), "ms", "");
                    let worst = *ms.last().unwrap_or(&0.0);
                    report.add(SECTION, "… Docker's worst of the rounds", worst, "ms", "");
                    report.note(&format!(
                        "{rounds} scale-ups on Docker's one-node swarm, asked in one container of its own"
                    ));
                }
                Err(e) => report.missing(SECTION, "Docker's name propagation", &format!("{e:#}")),
            }
        }
        Err(e) => report.missing(SECTION, "Docker's embedded DNS", &format!("failed: {e:#}")),
    }
    Ok(())
}

fn dns_rows(report: &mut Report, who: &str, load: &DnsLoad) {
    let p99 = percentile(&load.ms, 0.99);
    let metric = format!("DNS at 5,000 queries/s, p99: {who}");
    report.add(SECTION, &metric, p99, "ms", "≤ 1 ms");
    report.note(&format!(
        "p50 {:.3} ms, max {:.2} ms, {} of {} unanswered",
        percentile(&load.ms, 0.5),
        load.ms.last().copied().unwrap_or(0.0),
        load.unanswered(),
        load.sent
    ));
}

/// The service's VIP and the ID of the network it is on.
async fn vip_of(ctl_: &mut control::Control) -> Result<(String, String)> {
    let s = ctl_
        .get_service(api::control::GetServiceRequest { id: API.into() })
        .await?
        .into_inner();
    let vip = s.virtual_ips.first().context("the service has no VIP")?;
    Ok((vip.addr.clone(), vip.network_id.clone()))
}

/// Each node's client container's namespace path, by node hostname.
async fn client_namespaces(
    lab: &Lab,
    ctl_: &mut control::Control,
) -> Result<Vec<(String, String)>> {
    let nodes = ctl_
        .list_nodes(api::control::ListNodesRequest {})
        .await?
        .into_inner()
        .nodes;
    let mut out = Vec::new();
    for t in control::running(ctl_, CLIENT).await? {
        let node = nodes
            .iter()
            .find(|n| n.id == t.node_id)
            .context("task on an unknown node")?;
        let host = node
            .description
            .as_ref()
            .map(|d| d.hostname.clone())
            .unwrap_or_default();
        ensure!(NODES.contains(&host.as_str()), "client on {host}");
        let filter = format!("label=com.swarmd.task.id={}", t.id);
        let id = lab
            .docker(&host, &["ps", "-q", "--filter", &filter])
            .map_err(anyhow::Error::msg)?;
        let pid = lab
            .docker(&host, &["inspect", "-f", "{{.State.Pid}}", id.trim()])
            .map_err(anyhow::Error::msg)?;
        out.push((host, format!("/proc/{}/ns/net", pid.trim())));
    }
    Ok(out)
}

/// The A records of `name` from 127.0.0.11 inside the namespace at `ns`.
pub fn lookup(ns: &str, name: &str) -> Result<Vec<Ipv4Addr>> {
    let bytes = dns::probe::a_query(7, name)?;
    let reply = in_netns_at(ns.to_string(), move || -> std::io::Result<Vec<u8>> {
        let s = std::net::UdpSocket::bind("127.0.0.1:0")?;
        s.set_read_timeout(Some(Duration::from_millis(500)))?;
        s.send_to(&bytes, "127.0.0.11:53")?;
        let mut buf = [0u8; 1500];
        let n = s.recv(&mut buf)?;
        Ok(buf[..n].to_vec())
    })?;
    Ok(dns::probe::a_records(&reply)?.1)
}
