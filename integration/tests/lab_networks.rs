//! Issue 14 on the three-node lab, with real containers: services on user networks find each
//! other by name through the node's embedded DNS, a VIP balances over tasks on every node,
//! dnsrr and `tasks.NAME` answer the tasks, and a network shares nothing with another.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/lab.rs"]
mod daemons;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{ensure, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(60);

/// Removes the lab's networks when dropped (after the services, which `Lab` removes).
struct Networks<'a> {
    lab: &'a Lab,
    names: Vec<&'static str>,
}

impl Drop for Networks<'_> {
    fn drop(&mut self) {
        for s in ["api", "db", "web", "outsider"] {
            let _ = self.lab.remove_service(s);
        }
        for n in &self.names {
            let _ = self.lab.ctl(&["network", "rm", n]);
        }
    }
}

/// The IPv4 addresses busybox `nslookup NAME` printed after the server's own lines.
fn looked_up(out: &str) -> BTreeSet<String> {
    out.split("Name:")
        .skip(1)
        .flat_map(|answer| answer.lines().skip(1))
        .filter_map(|l| l.trim().strip_prefix("Address:"))
        .map(|a| a.trim().to_string())
        .collect()
}

fn hostname(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("Hostname: "))
        .map(|h| h.trim().to_string())
}

