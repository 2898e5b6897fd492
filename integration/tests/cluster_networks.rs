//! Issue 14, user networks across a leader change, with 3 manager processes: subnets, VNIs,
//! virtual IPs and task addresses are read back from the replicated store by whichever
//! manager leads, so a new leader never hands one out twice.

use std::collections::BTreeSet;
use std::time::Duration;

use integration::{wait_until, Cluster};
use serde_json::Value;

fn inspect(cluster: &Cluster, via: usize, args: &[&str]) -> Value {
    let out = cluster.nodes[via].ctl(args).expect_ok().stdout;
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Every address handed out on the cluster's networks: VIPs and task addresses.
fn addresses(cluster: &Cluster, via: usize, services: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    for s in services {
        let svc = inspect(cluster, via, &["service", "inspect", s]);
        for v in svc[0]["virtual_ips"].as_array().expect("virtual_ips") {
            all.push(v["addr"].as_str().unwrap().to_string());
        }
    }
    let tasks = inspect(cluster, via, &["network", "inspect", "a", "b"]);
    for n in tasks.as_array().unwrap() {
        for t in n["tasks"].as_array().unwrap() {
            all.push(t["addr"].as_str().unwrap().to_string());
        }
    }
    all
}

#[test]
fn a_new_leader_never_hands_out_a_subnet_vni_or_address_twice() {
    let mut cluster = Cluster::start(3, 0);
    let old = cluster.wait_leader(Duration::from_secs(10));
    let survivor = (0..3).find(|&i| i != old).expect("a survivor");
    cluster.nodes[old]
        .ctl(&["network", "create", "a"])
        .expect_ok();
    cluster.nodes[old]
        .ctl(&[
            "service",
            "create",
            "-d",
            "--name",
            "one",
            "--replicas",
            "2",
            "--network",
            "a",
            "nginx",
        ])
        .expect_ok();
    cluster.wait_running("one", 2, Duration::from_secs(20));

    cluster.nodes[old].kill9();
    wait_until(
        "a write after the failover",
        Duration::from_secs(15),
        || {
            let out = cluster.nodes[survivor].ctl(&["network", "create", "b"]);
            match out.success() || out.stderr.contains("already exists") {
                true => Ok(()),
                false => Err(out.to_string()),
            }
        },
    );
    cluster.nodes[survivor]
        .ctl(&[
            "service",
            "create",
            "-d",
            "--name",
            "two",
            "--replicas",
            "2",
            "--network",
            "a",
            "--network",
            "b",
            "nginx",
        ])
        .expect_ok();
    wait_until("two's tasks addressed", Duration::from_secs(20), || {
        let n = addresses(&cluster, survivor, &["one", "two"]).len();
        // VIPs: 1 + 2; tasks: 2 on a, 2 on a and 2 on b.
        match n {
            9 => Ok(()),
            n => Err(format!("{n} addresses")),
        }
    });

    let nets = inspect(&cluster, survivor, &["network", "inspect", "a", "b"]);
    let subnet = |i: usize| nets[i]["spec"]["subnet"].as_str().unwrap().to_string();
    let vni = |i: usize| nets[i]["spec"]["vni"].as_u64().unwrap();
    assert_ne!(subnet(0), subnet(1));
    assert_ne!(vni(0), vni(1));
    let all = addresses(&cluster, survivor, &["one", "two"]);
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "an address was handed out twice: {all:?}"
    );
    println!(
        "after failover: a={} (VNI {}), b={} (VNI {}), addresses {all:?}",
        subnet(0),
        vni(0),
        subnet(1),
        vni(1)
    );
}
