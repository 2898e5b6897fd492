//! Fault: a network partition. Three managers, each in a network namespace of its own
//! (`swf-m1..3`) on a bridge `swf-br0`; the leader's link is cut. It must not commit a write;
//! the other two elect a leader and go on; after the link is restored it catches up, and the
//! write it could not commit exists nowhere. Root; under CI=true a failed setup fails.

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/managers.rs"]
mod managers;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use managers::{poll, Binaries, Managers, Place};

const BRIDGE: &str = "swf-br0";
const NODES: [&str; 3] = ["swf-m1", "swf-m2", "swf-m3"];

/// The namespaces, veths and bridge; removed on drop, by name.
struct Network;

impl Network {
    fn create() -> Result<Network, String> {
        let net = Network;
        net.remove();
        ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["link", "set", BRIDGE, "up"])?;
        for (i, ns) in NODES.iter().enumerate() {
            ip(&["netns", "add", ns])?;
            ip(&[
                "link", "add", ns, "type", "veth", "peer", "name", "eth0", "netns", ns,
            ])?;
            ip(&["link", "set", ns, "master", BRIDGE, "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("10.213.0.{}/24", i + 1),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    fn link(&self, i: usize, state: &str) {
        ip(&["link", "set", NODES[i], state]).expect("switching a link");
    }

    fn remove(&self) {
        for ns in NODES {
            let _ = ip(&["link", "del", ns]);
            let _ = ip(&["netns", "del", ns]);
        }
        let _ = ip(&["link", "del", BRIDGE]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The network, or `None` (after saying why) when this machine cannot make one and this is
/// not CI.
fn network() -> Option<Network> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !nix::unistd::Uid::effective().is_root() && !ci {
        eprintln!("skipping: network namespaces need root (CI=true makes this fail)");
        return None;
    }
    match Network::create() {
        Ok(net) => Some(net),
        Err(e) => panic!("cannot set up the partition test's network: {e}"),
    }
}

fn create(cluster: &Managers, i: usize, name: &str, timeout: Duration) -> bool {
    let args = [
        "service",
        "create",
        "--detach",
        "-q",
        "--name",
        name,
        "--replicas",
        "0",
        "swarmd/sleeper",
    ];
    managers::swarmctl(&cluster.bins, &cluster.managers[i].socket(), &args, timeout)
        .status
        .success()
}

fn has_service(cluster: &Managers, i: usize, name: &str) -> bool {
    let out = cluster.ctl(i, &["service", "ls", "--format", "json"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|v| v["Name"] == name)
}

#[test]
fn an_isolated_leader_cannot_commit_and_catches_up_after_healing() {
    let Some(net) = network() else { return };
    let places = (0..3)
        .map(|i| Place {
            addr: SocketAddr::from(([10, 213, 0, i as u8 + 1], 2377)),
            netns: Some(NODES[i].to_string()),
        })
        .collect();
    let cluster = Managers::start_at(&Binaries::locate(), places);
    assert!(
        create(&cluster, 0, "before", Duration::from_secs(10)),
        "a write before the partition"
    );
    let isolated = cluster.leader_seen_by(0).expect("a leader");
    let majority: Vec<usize> = (0..3).filter(|i| *i != isolated).collect();

    net.link(isolated, "down");
    assert!(
        !create(&cluster, isolated, "lost", Duration::from_secs(5)),
        "the isolated manager acknowledged a write it could not replicate"
    );
    // A retry after a timed-out attempt that did commit finds the name taken: look first.
    let went_on = poll(Duration::from_secs(15), || {
        has_service(&cluster, majority[0], "majority")
            || create(&cluster, majority[0], "majority", Duration::from_secs(3))
    });
    assert!(
        went_on,
        "the majority did not accept a write while {} was cut off",
        NODES[isolated]
    );
    assert!(
        has_service(&cluster, majority[1], "majority"),
        "the write is not on the other member of the majority"
    );
    assert!(
        !has_service(&cluster, isolated, "majority"),
        "the isolated manager saw the majority's write"
    );

    net.link(isolated, "up");
    let caught_up = poll(Duration::from_secs(20), || {
        has_service(&cluster, isolated, "majority")
    });
    assert!(
        caught_up,
        "{} did not catch up after healing:\n{}",
        NODES[isolated],
        cluster.managers[isolated].log_tail(20)
    );
    for (i, node) in NODES.iter().enumerate() {
        assert!(
            has_service(&cluster, i, "before"),
            "{node} lost an old write"
        );
        assert!(
            !has_service(&cluster, i, "lost"),
            "{node} has the uncommitted write"
        );
    }
    // And the healed manager takes writes again (forwarded to the new leader).
    assert!(
        poll(Duration::from_secs(10), || {
            has_service(&cluster, isolated, "healed")
                || create(&cluster, isolated, "healed", Duration::from_secs(3))
        }),
        "the healed manager does not accept writes"
    );
    drop(cluster);
}
