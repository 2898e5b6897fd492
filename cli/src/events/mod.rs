//! `swarmctl events`: cluster events as `docker events` prints swarm events, one per line:
//! `2026-12-07T22:00:00.123000000Z service create 3mn8wo… (name=web)`, or docker's JSON
//! message with `--format json`.

#[cfg(test)]
mod tests;

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use api::control as pc;
use clap::Args;
use types::event::EventFilter;

use crate::client::{status_error, Control};
use crate::output::{rfc3339_ms, Format};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Show events since this time (RFC 3339, unix seconds, or a duration ago such as `10m`),
    /// replayed from the manager's history
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this time (same forms as --since), then exit
    #[arg(long)]
    pub until: Option<String>,
    /// KEY=VALUE: type=service|node|task|network|secret|config, name=N, id=ID,
    /// event=create|update|remove (repeatable)
    #[arg(long, short = 'f')]
    pub filter: Vec<String>,
    /// `json` for one JSON object per event
    #[arg(long)]
    pub format: Option<String>,
    /// The checked request, once `check` has run (before connecting).
    #[arg(skip)]
    pub checked: Option<EventsQuery>,
}

/// The request and output format, checked before connecting.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsQuery {
    pub request: pc::EventsRequest,
    pub format: Format,
}

impl EventsArgs {
    /// Checks every flag before connecting, and keeps the request for [`run`]. Times given as
    /// durations count back from `now`.
    pub fn check(&mut self, now: SystemTime) -> Result<()> {
        self.checked = Some(self.query(now)?);
        Ok(())
    }

    fn query(&self, now: SystemTime) -> Result<EventsQuery> {
        let filter = EventFilter::parse_args(&self.filter)?;
        let time = |flag: &str, value: &Option<String>| {
            value.as_deref().map(|v| unix_ms(flag, v, now)).transpose()
        };
        let since_ms = time("--since", &self.since)?;
        let until_ms = time("--until", &self.until)?;
        if let (Some(since), Some(until)) = (since_ms, until_ms) {
            if since > until {
                return Err(anyhow!(
                    "--since ({}) is after --until ({}); give a --since before the --until",
                    rfc3339_ms(since),
                    rfc3339_ms(until)
                ));
            }
        }
        Ok(EventsQuery {
            request: pc::EventsRequest {
                since_ms,
                until_ms,
                filters: wire_filters(&filter),
            },
            format: Format::parse(self.format.as_deref())?,
        })
    }
}

/// The parsed filter as the request carries it.
fn wire_filters(f: &EventFilter) -> Vec<pc::EventFilter> {
    let pair = |key: &str, value: &str| pc::EventFilter {
        key: key.into(),
        value: value.into(),
    };
    let types = f.types.iter().map(|t| pair("type", t.as_str()));
    let names = f.names.iter().map(|n| pair("name", n));
    let ids = f.ids.iter().map(|i| pair("id", i));
    let actions = f.actions.iter().map(|a| pair("event", a.as_str()));
    types.chain(names).chain(ids).chain(actions).collect()
}

/// A time as docker's `--since`/`--until` take it: RFC 3339, unix seconds (with a fraction or
/// not), or a duration before `now`.
pub fn unix_ms(flag: &str, value: &str, now: SystemTime) -> Result<i64> {
    let value = value.trim();
    let at = if let Ok(secs) = value.parse::<f64>() {
        (secs.is_finite() && secs >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(secs))
    } else if let Ok(ago) = humantime::parse_duration(value) {
        now.checked_sub(ago)
    } else {
        humantime::parse_rfc3339_weak(value).ok()
    };
    let at = at.ok_or_else(|| {
        anyhow!(
            "{flag} `{value}` is not a time; use RFC 3339 (2026-12-07T22:00:00Z), unix seconds \
             (1796680800) or a duration ago (10m)"
        )
    })?;
    let ms = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The event's time as docker prints it: RFC 3339 in UTC with nanoseconds.
fn time_text(time_nano: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_nanos(u64::try_from(time_nano).unwrap_or(0));
    humantime::format_rfc3339_nanos(at).to_string()
}

/// One line as `docker events` prints it, attributes sorted by key.
pub fn render_line(e: &pc::Event) -> String {
    let mut attributes: Vec<(&String, &String)> = e.attributes.iter().collect();
    attributes.sort();
    let attributes: Vec<String> = attributes
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{} {} {} {} ({})",
        time_text(e.time_nano),
        e.r#type,
        e.action,
        e.id,
        attributes.join(", ")
    )
}

/// One line of `--format json`: docker's message, as the Engine API's `/events` streams it.
pub fn render_json(e: &pc::Event) -> String {
    types::convert::event::docker_message(e)
}

/// Prints events as they come, until the stream ends (`--until`) or the user stops it.
pub async fn run(client: &mut Control, args: EventsArgs) -> Result<()> {
    let query = match args.checked {
        Some(query) => query,
        None => args.query(SystemTime::now())?,
    };
    let mut stream = client
        .events(query.request)
        .await
        .map_err(status_error)?
        .into_inner();
    let stdout = std::io::stdout();
    while let Some(event) = stream.message().await.map_err(status_error)? {
        let line = match query.format {
            Format::Json => render_json(&event),
            Format::Table => render_line(&event),
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}
