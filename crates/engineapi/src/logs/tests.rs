use super::frame::{frame, frames, line_frame, payload, Channel};
use super::*;
use api::control::LogLine;
use api::objects as pb;
use futures::StreamExt;
use tonic::Status;

fn options(query: &[(&str, &str)]) -> Result<LogOptions, EngineError> {
    let params = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LogOptions::parse(&params)
}

fn line(stream: &str, text: &str) -> LogLine {
    LogLine {
        task_id: "task1".into(),
        service_name: "web".into(),
        slot: 1,
        node_id: "node 1/x".into(),
        hostname: "node-1".into(),
        timestamp_ms: 1_700_000_000_123,
        stream: stream.into(),
        line: text.as_bytes().to_vec(),
    }
}

/// Splits a body into (stream byte, payload) frames, as docker's stdcopy does.
fn unframe(mut body: &[u8]) -> Vec<(u8, String)> {
    let mut frames = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 8, "a truncated header: {body:?}");
        assert_eq!(&body[1..4], &[0, 0, 0]);
        let len = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
        let payload = String::from_utf8(body[8..8 + len].to_vec()).unwrap();
        frames.push((body[0], payload));
        body = &body[8 + len..];
    }
    frames
}

#[test]
fn a_frame_is_an_eight_byte_header_then_the_payload() {
    let f = frame(Channel::Stderr, b"hello\n");
    assert_eq!(&f[..8], &[2, 0, 0, 0, 0, 0, 0, 6]);
    assert_eq!(&f[8..], b"hello\n");
    let big = vec![b'x'; 300];
    assert_eq!(
        &frame(Channel::Stdout, &big)[..8],
        &[1, 0, 0, 0, 0, 0, 1, 44]
    );
}

#[test]
fn details_and_timestamps_prefix_the_line_as_moby_writes_them() {
    let all = options(&[("stdout", "1"), ("details", "1"), ("timestamps", "1")]).unwrap();
    assert_eq!(
        String::from_utf8(payload(&line("stdout", "GET / 200"), "svc1", &all)).unwrap(),
        "2023-11-14T22:13:20.123000000Z \
         com.docker.swarm.node.id=node+1%2Fx,com.docker.swarm.service.id=svc1,\
         com.docker.swarm.task.id=task1 GET / 200\n"
    );
    let raw = options(&[("stdout", "1")]).unwrap();
    assert_eq!(payload(&line("stdout", "plain"), "svc1", &raw), b"plain\n");
}

#[test]
fn streams_go_to_their_channel_and_unwanted_ones_are_left_out() {
    let both = options(&[("stdout", "1"), ("stderr", "true")]).unwrap();
    let out = line_frame(&line("stdout", "o"), "s", &both).unwrap();
    let err = line_frame(&line("stderr", "e"), "s", &both).unwrap();
    assert_eq!((out[0], err[0]), (1, 2));
    let stdout_only = options(&[("stdout", "1")]).unwrap();
    assert!(line_frame(&line("stderr", "e"), "s", &stdout_only).is_none());
}

#[test]
fn since_drops_older_lines() {
    let since = options(&[("stdout", "1"), ("since", "1700000000.124")]).unwrap();
    assert_eq!(since.since_ms, Some(1_700_000_000_124));
    assert!(line_frame(&line("stdout", "old"), "s", &since).is_none());
    let earlier = options(&[("stdout", "1"), ("since", "1700000000")]).unwrap();
    assert!(line_frame(&line("stdout", "new"), "s", &earlier).is_some());
}

#[test]
fn the_query_is_checked_with_messages_naming_the_fix() {
    let none = options(&[("follow", "1")]).unwrap_err();
    assert_eq!(
        none.message(),
        "Bad parameters: you must choose at least one stream"
    );
    let o = options(&[("stderr", "1"), ("tail", "all"), ("follow", "1")]).unwrap();
    assert_eq!((o.tail, o.follow, o.stdout), (-1, true, false));
    assert_eq!(
        options(&[("stdout", "1"), ("tail", "20")]).unwrap().tail,
        20
    );
    assert_eq!(options(&[("stdout", "1")]).unwrap().tail, -1);
    for bad in ["-3", "ten"] {
        let e = options(&[("stdout", "1"), ("tail", bad)]).unwrap_err();
        assert!(e.message().contains("invalid tail"), "{}", e.message());
    }
    for bad in ["yesterday", "1.2.3", "1.1234567890"] {
        let e = options(&[("stdout", "1"), ("since", bad)]).unwrap_err();
        assert!(
            e.message().contains("Unix time in seconds"),
            "{}",
            e.message()
        );
    }
}

#[tokio::test]
async fn unreadable_nodes_are_reported_last_in_one_error_frame() {
    let lines = vec![
        Ok(line("error", "cannot read logs from node node-2: refused")),
        Ok(line("stdout", "one")),
        Ok(line("stderr", "two")),
        Err(Status::unavailable("leader lost")),
    ];
    let all = options(&[("stdout", "1"), ("stderr", "1")]).unwrap();
    let body: Vec<u8> = frames(futures::stream::iter(lines), "s".into(), all)
        .map(|f| f.unwrap().to_vec())
        .concat()
        .await;
    let frames = unframe(&body);
    assert_eq!(frames.len(), 3, "{frames:?}");
    assert_eq!(frames[0], (1, "one\n".to_string()));
    assert_eq!(frames[1], (2, "two\n".to_string()));
    assert_eq!(frames[2].0, 3);
    assert_eq!(
        frames[2].1,
        "Error grabbing logs: warning: incomplete log stream. some logs could not be retrieved \
         for the following reasons: cannot read logs from node node-2: refused, leader lost\n"
    );
}

#[tokio::test]
async fn a_complete_stream_ends_without_an_error_frame() {
    let all = options(&[("stdout", "1")]).unwrap();
    let lines = futures::stream::iter(vec![Ok(line("stdout", "only"))]);
    let frames: Vec<_> = frames(lines, "s".into(), all).collect().await;
    assert_eq!(frames.len(), 1);
}

#[test]
fn tasks_are_found_by_id_or_unique_prefix() {
    let task = |id: &str| pb::Task {
        id: id.into(),
        ..Default::default()
    };
    let tasks = vec![task("abc1"), task("abc2"), task("abc")];
    assert_eq!(crate::tasks::find(tasks.clone(), "abc").unwrap().id, "abc");
    assert_eq!(
        crate::tasks::find(tasks.clone(), "abc2").unwrap().id,
        "abc2"
    );
    let e = crate::tasks::find(tasks.clone(), "ab").unwrap_err();
    assert!(
        e.message().contains("ambiguous (3 matches found)"),
        "{}",
        e.message()
    );
    let e = crate::tasks::find(tasks, "zz").unwrap_err();
    assert_eq!(e.message(), "task zz not found");
}
