//! Fault: restart every node of the lab (all three swarmds stopped, then started again with
//! only `--state-dir`). Every service comes back, and its containers are adopted, not
//! restarted: the same container IDs with the same StartedAt on every node's engine, and the
//! published port answers on every node. Root; under CI=true a failed setup fails.

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/lab.rs"]
mod lab;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lab::{answers_everywhere, wait, Lab, NODES};

const SERVICE: &str = "swf-keep";
const PORT: u16 = 8090;

/// `container ID → StartedAt` of SERVICE's containers on each node's engine.
fn containers(lab: &Lab) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for node in NODES {
        let filter = format!("label=com.swarmd.service.name={SERVICE}");
        let ids = lab
            .docker(node, &["ps", "-q", "--no-trunc", "--filter", &filter])
            .expect("docker ps");
        for id in ids.split_whitespace() {
            let started = lab
                .docker(node, &["inspect", "-f", "{{.State.StartedAt}}", id])
                .expect("docker inspect");
            all.insert(format!("{node}/{id}"), started.trim().to_string());
        }
    }
    all
}

/// Three Ready nodes and SERVICE at 3/3 running, from `--format json`.
fn converged(lab: &Lab) -> bool {
    let rows = |args: &[&str]| -> Vec<serde_json::Value> {
        lab.ctl(args)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let ready = rows(&["node", "ls", "--format", "json"])
        .iter()
        .filter(|r| r["Status"] == "Ready")
        .count();
    let service = rows(&["service", "ls", "--format", "json"])
        .into_iter()
        .any(|r| r["Name"] == SERVICE && r["Replicas"] == "3/3");
    ready == 3 && service
}

#[test]
fn every_node_restarted_adopts_its_containers() {
    let Some(lab) = Lab::for_test(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh"))
    else {
        return;
    };
    lab.recreate_whoami(SERVICE, PORT)
        .expect("creating the service");
    assert!(
        wait(Duration::from_secs(60), || converged(&lab)),
        "{SERVICE} never reached 3/3"
    );
    assert!(
        wait(Duration::from_secs(10), || answers_everywhere(PORT)),
        "the port does not answer before the restart"
    );
    let before = containers(&lab);
    assert_eq!(before.len(), 3, "expected 3 containers: {before:?}");

    let exes: Vec<PathBuf> = NODES
        .iter()
        .map(|n| lab.stop_swarmd(n).expect("stopping swarmd"))
        .collect();
    for (node, exe) in NODES.iter().zip(&exes) {
        lab.start_swarmd(node, exe).expect("starting swarmd");
    }

    assert!(
        wait(Duration::from_secs(60), || converged(&lab)),
        "after the restart: {:?} / {:?}",
        lab.ctl(&["node", "ls"]),
        lab.ctl(&["service", "ls"])
    );
    // Past the heartbeat grace: a node that did not come back would be Down by now.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        converged(&lab),
        "the cluster did not stay converged after the restart"
    );
    for node in NODES {
        assert!(lab.swarmd_pid(node).is_some(), "{node}'s new swarmd exited");
    }
    assert!(
        wait(Duration::from_secs(20), || answers_everywhere(PORT)),
        "the port does not answer on every node after the restart"
    );
    let after = containers(&lab);
    assert_eq!(
        before, after,
        "containers were recreated or restarted instead of adopted"
    );
    lab.ctl(&["service", "rm", SERVICE])
        .expect("removing the service");
}
