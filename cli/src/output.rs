//! How results are printed: docker-style tables, `--format json`, ages ("5 seconds ago") and
//! timestamps. Pure functions over strings, so every layout is unit-tested.

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

/// `--format`: a table (default) or one JSON object per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    /// Accepts `json`, docker's `{{json .}}` and `table`.
    pub fn parse(s: Option<&str>) -> Result<Format> {
        match s.map(str::trim) {
            None | Some("") | Some("table") => Ok(Format::Table),
            Some("json") | Some("{{json .}}") | Some("{{ json . }}") => Ok(Format::Json),
            Some(other) => bail!(
                "--format `{other}` is not supported; use `json` (or `{{{{json .}}}}`) or `table`"
            ),
        }
    }
}

/// Lays out rows like docker's tabwriter (min width 10, padding 3): each column is as wide as
/// its widest cell plus 3, at least 10; the last column is not padded.
/// `ls -q` and `ls --format`, as every docker `ls` takes them.
#[derive(Debug, Clone, Args)]
pub struct ListFlags {
    /// Only display IDs
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// `table` (default) or `json`
    #[arg(long)]
    pub format: Option<String>,
}

pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == columns {
                text.push_str(cell);
            } else {
                let width = (widths[i] + 3).max(10);
                text.push_str(&format!("{cell:<width$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// Prints rows as a table, or each row as one JSON object keyed by docker's field names.
pub fn print_rows(format: Format, headers: &[&str], keys: &[&str], rows: &[Vec<String>]) {
    match format {
        Format::Table => print!("{}", table(headers, rows)),
        Format::Json => {
            for row in rows {
                let object: serde_json::Map<String, serde_json::Value> = keys
                    .iter()
                    .zip(row)
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                    .collect();
                println!("{}", serde_json::Value::Object(object));
            }
        }
    }
}

/// `docker inspect` prints a JSON array of objects, indented.
pub fn print_inspect<T: Serialize>(objects: &[T]) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(objects)?);
    Ok(())
}

/// The first 12 characters of an ID, as docker shows them.
pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// go-units' `HumanDuration`, which docker uses for ages.
pub fn human_duration(ms: i64) -> String {
    let seconds = ms / 1000;
    let minutes = seconds / 60;
    let hours = (ms as f64 / 3_600_000.0 + 0.5) as i64;
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", ms / 3_600_000 / 24 / 365)
    }
}

/// `Running 5 seconds ago`, as `docker service ps` shows a task's current state.
pub fn state_age(state: &str, since_ms: i64, now_ms: i64) -> String {
    if since_ms <= 0 {
        return state.to_string();
    }
    format!(
        "{state} {} ago",
        human_duration(now_ms - since_ms).to_lowercase()
    )
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds: `2024-05-01T12:00:00.123Z`.
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let ms_of_day = unix_ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        (ms_of_day / 60_000) % 60,
        (ms_of_day / 1000) % 60,
        ms_of_day % 1000
    )
}

/// Removes each named object on its own, as docker does: one refusal does not stop the
/// others. Prints each name removed and each refusal; fails naming how many were not removed.
pub async fn remove_each<F, Fut>(names: &[String], what: &str, mut remove: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut failed = 0;
    for q in names {
        match remove(q.clone()).await {
            Ok(()) => println!("{q}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(anyhow::anyhow!("{n} {what}(s) not removed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_like_docker_tabwriter() {
        let out = table(
            &["ID", "NAME", "MODE"],
            &[
                vec!["abc".into(), "web".into(), "replicated".into()],
                vec!["abcdefghijkl".into(), "x".into(), "global".into()],
            ],
        );
        assert_eq!(
            out,
            "ID             NAME      MODE\n\
             abc            web       replicated\n\
             abcdefghijkl   x         global\n"
        );
    }

    #[test]
    fn ages_like_go_units() {
        assert_eq!(human_duration(300), "Less than a second");
        assert_eq!(human_duration(1_000), "1 second");
        assert_eq!(human_duration(5_400), "5 seconds");
        assert_eq!(human_duration(61_000), "About a minute");
        assert_eq!(human_duration(30 * 60_000), "30 minutes");
        assert_eq!(human_duration(60 * 60_000), "About an hour");
        assert_eq!(human_duration(5 * 3_600_000), "5 hours");
        assert_eq!(human_duration(3 * 86_400_000), "3 days");
        assert_eq!(human_duration(21 * 86_400_000), "3 weeks");
        assert_eq!(state_age("Running", 1_000, 6_000), "Running 5 seconds ago");
        assert_eq!(
            state_age("Running", 1_000, 1_200),
            "Running less than a second ago"
        );
        assert_eq!(state_age("New", 0, 1_000), "New");
    }

    #[test]
    fn formats_and_timestamps() {
        assert_eq!(Format::parse(None).unwrap(), Format::Table);
        assert_eq!(Format::parse(Some("{{json .}}")).unwrap(), Format::Json);
        assert!(Format::parse(Some("{{.ID}}")).is_err());
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_714_564_800_123), "2024-05-01T12:00:00.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
