//! Parsing flag values the way docker does: durations (`1m30s`), memory sizes (`64M`), CPU
//! counts (`0.5`), `--publish` in both forms, `NAME=R` and `KEY=VALUE` pairs.
//!
//! Each parser returns a message saying what is wrong and what is expected; the caller adds
//! the flag's name.

/// Printing durations is shared with the managers, whose messages quote them too.
pub use types::format_duration_ms;
use types::{PortConfig, PortProtocol, PublishMode};

/// A Go-style duration (`300ms`, `10s`, `1m30s`, `1.5h`, `0`) in milliseconds.
pub fn duration_ms(s: &str) -> Result<u64, String> {
    let expected = "expected a duration such as 500ms, 10s or 1m30s";
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!("empty duration; {expected}"));
    }
    let mut total_ns: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}` has no unit; {expected}"))?;
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{s}` is not a duration; {expected}"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let ns_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("`{s}` has unknown unit `{unit}`; {expected}")),
        };
        total_ns += value * ns_per_unit;
        rest = next;
    }
    Ok((total_ns / 1e6).round() as u64)
}

/// A memory size as docker reads it (`64M`, `1g`, `512k`, `1.5GiB`, plain bytes), binary units.
pub fn memory_bytes(s: &str) -> Result<i64, String> {
    let expected = "expected a size such as 512k, 64M or 1g";
    let t = s.trim();
    let number_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(number_len);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size; {expected}"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return Err(format!("`{s}` has unknown unit; {expected}")),
    };
    Ok((value * (1u64 << shift) as f64) as i64)
}

/// A size for display, like docker's `1.5GiB`.
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{}", UNITS[unit])
}

/// CPUs as a decimal (`0.5`, `2`) in billionths of a core.
pub fn nano_cpus(s: &str) -> Result<i64, String> {
    let value: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of CPUs; expected e.g. 0.5 or 2"))?;
    // NaN fails this too.
    if value.is_nan() || value < 0.0 {
        return Err(format!("`{s}` is negative; expected 0 or more CPUs"));
    }
    Ok((value * 1e9).round() as i64)
}

/// `--publish`: `8080:80`, `8080:80/udp`, `80` (published port allocated), or the long form
/// `mode=host,published=8080,target=80,protocol=udp`.
pub fn publish(s: &str) -> Result<PortConfig, String> {
    if s.contains('=') {
        return publish_long(s);
    }
    let (ports, protocol) = match s.split_once('/') {
        Some((ports, proto)) => (ports, protocol(proto)?),
        None => (s, PortProtocol::Tcp),
    };
    let (published, target) = match ports.split_once(':') {
        Some((p, t)) => (port(p, "published")?, port(t, "target")?),
        None => (0, port(ports, "target")?),
    };
    if target == 0 {
        return Err(format!(
            "`{s}` has target port 0; use PUBLISHED:TARGET such as 8080:80"
        ));
    }
    Ok(PortConfig {
        protocol,
        target_port: target,
        published_port: published,
        publish_mode: PublishMode::Ingress,
    })
}

fn publish_long(s: &str) -> Result<PortConfig, String> {
    let mut p = PortConfig::default();
    for field in s.split(',') {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("`{field}` is not key=value (in `{s}`)"))?;
        match key.trim() {
            "mode" => {
                p.publish_mode = match value {
                    "ingress" => PublishMode::Ingress,
                    "host" => PublishMode::Host,
                    _ => return Err(format!("mode `{value}` is unknown; use ingress or host")),
                }
            }
            "published" => p.published_port = port(value, "published")?,
            "target" => p.target_port = port(value, "target")?,
            "protocol" => p.protocol = protocol(value)?,
            other => {
                return Err(format!(
                    "unknown field `{other}`; use mode, published, target, protocol"
                ))
            }
        }
    }
    if p.target_port == 0 {
        return Err(format!("`{s}` lacks target=PORT"));
    }
    Ok(p)
}

fn port(s: &str, what: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(p) if p <= 65535 => Ok(p),
        _ => Err(format!("{what} port `{s}` is not a port number 1-65535")),
    }
}

fn protocol(s: &str) -> Result<PortProtocol, String> {
    match s.to_ascii_lowercase().as_str() {
        "tcp" => Ok(PortProtocol::Tcp),
        "udp" => Ok(PortProtocol::Udp),
        _ => Err(format!("protocol `{s}` is unknown; use tcp or udp")),
    }
}

/// `--publish-rm`: the published port (`8080`, `8080/udp`) or a full publish spec.
pub fn published_port_key(s: &str) -> Result<(u32, PortProtocol), String> {
    if let Ok(p) = publish(s) {
        if p.published_port != 0 {
            return Ok((p.published_port, p.protocol));
        }
        return Ok((p.target_port, p.protocol));
    }
    Err(format!(
        "`{s}` is not a published port such as 8080 or 8080/udp"
    ))
}

