//! Issue 19, metrics: every node of a running cluster (2 managers, 1 worker) answers
//! `GET /metrics` with text that `promtool check metrics` accepts, and the figures agree with
//! the cluster: one leader, tasks by state as `service ps` lists them, tasks by node, sessions,
//! task starts. A metrics address in use stops swarmd with a message naming the flag.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use integration::ctl::swarmd;
use integration::{wait_until, Cluster, ClusterOptions};
use metrics::exposition::{parse, promtool_check, Exposition};

const CONVERGE: Duration = Duration::from_secs(30);

/// As the lab tests read `CI` (`support_lab::in_ci`).
fn in_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true") | Ok("1") | Ok("TRUE")
    )
}

/// Prometheus' linter over one node's text; skipped without promtool, except in CI.
#[track_caller]
fn promtool(node: &str, text: &str) {
    match promtool_check(text) {
        Some(verdict) => verdict.unwrap_or_else(|e| panic!("{node}: {e}\n{text}")),
        None if in_ci() => {
            panic!("promtool is not installed; run integration/provision/packages.sh")
        }
        None => eprintln!("{node}: promtool check skipped: promtool is not installed"),
    }
}

fn value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    e.value(name, labels).unwrap_or(0.0)
}

/// `service ps` of these services, counted by state (`running`, `pending`) and by
/// (node, state).
type Counts = (BTreeMap<String, f64>, BTreeMap<(String, String), f64>);

fn ps_counts(cluster: &Cluster, services: &[&str]) -> Counts {
    let (mut by_state, mut by_node) = (BTreeMap::new(), BTreeMap::new());
    for service in services {
        for row in cluster.service_ps(service).expect("service ps") {
            let state = row.current_state.split(' ').next().unwrap_or_default();
            let state = state.to_lowercase();
            *by_state.entry(state.clone()).or_default() += 1.0;
            if !row.node.is_empty() {
                *by_node.entry((row.node.clone(), state)).or_default() += 1.0;
            }
        }
    }
    (by_state, by_node)
}

#[test]
fn every_node_serves_metrics_that_match_the_cluster() {
    let options = ClusterOptions {
        metrics: true,
        ..ClusterOptions::default()
    };
    let mut cluster = Cluster::start_with(2, 1, options);
    cluster.create_service("web", &["--replicas", "4", "nginx"]);
    cluster.create_service(
        "stuck",
        &[
            "--replicas",
            "2",
            "--constraint",
            "node.labels.nowhere==1",
            "nginx",
        ],
    );
    cluster.wait_running("web", 4, CONVERGE);
    let leader = cluster.wait_leader(CONVERGE);

    // States settle (the stuck tasks get their reason) before the figures are compared.
    wait_until("metrics to match `service ps`", CONVERGE, || {
        let (by_state, by_node) = ps_counts(&cluster, &["web", "stuck"]);
        let text = cluster.nodes[leader].scrape_metrics()?;
        let e = parse(&text)?;
        for state in ["running", "pending"] {
            let want = by_state.get(state).copied().unwrap_or(0.0);
            let got = value(&e, "swarmd_tasks", &[("state", state)]);
            if got != want {
                return Err(format!("{state}: {got} in metrics, {want} in service ps"));
            }
        }
        for ((node, state), want) in &by_node {
            let got = value(&e, "swarmd_node_tasks", &[("node", node), ("state", state)]);
            if got != *want {
                return Err(format!(
                    "{node}/{state}: {got} in metrics, {want} in service ps"
                ));
            }
        }
        let tasks: f64 = by_state.values().sum();
        let stored = value(&e, "swarmd_store_objects", &[("kind", "task")]);
        if stored != tasks {
            return Err(format!(
                "{stored} tasks in the store, {tasks} in service ps"
            ));
        }
        Ok(())
    });

    let mut leaders = 0.0;
    let mut created = 0.0;
    for node in &cluster.nodes {
        let text = node
            .scrape_metrics()
            .unwrap_or_else(|e| panic!("{}: {e}", node.name));
        promtool(&node.name, &text);
        let e = parse(&text).unwrap_or_else(|err| panic!("{}: {err}\n{text}", node.name));
        let is_leader = e.value("swarmd_raft_is_leader", &[]);
        assert_eq!(
            is_leader.is_some(),
            node.manager,
            "{}: raft figures\n{text}",
            node.name
        );
        leaders += is_leader.unwrap_or(0.0);
        let ok = [("method", "CreateService"), ("code", "Ok")];
        created += value(&e, "swarmd_control_requests_total", &ok);
        assert_eq!(value(&e, "swarmd_mesh_readable", &[]), 1.0, "{}", node.name);
        let running_here = cluster
            .service_ps("web")
            .expect("service ps")
            .iter()
            .filter(|r| r.node == node.name && r.current_state.starts_with("Running"))
            .count() as f64;
        let starts = value(&e, "swarmd_agent_task_starts_total", &[]);
        assert!(
            starts >= running_here,
            "{}: {starts} starts, {running_here} running",
            node.name
        );
        if cluster.nodes[leader].name == node.name {
            assert_eq!(
                value(&e, "swarmd_dispatcher_sessions", &[]),
                3.0,
                "sessions\n{text}"
            );
            let assigned = value(
                &e,
                "swarmd_scheduler_decisions_total",
                &[("outcome", "assigned")],
            );
            assert!(assigned >= 4.0, "{assigned} placements counted\n{text}");
            let hist = value(&e, "swarmd_scheduler_pass_seconds_count", &[]);
            assert!(hist >= 1.0, "no scheduler pass timed\n{text}");
        }
    }
    assert_eq!(
        leaders, 1.0,
        "raft_is_leader sums to {leaders} over the managers"
    );
    assert_eq!(
        created, 2.0,
        "the two service creations, counted where they were asked"
    );
}

#[test]
fn a_metrics_address_in_use_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state = dir.path().join("m");
    let listen = integration::ports::free_addr().to_string();
    let out = swarmd(&[
        "--state-dir",
        &state.display().to_string(),
        "--listen-addr",
        &listen,
        "--executor",
        "test",
        "--mesh-backend",
        "none",
        "--metrics-addr",
        &addr,
    ]);
    assert!(
        !out.success(),
        "swarmd started on a metrics address in use: {out}"
    );
    assert!(
        out.stderr.contains("--metrics-addr"),
        "no flag named: {out}"
    );
    assert!(out.stderr.contains(&addr), "no address named: {out}");
    assert!(!state.exists(), "a refused start wrote {}", state.display());
}
