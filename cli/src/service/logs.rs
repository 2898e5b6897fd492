//! `service logs`: lines prefixed `web.2.abc123def456@worker1    | ` as docker prints them.

use std::io::Write;

use anyhow::{bail, Result};
use api::control::{self as pc, LogLine};
use clap::Args;
use types::LogStream;

use crate::client::{status_error, Control};
use crate::output::{rfc3339_ms, short_id};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Number of lines to show from the end of the logs ("all" for everything)
    #[arg(long, short = 'n', default_value = "all", value_parser = tail)]
    pub tail: i64,
    /// Show timestamps
    #[arg(long, short = 't')]
    pub timestamps: bool,
    /// Do not truncate task IDs
    #[arg(long)]
    pub no_trunc: bool,
    /// Service name, ID or task ID
    pub service: String,
}

fn tail(s: &str) -> Result<i64, String> {
    if s == "all" {
        return Ok(-1);
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("`{s}` is not a line count; use a number or `all`"))
}

/// `web.2.abc123def456@worker1` plus padding so slots of different widths line up.
pub fn prefix(line: &LogLine, slot_width: usize, no_trunc: bool) -> String {
    let task = if no_trunc {
        line.task_id.as_str()
    } else {
        short_id(&line.task_id)
    };
    let slot = if line.slot > 0 {
        line.slot.to_string()
    } else {
        short_id(&line.node_id).to_string()
    };
    let padding = slot_width.saturating_sub(slot.len());
    format!(
        "{}.{slot}.{task}@{}{}",
        line.service_name,
        line.hostname,
        " ".repeat(padding)
    )
}

/// One output line (without the trailing newline).
pub fn render(line: &LogLine, slot_width: usize, no_trunc: bool, timestamps: bool) -> String {
    let text = String::from_utf8_lossy(&line.line);
    let text = text.trim_end_matches(['\n', '\r']);
    let stamp = if timestamps {
        format!("{} ", rfc3339_ms(line.timestamp_ms))
    } else {
        String::new()
    };
    format!("{stamp}{}    | {text}", prefix(line, slot_width, no_trunc))
}

pub async fn logs(client: &mut Control, args: LogsArgs) -> Result<()> {
    // Slots line up to the width of the highest replica count, as docker pads them.
    let slot_width = match crate::fetch::service(client, &args.service).await {
        Ok(s) => s.spec.replicas().unwrap_or(1).max(1).to_string().len(),
        Err(_) => 1,
    };
    let mut stream = client
        .service_logs(pc::ServiceLogsRequest {
            service: args.service.clone(),
            follow: args.follow,
            tail: args.tail,
            timestamps: args.timestamps,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let mut node_errors = 0;
    let stdout = std::io::stdout();
    while let Some(line) = stream.message().await.map_err(status_error)? {
        let stream = line.stream.parse::<LogStream>();
        if stream == Ok(LogStream::Error) {
            node_errors += 1;
            eprintln!(
                "error from node {}: {}",
                line.hostname,
                String::from_utf8_lossy(&line.line)
            );
            continue;
        }
        let text = render(&line, slot_width, args.no_trunc, args.timestamps);
        if stream == Ok(LogStream::Stderr) {
            eprintln!("{text}");
        } else {
            let mut out = stdout.lock();
            writeln!(out, "{text}")?;
            out.flush()?;
        }
    }
    if node_errors > 0 {
        bail!("logs from {node_errors} node(s) could not be read");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_prefixed_like_docker() {
        let line = LogLine {
            task_id: "abc123def456789xyz".into(),
            service_name: "web".into(),
            slot: 2,
            node_id: "n1".into(),
            hostname: "worker1".into(),
            timestamp_ms: 1_714_564_800_123,
            stream: LogStream::Stdout.as_str().into(),
            line: b"GET / 200\n".to_vec(),
        };
        assert_eq!(
            render(&line, 1, false, false),
            "web.2.abc123def456@worker1    | GET / 200"
        );
        assert_eq!(
            render(&line, 2, false, true),
            "2024-05-01T12:00:00.123Z web.2.abc123def456@worker1     | GET / 200"
        );
        assert!(render(&line, 1, true, false).starts_with("web.2.abc123def456789xyz@"));
        assert_eq!(tail("all"), Ok(-1));
        assert_eq!(tail("10"), Ok(10));
        assert!(tail("-3").is_err());
    }
}
