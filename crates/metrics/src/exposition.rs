//! Reading a scrape back, for tests and the benchmark: [`scrape`] fetches `GET /metrics`,
//! [`parse`] checks the text's shape (every sample belongs to a family with `# HELP` and
//! `# TYPE`) and gives the values, [`promtool_check`] runs Prometheus' own linter over it.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// One sample line: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Family name → its `# TYPE` (`counter`, `gauge`, `histogram`).
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of `name`'s sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .map(|s| s.value)
    }

    /// Every sample of `name`.
    pub fn samples<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// Parses the Prometheus text format as [`crate::Metrics::render`] writes it. Fails on a
/// sample whose family has no `# HELP` and `# TYPE` before it, or a line it cannot read.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helped = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let at = |why: &str| format!("line {}: {why}: {line}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            helped.insert(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut words = rest.split(' ');
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                return Err(at("a TYPE line needs a name and a type"));
            };
            out.types.insert(name.to_string(), kind.to_string());
        } else if line.starts_with('#') {
            continue;
        } else {
            let sample = parse_sample(line).map_err(|e| at(&e))?;
            let family = family_of(&sample.name, &out.types)
                .ok_or_else(|| at("sample before its family's TYPE line"))?;
            if !helped.contains(family) {
                return Err(at("sample of a family without HELP"));
            }
            out.samples.push(sample);
        }
    }
    Ok(out)
}

/// The family a sample name belongs to: itself, or a histogram's `_bucket`/`_sum`/`_count`.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| types.get(*base).map(String::as_str) == Some("histogram"))
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let (head, value) = line.rsplit_once(' ').ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("`{v}` is not a number"))?,
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Ok(Sample {
            name: head.to_string(),
            labels: BTreeMap::new(),
            value,
        });
    };
    let body = rest.strip_suffix('}').ok_or("unclosed labels")?;
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            return Err(format!("label {key} has no quoted value"));
        }
        let mut val = String::new();
        loop {
            match chars.next().ok_or("unterminated label value")? {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(c) => val.push(c),
                    None => return Err("dangling escape".into()),
                },
                c => val.push(c),
            }
        }
        labels.insert(key, val);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// `GET /metrics` from `addr` (plain HTTP/1.1, blocking, within `timeout`); the body of a
/// 200 answer.
pub fn scrape(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let fail = |e: std::io::Error| format!("GET http://{addr}/metrics: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    stream.set_read_timeout(Some(timeout)).map_err(fail)?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(fail)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(fail)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET http://{addr}/metrics: no HTTP answer: {answer}"))?;
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        return Err(format!("GET http://{addr}/metrics: {status}"));
    }
    Ok(body.to_string())
}

/// `promtool check metrics` over `text`: `None` when promtool is not installed (Debian's
/// `prometheus` package has it), else its verdict with what it printed.
pub fn promtool_check(text: &str) -> Option<Result<(), String>> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    let out = match child.wait_with_output() {
        Ok(out) => out,
        Err(e) => return Some(Err(format!("promtool: {e}"))),
    };
    if let Some(Err(e)) = written {
        return Some(Err(format!("writing to promtool: {e}")));
    }
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics failed ({}): {said}",
            out.status
        ))
    })
}