/// `--network NAME` or `--network name=NAME,alias=ALIAS[,alias=…]`, as docker takes it.
pub fn network_target(s: &str) -> Result<types::NetworkTarget, String> {
    if !s.contains('=') {
        return Ok(types::NetworkTarget {
            target: s.to_string(),
            aliases: Vec::new(),
        });
    }
    let mut t = types::NetworkTarget::default();
    for field in s.split(',') {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("`{field}` is not key=value (in `{s}`)"))?;
        match key.trim() {
            "name" | "target" => t.target = value.to_string(),
            "alias" => t.aliases.push(value.to_string()),
            other => {
                return Err(format!(
                    "`{other}` is not a network option; use name=NET,alias=NAME"
                ))
            }
        }
    }
    if t.target.is_empty() {
        return Err(format!("`{s}` names no network; add name=NET"));
    }
    Ok(t)
}

/// `NAME=REPLICAS` for `service scale`.
pub fn scale(s: &str) -> Result<(String, u64), String> {
    let (name, replicas) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not SERVICE=REPLICAS, e.g. web=3"))?;
    if name.is_empty() {
        return Err(format!(
            "`{s}` names no service; write SERVICE=REPLICAS, e.g. web=3"
        ));
    }
    let replicas = replicas
        .parse()
        .map_err(|_| format!("`{replicas}` in `{s}` is not a replica count 0 or more"))?;
    Ok((name.to_string(), replicas))
}

/// `KEY=VALUE`; a bare `KEY` means an empty value, as docker's labels.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    if k.trim().is_empty() {
        return Err(format!("`{s}` has an empty key; write KEY=VALUE"));
    }
    Ok((k.to_string(), v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(duration_ms("10s"), Ok(10_000));
        assert_eq!(duration_ms("1m30s"), Ok(90_000));
        assert_eq!(duration_ms("500ms"), Ok(500));
        assert_eq!(duration_ms("1.5h"), Ok(5_400_000));
        assert_eq!(duration_ms("0"), Ok(0));
        assert_eq!(duration_ms("2500us"), Ok(3));
        assert!(duration_ms("10").unwrap_err().contains("no unit"));
        assert!(duration_ms("10x").unwrap_err().contains("unknown unit `x`"));
        assert!(duration_ms("").is_err());
        assert_eq!(format_duration_ms(90_000), "1m30s");
        assert_eq!(format_duration_ms(500), "500ms");
        assert_eq!(format_duration_ms(5_000), "5s");
        assert_eq!(format_duration_ms(3_600_000), "1h0m0s");
    }

    #[test]
    fn memory_and_cpus() {
        assert_eq!(memory_bytes("64M"), Ok(64 << 20));
        assert_eq!(memory_bytes("1g"), Ok(1 << 30));
        assert_eq!(memory_bytes("1.5GiB"), Ok(3 << 29));
        assert_eq!(memory_bytes("512kb"), Ok(512 << 10));
        assert_eq!(memory_bytes("100"), Ok(100));
        assert!(memory_bytes("64Q").is_err());
        assert!(memory_bytes("lots").is_err());
        assert_eq!(format_bytes(3 << 29), "1.5GiB");
        assert_eq!(format_bytes(512), "512B");
        assert_eq!(nano_cpus("0.5"), Ok(500_000_000));
        assert_eq!(nano_cpus("2"), Ok(2_000_000_000));
        assert!(nano_cpus("-1").is_err());
        assert!(nano_cpus("half").is_err());
    }

    #[test]
    fn publish_short_and_long_forms() {
        let p = publish("8080:80").unwrap();
        assert_eq!((p.published_port, p.target_port), (8080, 80));
        assert_eq!(p.protocol, PortProtocol::Tcp);
        assert_eq!(p.publish_mode, PublishMode::Ingress);
        assert_eq!(publish("53:53/udp").unwrap().protocol, PortProtocol::Udp);
        assert_eq!(publish("80").unwrap().published_port, 0);
        let p = publish("mode=host,published=8080,target=80,protocol=udp").unwrap();
        assert_eq!(p.publish_mode, PublishMode::Host);
        assert_eq!((p.published_port, p.target_port), (8080, 80));
        assert_eq!(p.protocol, PortProtocol::Udp);
        assert!(publish("8080:80/sctp").unwrap_err().contains("tcp or udp"));
        assert!(publish("99999:80").unwrap_err().contains("published port"));
        assert!(publish("8080:0").unwrap_err().contains("target port 0"));
        assert!(publish("mode=host,published=1")
            .unwrap_err()
            .contains("target"));
        assert!(publish("mode=vip,target=1")
            .unwrap_err()
            .contains("ingress or host"));
        assert!(publish("color=red,target=1")
            .unwrap_err()
            .contains("unknown field"));
        assert_eq!(
            published_port_key("8080/udp"),
            Ok((8080, PortProtocol::Udp))
        );
        assert_eq!(published_port_key("8080:80"), Ok((8080, PortProtocol::Tcp)));
    }

    #[test]
    fn scale_and_pairs() {
        assert_eq!(scale("web=3"), Ok(("web".into(), 3)));
        assert!(scale("web").unwrap_err().contains("SERVICE=REPLICAS"));
        assert!(scale("web=-1").unwrap_err().contains("replica count"));
        assert!(scale("=2").is_err());
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(key_value("a"), Ok(("a".into(), String::new())));
        assert!(key_value("=x").is_err());
    }
}
