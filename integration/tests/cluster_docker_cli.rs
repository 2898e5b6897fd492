//! The real docker CLI against real swarmd processes (test executor, no root): the commands of
//! a Docker swarm user that the lab test (lab_docker_cli.rs) leaves out because they reshape
//! the cluster or need output the lab's images do not print: `service logs` with docker's
//! task prefixes, `node ps`, `node promote`/`demote`, `node rm`, `swarm join-token --rotate`.

use std::time::Duration;

use integration::ctl::docker;
use integration::{wait_until, Cluster};

#[test]
fn the_docker_cli_reshapes_a_swarmd_cluster_and_reads_its_logs() {
    let mut cluster = Cluster::start(1, 2);
    let socket = cluster.nodes[0].state_dir.join("docker.sock");
    let docker_ok = |args: &[&str]| docker(&socket, args).expect_ok().stdout;
    wait_until("the Engine API", Duration::from_secs(10), || {
        docker(&socket, &["version"])
            .success()
            .then_some(())
            .ok_or("no answer".to_string())
    });

    // Logs as docker prints them: `NAME.SLOT.TASK@NODE    | line`, one per task.
    docker_ok(&[
        "service",
        "create",
        "--name",
        "web",
        "--replicas",
        "3",
        "busybox",
    ]);
    let logs = docker_ok(&["service", "logs", "web"]);
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3, "{logs}");
    for line in &lines {
        let (prefix, text) = line.split_once('|').expect("a prefixed line");
        let prefix = prefix.trim();
        assert!(prefix.starts_with("web."), "{line}");
        let node = prefix.rsplit('@').next().unwrap();
        assert!(text.trim().ends_with(&format!("on {node}")), "{line}");
    }

    // `node ps` through the task filter on node names.
    let on_w1 = docker_ok(&["node", "ps", "w1", "--format", "{{.Name}} {{.Node}}"]);
    assert!(
        !on_w1.trim().is_empty() && on_w1.lines().all(|l| l.ends_with(" w1")),
        "{on_w1}"
    );

    // Promote and demote through `node update`'s Role.
    docker_ok(&["node", "promote", "w1"]);
    wait_until("w1 a reachable manager", Duration::from_secs(30), || {
        let ls = docker_ok(&["node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"]);
        ls.lines()
            .any(|l| l == "w1 Reachable")
            .then_some(())
            .ok_or(ls)
    });
    docker_ok(&["node", "demote", "w1"]);
    wait_until("w1 a worker again", Duration::from_secs(30), || {
        let ls = docker_ok(&["node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}}"]);
        ls.lines().any(|l| l == "w1 ").then_some(()).ok_or(ls)
    });

    // A rotated worker token is a new one; the manager's stays.
    let token = |role: &str| {
        docker_ok(&["swarm", "join-token", "-q", role])
            .trim()
            .to_string()
    };
    let (worker, manager) = (token("worker"), token("manager"));
    docker_ok(&["swarm", "join-token", "--rotate", "-q", "worker"]);
    assert_ne!(token("worker"), worker);
    assert_eq!(token("manager"), manager);

    // A node that is gone: removed with --force, as docker requires for a node not down yet.
    cluster.nodes[2].kill9();
    docker_ok(&["node", "rm", "--force", "w2"]);
    let hosts = docker_ok(&["node", "ls", "--format", "{{.Hostname}}"]);
    let mut hosts: Vec<&str> = hosts.lines().collect();
    hosts.sort();
    assert_eq!(hosts, ["m1", "w1"]);
}
