//! Durations and byte sizes as compose files write them: Go's duration form (`10s`, `1m30s`,
//! `500ms`, `1.5h`) and docker's sizes (`512M`, `1g`, `1.5GiB`, `2048` bytes).

/// Milliseconds in a Go-style duration. A bare number is read as seconds: `${GRACE}` set to
/// `10` in a `.env` file is common, and failing on it helps nobody.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let bad = || format!("`{text}` is not a duration; write it as `10s`, `1m30s` or `500ms`");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return if secs >= 0.0 {
            Ok((secs * 1000.0).round() as u64)
        } else {
            Err(bad())
        };
    }
    let mut total = 0.0_f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor_ms = match &rest[..unit_end] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3_600e3,
            _ => return Err(bad()),
        };
        total += value * factor_ms;
        rest = &rest[unit_end..];
    }
    Ok(total.round() as u64)
}

/// Bytes in a docker size (`512M`, `1g`, `1.5GiB`, `100k`, `2048`): binary multiples, as
/// docker's `RAMInBytes`, case-insensitive, with an optional `b`/`ib` suffix.
pub fn parse_size_bytes(text: &str) -> Result<i64, String> {
    let s = text.trim().to_ascii_lowercase();
    let bad = || format!("`{text}` is not a size; write it as `512M`, `1g` or a number of bytes");
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let value: f64 = s[..num_end].parse().map_err(|_| bad())?;
    let unit = s[num_end..].trim();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(bad()),
    };
    Ok((value * 1024_f64.powi(power)).round() as i64)
}

/// Nano-CPUs in a `cpus` value (`0.5`, `"2"`), as docker's `--cpus`.
pub fn parse_nano_cpus(text: &str) -> Result<i64, String> {
    match text.trim().parse::<f64>() {
        Ok(cpus) if cpus >= 0.0 => Ok((cpus * 1e9).round() as i64),
        _ => Err(format!(
            "`{text}` is not a number of CPUs; write it as `0.5` or `2`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        for (text, ms) in [
            ("10s", 10_000),
            ("1m30s", 90_000),
            ("500ms", 500),
            ("1.5h", 5_400_000),
            ("2h3m4s", 7_384_000),
            ("0s", 0),
            ("10", 10_000),
        ] {
            assert_eq!(parse_duration_ms(text), Ok(ms), "{text}");
        }
        for text in ["", "ten", "10x", "s", "-1"] {
            assert!(parse_duration_ms(text).is_err(), "{text}");
        }
    }

    #[test]
    fn sizes_as_docker() {
        for (text, bytes) in [
            ("2048", 2048),
            ("100k", 102_400),
            ("512M", 512 << 20),
            ("512mb", 512 << 20),
            ("1g", 1 << 30),
            ("1.5GiB", 3 << 29),
        ] {
            assert_eq!(parse_size_bytes(text), Ok(bytes), "{text}");
        }
        for text in ["", "lots", "1x", "m"] {
            assert!(parse_size_bytes(text).is_err(), "{text}");
        }
        assert_eq!(parse_nano_cpus("0.5"), Ok(500_000_000));
        assert!(parse_nano_cpus("half").is_err());
    }
}
