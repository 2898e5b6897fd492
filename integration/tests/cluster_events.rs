//! Issue 19, events: `swarmctl events` on every manager of a 3-manager cluster replays, from
//! each one's own history, a service's creation and removal in order, and so does `docker
//! events --filter scope=swarm` through the Engine API; bad filters are refused before
//! connecting.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use integration::ctl::{docker, swarmctl};
use integration::Cluster;

/// `--until` two seconds from now, in unix seconds: the stream replays, waits, then ends.
fn two_seconds_from_now() -> String {
    let until = SystemTime::now() + Duration::from_secs(2);
    until
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string()
}

#[test]
fn every_manager_shows_a_service_created_then_removed() {
    let mut cluster = Cluster::start(3, 0);
    // Detached, `service create` prints the new service's ID.
    let created = cluster.ctl(&["service", "create", "-d", "--name", "web", "nginx"]);
    let id = created.expect_ok().text().to_string();
    cluster.ctl(&["service", "rm", "web"]).expect_ok();

    for node in &cluster.nodes {
        let until = two_seconds_from_now();
        let args = [
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            "type=service",
        ];
        let out = node.ctl(&args).expect_ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "{}: one create, one remove: {out}",
            node.name
        );
        assert!(
            lines[0].ends_with(&format!(" service create {id} (name=web)")),
            "{}: {out}",
            node.name
        );
        assert!(
            lines[1].ends_with(&format!(" service remove {id} (name=web)")),
            "{}: {out}",
            node.name
        );
        // docker's time stamp: RFC 3339, UTC, nanoseconds.
        let stamp = lines[0].split(' ').next().unwrap();
        assert!(stamp.len() == 30 && stamp.ends_with('Z'), "{stamp}");
    }

    let until = two_seconds_from_now();
    let json = cluster.ctl(&[
        "events", "--since", "0", "--until", &until, "--filter", "name=web", "--format", "json",
    ]);
    let json = json.expect_ok();
    let first: serde_json::Value =
        serde_json::from_str(json.stdout.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["Type"], "service", "{json}");
    assert_eq!(first["Action"], "create", "{json}");
    assert_eq!(first["Actor"]["ID"], id.as_str(), "{json}");
    assert_eq!(first["Actor"]["Attributes"]["name"], "web", "{json}");
    assert_eq!(first["scope"], "swarm", "{json}");
    assert!(first["timeNano"].as_i64().unwrap() > 0, "{json}");

    // The real docker CLI, asking the Engine API for swarm events alone.
    let socket = cluster.nodes[0].state_dir.join("docker.sock");
    let until = two_seconds_from_now();
    let args = [
        "events",
        "--filter",
        "scope=swarm",
        "--filter",
        "type=service",
        "--since",
        "0",
    ];
    let out = docker(&socket, &[&args[..], &["--until", &until]].concat()).expect_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].ends_with(&format!(" service create {id} (name=web)")),
        "{out}"
    );
    assert!(
        lines[1].ends_with(&format!(" service remove {id} (name=web)")),
        "{out}"
    );
}

#[test]
fn an_unknown_filter_is_refused_before_connecting() {
    // No cluster: the socket does not exist, so any connection attempt would fail otherwise.
    let socket = Path::new("/nonexistent/swarmd.sock");
    let out = swarmctl(socket, &["events", "--filter", "type=bogus"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains("accepted: service, node, task, network, secret, config"),
        "{out}"
    );
    assert!(!out.stderr.contains("cannot connect"), "{out}");
    let out = swarmctl(socket, &["events", "--filter", "colour=red"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("accepted keys: type, name, id, event"),
        "{out}"
    );
    let out = swarmctl(socket, &["events", "--since", "last tuesday"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("--since `last tuesday` is not a time"),
        "{out}"
    );
}
