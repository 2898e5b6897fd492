use std::time::Duration;

use super::exposition::{parse, promtool_check};
use super::{Metrics, Snapshot};

/// A scrape with every kind of family: events counted, histograms observed, a snapshot with
/// labelled gauges and a counter, and label values that need escaping.
fn sample_text() -> String {
    let m = Metrics::default();
    m.control_request("CreateService", "OK", Duration::from_millis(2));
    m.control_request(
        "CreateService",
        "InvalidArgument",
        Duration::from_micros(300),
    );
    m.scheduler_pass(10, 2, Duration::from_millis(7));
    m.missed_heartbeats(1);
    m.task_started();
    m.task_failed("rejected");
    m.task_restarts(3);
    m.dataplane_programmed(false, Duration::from_millis(40));
    let mut s = Snapshot::default();
    s.gauge("raft_is_leader", "Whether this manager leads")
        .sample(vec![], 1);
    s.gauge("tasks", "Tasks by state")
        .sample(vec![("state", "running".into())], 10)
        .sample(vec![("state", "pending".into())], 2);
    s.gauge("node_tasks", "Tasks by node")
        .sample(vec![("node", "we\"ird\\host\n".into())], 4);
    s.counter("raft_snapshots_built", "Snapshots built")
        .sample(vec![], 5);
    m.render(s)
}

#[test]
fn the_text_parses_and_holds_every_family() {
    let text = sample_text();
    let e = parse(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    for (family, kind) in [
        ("swarmd_control_requests_total", "counter"),
        ("swarmd_control_request_seconds", "histogram"),
        ("swarmd_scheduler_decisions_total", "counter"),
        ("swarmd_scheduler_pass_seconds", "histogram"),
        ("swarmd_dispatcher_missed_heartbeats_total", "counter"),
        ("swarmd_agent_task_starts_total", "counter"),
        ("swarmd_agent_task_failures_total", "counter"),
        ("swarmd_task_restarts_total", "counter"),
        ("swarmd_dataplane_program_seconds", "histogram"),
        ("swarmd_raft_is_leader", "gauge"),
        ("swarmd_tasks", "gauge"),
        ("swarmd_raft_snapshots_built_total", "counter"),
    ] {
        assert_eq!(
            e.types.get(family).map(String::as_str),
            Some(kind),
            "{family}\n{text}"
        );
    }
    let v = |name, labels: &[(&str, &str)]| e.value(name, labels);
    let ok = [("method", "CreateService"), ("code", "OK")];
    assert_eq!(v("swarmd_control_requests_total", &ok), Some(1.0));
    let assigned = [("outcome", "assigned")];
    assert_eq!(v("swarmd_scheduler_decisions_total", &assigned), Some(10.0));
    assert_eq!(v("swarmd_raft_is_leader", &[]), Some(1.0));
    assert_eq!(v("swarmd_tasks", &[("state", "pending")]), Some(2.0));
    assert_eq!(
        v("swarmd_node_tasks", &[("node", "we\"ird\\host\n")]),
        Some(4.0)
    );
    assert_eq!(v("swarmd_raft_snapshots_built_total", &[]), Some(5.0));
    assert_eq!(v("swarmd_task_restarts_total", &[]), Some(3.0));
    let change = [("pass", "change")];
    assert_eq!(
        v("swarmd_dataplane_program_seconds_count", &change),
        Some(1.0)
    );
    let inf = [("pass", "change"), ("le", "+Inf")];
    assert_eq!(
        v("swarmd_dataplane_program_seconds_bucket", &inf),
        Some(1.0)
    );
}

#[test]
fn parse_refuses_samples_without_their_family() {
    assert!(parse("swarmd_x 1\n").is_err());
    assert!(
        parse("# TYPE swarmd_x gauge\nswarmd_x 1\n").is_err(),
        "no HELP"
    );
    assert!(parse("# HELP swarmd_x x\n# TYPE swarmd_x gauge\nswarmd_x{a=\"1} 1\n").is_err());
    let e =
        parse("# HELP swarmd_x x\n# TYPE swarmd_x gauge\nswarmd_x{a=\"1\",b=\"2\"} 3\n").unwrap();
    assert_eq!(e.value("swarmd_x", &[("b", "2"), ("a", "1")]), Some(3.0));
}

/// Prometheus' own linter agrees. Under `CI=true` a missing promtool fails the test
/// (`integration/provision/packages.sh` installs Debian's `prometheus`); elsewhere it skips.
#[test]
fn promtool_accepts_the_text() {
    let text = sample_text();
    match promtool_check(&text) {
        Some(verdict) => verdict.unwrap_or_else(|e| panic!("{e}\n{text}")),
        None if matches!(std::env::var("CI").as_deref(), Ok("true" | "1" | "TRUE")) => {
            panic!("promtool is not installed; run integration/provision/packages.sh")
        }
        None => eprintln!("skipped: promtool is not installed (apt-get install prometheus)"),
    }
}
