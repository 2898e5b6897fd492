//! Fault: restart worker1's swarmd (its agent) while the lab's client sends a steady stream of
//! requests to the published port on the manager (.10) and worker2 (.12). Not one request may
//! fail: worker1's containers keep running, stay in every node's mesh, and are adopted.
//! Root; under CI=true a failed setup fails.

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/lab.rs"]
mod lab;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lab::{answers_everywhere, http_get, in_netns, ip, wait, Lab};

const SERVICE: &str = "swf-steady";
const PORT: u16 = 8091;

fn running_everywhere(lab: &Lab) -> bool {
    let ps = lab
        .ctl(&["service", "ps", SERVICE, "--format", "json"])
        .unwrap_or_default();
    let nodes: std::collections::BTreeSet<String> = ps
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| {
            r["DesiredState"] == "Running"
                && r["CurrentState"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("Running"))
        })
        .filter_map(|r| r["Node"].as_str().map(str::to_string))
        .collect();
    nodes.len() == 3
}

#[test]
fn restarting_an_agent_drops_no_request_on_other_nodes() {
    let Some(lab) = Lab::for_test(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh"))
    else {
        return;
    };
    lab.recreate_whoami(SERVICE, PORT)
        .expect("creating the service");
    assert!(
        wait(Duration::from_secs(60), || running_everywhere(&lab)),
        "{SERVICE}: not one task per node"
    );
    // Running in the store comes tens of milliseconds before every node's mesh has it.
    assert!(
        wait(Duration::from_secs(10), || answers_everywhere(PORT)),
        "{SERVICE}: port {PORT} does not answer on every node"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = ["manager", "worker2"]
        .iter()
        .map(|node| {
            let addr: SocketAddr = format!("{}:{PORT}", ip(node)).parse().expect("address");
            let stop = stop.clone();
            std::thread::spawn(move || {
                in_netns("swl-client", move || {
                    let (mut ok, mut failed) = (0u32, Vec::new());
                    while !stop.load(Ordering::SeqCst) {
                        match http_get(addr, Duration::from_secs(2)) {
                            Ok(_) => ok += 1,
                            Err(e) => failed.push(e),
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    (addr, ok, failed)
                })
            })
        })
        .collect();

    std::thread::sleep(Duration::from_secs(1));
    let down = lab
        .restart_swarmd("worker1")
        .expect("restarting worker1's swarmd");
    // Until worker1 has its session back and well past the heartbeat grace.
    let back = wait(Duration::from_secs(30), || {
        lab.ctl(&["node", "ls"])
            .is_ok_and(|o| o.matches("Ready").count() == 3)
            && running_everywhere(&lab)
    });
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::SeqCst);

    for client in clients {
        let (addr, ok, failed) = client.join().expect("client thread");
        eprintln!("{addr}: {ok} answered, {} failed", failed.len());
        assert!(ok > 50, "{addr}: only {ok} requests answered");
        assert!(
            failed.is_empty(),
            "{addr}: {} requests failed, first: {}",
            failed.len(),
            failed[0]
        );
    }
    assert!(
        back,
        "worker1 did not come back Ready with its task running (stopped for {down:?})"
    );
    lab.ctl(&["service", "rm", SERVICE])
        .expect("removing the service");
}