#[test]
fn lab_8_services_find_each_other_by_name_on_their_networks_only() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 14: user networks, VIPs and DNS");
    let _cleanup = Networks {
        lab: &lab,
        names: vec!["back", "front"],
    };
    for n in ["back", "front"] {
        let _ = lab.ctl(&["network", "rm", n]);
        lab.show(&["network", "create", n])?;
    }
    let port = ["--env", "PORT=8080"];
    let api = [
        &port[..],
        &[
            "--network",
            "back",
            "--replicas",
            "3",
            "swarmd/whoami:latest",
        ],
    ]
    .concat();
    lab.create_service("api", &api)?;
    let db = [
        &port[..],
        &[
            "--network",
            "back",
            "--endpoint-mode",
            "dnsrr",
            "--replicas",
            "2",
            "swarmd/whoami:latest",
        ],
    ]
    .concat();
    lab.create_service("db", &db)?;
    lab.create_service(
        "web",
        &[
            "--mode",
            "global",
            "--network",
            "front",
            "--network",
            "back",
            "swarmd/sleeper:latest",
        ],
    )?;
    lab.create_service("outsider", &["--network", "front", "swarmd/sleeper:latest"])?;
    let apis = lab.wait_running("api", 3, CONVERGE)?;
    lab.wait_running("db", 2, CONVERGE)?;
    let webs = lab.wait_running("web", 3, CONVERGE)?;
    // A worker's: restarting its swarmd later leaves the only manager alone.
    let web = webs
        .iter()
        .find(|w| w.node != "manager")
        .cloned()
        .unwrap_or_else(|| webs[0].clone());
    let outsider = lab.wait_running("outsider", 1, CONVERGE)?.remove(0);
    lab.show(&["service", "ps", "api", "db", "web", "outsider"])?;
    lab.show(&["network", "inspect", "back"])?;
    let nodes: BTreeSet<&str> = apis.iter().map(|t| t.node.as_str()).collect();
    ensure!(nodes.len() == 3, "api is not one task per node: {apis:?}");

    let resolv = lab.exec_ok(&web, &["cat", "/etc/resolv.conf"])?;
    println!("$ cat /etc/resolv.conf   (in a web task)\n{resolv}");
    ensure!(
        resolv.contains("nameserver 127.0.0.11"),
        "resolv.conf: {resolv}"
    );

    // Nothing here publishes a port: no task is on ingress. web has front, back, then its
    // node's gateway bridge, which carries its default route.
    for t in apis.iter().chain(&webs) {
        ensure!(
            !t.addr.starts_with(INGRESS_PREFIX),
            "{} is on the ingress network: {}",
            t.name,
            t.addr
        );
    }
    let addrs = lab.exec_ok(&web, &["ip", "-o", "-4", "addr", "show"])?;
    let route = lab.exec_ok(&web, &["ip", "route", "show", "default"])?;
    println!("$ ip -o -4 addr; ip route show default   (in a web task)\n{addrs}{route}");
    for (eth, net) in [
        ("eth0", "inet 10.0."),
        ("eth1", "inet 10.0."),
        ("eth2", "inet 172.18."),
    ] {
        ensure!(
            addrs
                .lines()
                .any(|l| l.contains(&format!(" {eth} ")) && l.contains(net)),
            "web's {eth} is not on {net}: {addrs}"
        );
    }
    ensure!(
        !addrs.contains(&format!("inet {INGRESS_PREFIX}")),
        "web is on ingress: {addrs}"
    );
    ensure!(
        route.contains("via 172.18.0.1 dev eth2"),
        "web's default route: {route}"
    );

    // By name, through the VIP: every api task answers, wherever it runs.
    let mut seen = BTreeSet::new();
    for _ in 0..9 {
        let body = lab.exec_ok(&web, &["timeout", "5", "wget", "-qO-", "http://api:8080/"])?;
        seen.extend(hostname(&body));
    }
    println!("$ wget -qO- http://api:8080/  x9 (in a web task) -> {seen:?}");
    ensure!(
        seen.len() == 3,
        "the VIP did not reach all 3 api tasks: {seen:?}"
    );

    // busybox nslookup asks a bare name only with the domain it takes from the hostname
    // (`web.1` → `api.1`, answered NXDOMAIN): ask the absolute names.
    let vip = lab.exec_ok(&web, &["nslookup", "api."])?;
    let tasks = lab.exec_ok(&web, &["nslookup", "tasks.api"])?;
    let dnsrr = lab.exec_ok(&web, &["nslookup", "db."])?;
    println!("$ nslookup api / tasks.api / db (in a web task)\n{vip}\n{tasks}\n{dnsrr}");
    ensure!(looked_up(&vip).len() == 1, "api is one VIP: {vip}");
    ensure!(
        looked_up(&tasks).len() == 3,
        "tasks.api is 3 tasks: {tasks}"
    );
    ensure!(
        looked_up(&dnsrr).len() == 2,
        "db (dnsrr) is its 2 tasks: {dnsrr}"
    );

    // `outsider` is on front only: back's names are not its own, nor its addresses.
    let reaches = |url: &str| -> Result<bool> {
        let c = lab.container_of(&outsider)?;
        let args = [
            "docker",
            &outsider.node,
            "exec",
            &c,
            "timeout",
            "3",
            "wget",
            "-qO-",
            url,
        ];
        Ok(lab.lab(&args, Duration::from_secs(20))?.ok())
    };
    ensure!(
        !reaches("http://api:8080/")?,
        "outsider reached api by name"
    );
    for addr in looked_up(&tasks) {
        let url = format!("http://{addr}:8080/");
        ensure!(
            !reaches(&url)?,
            "outsider reached api's task {addr} on back"
        );
    }

    // swarmd restarts on web's node: the container stays, keeps its links and is served its
    // names again.
    let before = lab.container_of(&web)?;
    let daemons =
        daemons::Lab::new(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh"));
    let down = daemons
        .restart_swarmd(&web.node)
        .map_err(|e| anyhow::anyhow!("restarting {}'s swarmd: {e}", web.node))?;
    println!(
        "swarmd on {} restarted ({:.1} s down)",
        web.node,
        down.as_secs_f64()
    );
    wait_for(
        "web's names served again after the restart",
        Duration::from_secs(30),
        || {
            Ok(
                match lab.exec_ok(&web, &["timeout", "3", "wget", "-qO-", "http://api:8080/"]) {
                    Ok(body) if hostname(&body).is_some() => Ok(()),
                    Ok(body) => Err(format!("answer: {body}")),
                    Err(e) => Err(format!("{e:#}")),
                },
            )
        },
    )?;
    ensure!(
        lab.container_of(&web)? == before,
        "web's container was replaced by the restart"
    );
    let eth1 = lab.exec_ok(&web, &["ip", "-o", "addr", "show", "eth1"])?;
    ensure!(
        eth1.contains("inet 10."),
        "web lost its back interface: {eth1}"
    );

    // Scale api to 1: the names and the VIP follow on every node.
    lab.show(&["service", "scale", "api=1"])?;
    let left = lab.wait_running("api", 1, CONVERGE)?.remove(0);
    for w in &webs {
        wait_for(
            &format!("tasks.api to list 1 task on {}", w.node),
            Duration::from_secs(20),
            || {
                let out = lab.exec_ok(w, &["nslookup", "tasks.api"])?;
                Ok(match looked_up(&out).len() {
                    1 => Ok(()),
                    n => Err(format!("tasks.api lists {n}: {out}")),
                })
            },
        )?;
        for _ in 0..3 {
            let body = lab.exec_ok(w, &["timeout", "5", "wget", "-qO-", "http://api:8080/"])?;
            ensure!(
                hostname(&body).as_deref() == Some(left.name.as_str()),
                "{}: the VIP sent to {body:?}",
                w.node
            );
        }
    }
    println!(
        "after scale api=1: tasks.api and the VIP give {} on all 3 nodes",
        left.name
    );
    let refused = lab.ctl(&["network", "rm", "back"]);
    ensure!(
        refused.is_err(),
        "network rm back succeeded while api uses it"
    );
    println!("$ swarmctl network rm back   -> {:#}", refused.unwrap_err());
    Ok(())
}
