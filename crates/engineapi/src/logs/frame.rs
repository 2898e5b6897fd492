//! Docker's multiplexed stream (moby `pkg/stdcopy`, `api/server/httputils/write_log_stream.go`):
//! each line one frame, an 8-byte header `[stream, 0, 0, 0, length (u32, big-endian)]` and the
//! payload, `[<RFC 3339 nanos> ][<details> ]<line>\n`.
//!
//! A node whose logs cannot be read does not cut the stream short: its reason is kept and sent
//! last, in one error frame worded as swarmkit's "incomplete log stream" warning, because the
//! CLI stops reading at the first error frame.

use std::convert::Infallible;
use std::time::{Duration, UNIX_EPOCH};

use api::control::LogLine;
use axum::body::Bytes;
use futures::{Stream, StreamExt};
use tonic::Status;

use super::LogOptions;

/// The stream byte of a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Channel {
    Stdout = 1,
    Stderr = 2,
    /// The daemon's own error: the CLI prints it and stops reading.
    SystemError = 3,
}

/// Turns log lines into frames; the reasons of unreadable nodes come last, in one frame.
pub fn frames<S>(
    lines: S,
    service_id: String,
    options: LogOptions,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send
where
    S: Stream<Item = Result<LogLine, Status>> + Send + Unpin + 'static,
{
    let state = Framing {
        lines,
        service_id,
        options,
        failures: Vec::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        while !s.done {
            match s.lines.next().await {
                Some(Ok(line)) if line.stream == types::LogStream::Error.as_str() => {
                    s.failures
                        .push(String::from_utf8_lossy(&line.line).into_owned());
                }
                Some(Ok(line)) => {
                    if let Some(frame) = line_frame(&line, &s.service_id, &s.options) {
                        return Some((Ok(frame), s));
                    }
                }
                Some(Err(status)) => {
                    s.failures.push(status.message().to_string());
                    s.done = true;
                }
                None => s.done = true,
            }
        }
        let last = incomplete(&std::mem::take(&mut s.failures))?;
        Some((Ok(last), s))
    })
}

/// Where [`frames`] is: the lines to read and the failures to report at the end.
struct Framing<S> {
    lines: S,
    service_id: String,
    options: LogOptions,
    failures: Vec<String>,
    done: bool,
}

/// One line's frame, or `None` when the request left out its stream or its time.
pub fn line_frame(line: &LogLine, service_id: &str, options: &LogOptions) -> Option<Bytes> {
    let (channel, wanted) = if line.stream == types::LogStream::Stderr.as_str() {
        (Channel::Stderr, options.stderr)
    } else {
        (Channel::Stdout, options.stdout)
    };
    if !wanted
        || options
            .since_ms
            .is_some_and(|since| line.timestamp_ms < since)
    {
        return None;
    }
    Some(frame(channel, &payload(line, service_id, options)))
}

/// `[<time> ][<details> ]<line>\n`, in the order moby writes them.
pub fn payload(line: &LogLine, service_id: &str, options: &LogOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.line.len() + 128);
    if options.timestamps {
        let ms = u64::try_from(line.timestamp_ms).unwrap_or(0);
        let time = UNIX_EPOCH + Duration::from_millis(ms);
        out.extend_from_slice(humantime::format_rfc3339_nanos(time).to_string().as_bytes());
        out.push(b' ');
    }
    if options.details {
        let details = format!(
            "com.docker.swarm.node.id={},com.docker.swarm.service.id={},com.docker.swarm.task.id={} ",
            query_escape(&line.node_id),
            query_escape(service_id),
            query_escape(&line.task_id),
        );
        out.extend_from_slice(details.as_bytes());
    }
    out.extend_from_slice(&line.line);
    out.push(b'\n');
    out
}

/// The header docker's stdcopy reads, then the payload.
pub fn frame(channel: Channel, payload: &[u8]) -> Bytes {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[channel as u8, 0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload[..len as usize]);
    Bytes::from(out)
}

/// The last frame when some logs could not be read.
fn incomplete(failures: &[String]) -> Option<Bytes> {
    if failures.is_empty() {
        return None;
    }
    let text = format!(
        "Error grabbing logs: warning: incomplete log stream. some logs could not be retrieved \
         for the following reasons: {}\n",
        failures.join(", ")
    );
    Some(frame(Channel::SystemError, text.as_bytes()))
}

/// Go's `url.QueryEscape`, which moby applies to every details value.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
