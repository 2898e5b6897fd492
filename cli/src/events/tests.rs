use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::control as pc;

use super::{render_json, render_line, unix_ms, EventsArgs};
use crate::output::Format;

fn args(since: Option<&str>, until: Option<&str>, filters: &[&str]) -> EventsArgs {
    EventsArgs {
        since: since.map(String::from),
        until: until.map(String::from),
        filter: filters.iter().map(|f| f.to_string()).collect(),
        format: None,
        checked: None,
    }
}

fn event() -> pc::Event {
    pc::Event {
        time_nano: 1_796_680_800_123_456_789,
        r#type: "service".into(),
        action: "update".into(),
        id: "3mn8wo".into(),
        attributes: [
            ("replicas.new", "3"),
            ("name", "web"),
            ("replicas.old", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

#[test]
fn lines_read_like_docker_events() {
    assert_eq!(
        render_line(&event()),
        "2026-12-07T22:00:00.123456789Z service update 3mn8wo (name=web, replicas.new=3, replicas.old=1)"
    );
}

#[test]
fn json_is_dockers_message() {
    let v: serde_json::Value = serde_json::from_str(&render_json(&event())).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "Type": "service",
            "Action": "update",
            "Actor": {"ID": "3mn8wo", "Attributes": {"name": "web", "replicas.new": "3", "replicas.old": "1"}},
            "scope": "swarm",
            "time": 1_796_680_800i64,
            "timeNano": 1_796_680_800_123_456_789i64,
        })
    );
}

#[test]
fn times_are_rfc3339_unix_seconds_or_durations_ago() {
    let now = UNIX_EPOCH + Duration::from_secs(1_796_680_800);
    assert_eq!(unix_ms("--since", "0", now).unwrap(), 0);
    assert_eq!(
        unix_ms("--since", "1796680800.5", now).unwrap(),
        1_796_680_800_500
    );
    assert_eq!(
        unix_ms("--since", "2026-12-07T22:00:00Z", now).unwrap(),
        1_796_680_800_000
    );
    assert_eq!(unix_ms("--since", "10m", now).unwrap(), 1_796_680_200_000);
    let e = unix_ms("--until", "yesterday", now)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("--until `yesterday` is not a time; use RFC 3339"),
        "{e}"
    );
}

#[test]
fn preflight_builds_the_request_and_refuses_bad_flags() {
    let now = SystemTime::now();
    let q = args(
        Some("0"),
        None,
        &["type=service", "event=create", "name=web"],
    )
    .query(now)
    .unwrap();
    assert_eq!(q.format, Format::Table);
    assert_eq!(q.request.since_ms, Some(0));
    assert_eq!(q.request.until_ms, None);
    let keys: Vec<(&str, &str)> = q
        .request
        .filters
        .iter()
        .map(|f| (f.key.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        keys,
        [("type", "service"), ("name", "web"), ("event", "create")]
    );

    let e = args(None, None, &["type=bogus"]).query(now).unwrap_err();
    assert!(
        e.to_string()
            .contains("accepted: service, node, task, network, secret, config"),
        "{e}"
    );
    let e = args(None, None, &["colour=red"]).query(now).unwrap_err();
    assert!(e.to_string().contains("unknown filter key `colour`"), "{e}");
    let e = args(Some("5m"), Some("10m"), &[]).query(now).unwrap_err();
    assert!(e.to_string().contains("--since"), "{e}");
}
