//! Container logs as the agent wants them: one [`LogChunk`] per line, with its stream and
//! the time Docker stamped it.
//!
//! Docker is asked for `timestamps=true`: each log message then arrives as one multiplexed
//! frame, `<RFC 3339 nanos> <text>\n`. The time comes from the engine, not from when we read
//! the line, so `--timestamps` output and merging lines across nodes stay truthful.

use agent::executor::{ExecError, LogChunk, LogOptions, LogStream};
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use bollard::Docker;
use futures::{Stream, StreamExt};

use crate::errors::engine;

/// The lines of one container's logs; ends with the logs (or, when following, with the
/// container).
pub fn container_logs(
    docker: Docker,
    container_id: String,
    options: LogOptions,
) -> impl Stream<Item = Result<LogChunk, ExecError>> {
    async_stream::stream! {
        let query = LogsOptions {
            follow: options.follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: options.tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
            ..Default::default()
        };
        let mut frames = docker.logs(&container_id, Some(query));
        let mut last_ms = 0;
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(frame) => {
                    for chunk in frame_lines(frame, &mut last_ms) {
                        yield Ok(chunk);
                    }
                }
                Err(err) => {
                    yield Err(engine("logs", err));
                    break;
                }
            }
        }
    }
}

/// Splits one frame into lines. A line without a timestamp of its own (a message that
/// carried several lines) takes the previous line's time.
fn frame_lines(frame: LogOutput, last_ms: &mut i64) -> Vec<LogChunk> {
    let stream = match frame {
        LogOutput::StdErr { .. } => LogStream::Stderr,
        // A TTY container's output arrives as Console; stdin is never logged.
        LogOutput::StdOut { .. } | LogOutput::Console { .. } | LogOutput::StdIn { .. } => {
            LogStream::Stdout
        }
    };
    let bytes = frame.into_bytes();
    let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    text.split(|b| *b == b'\n')
        .map(|line| {
            let (timestamp_ms, line) = match split_timestamp(line) {
                Some((ms, rest)) => (ms, rest),
                None => (*last_ms, line),
            };
            *last_ms = timestamp_ms;
            LogChunk {
                timestamp_ms,
                stream,
                line: line.to_vec(),
            }
        })
        .collect()
}

/// `2024-05-01T10:00:00.123456789Z text` → (ms since the epoch, `text`).
fn split_timestamp(line: &[u8]) -> Option<(i64, &[u8])> {
    let space = line.iter().position(|b| *b == b' ')?;
    let stamp = std::str::from_utf8(&line[..space]).ok()?;
    Some((parse_rfc3339_ms(stamp)?, &line[space + 1..]))
}

/// RFC 3339 with optional fraction and a `Z` or `±hh:mm` offset, to milliseconds since the
/// Unix epoch.
pub fn parse_rfc3339_ms(stamp: &str) -> Option<i64> {
    let b = stamp.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = stamp.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &stamp[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let ms_digits = &fraction[..digits.min(3)];
        millis = ms_digits.parse::<i64>().ok()? * 10_i64.pow(3 - ms_digits.len() as u32);
        rest = &fraction[digits..];
    }
    let offset_s = match rest.as_bytes() {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let field = |a: u8, b: u8| i64::from(a - b'0') * 10 + i64::from(b - b'0');
            if ![h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let seconds = field(*h1, *h2) * 3600 + field(*m1, *m2) * 60;
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dockers_timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T10:00:00.123456789Z"),
            Some(1_714_557_600_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T00:00:01.5Z"),
            Some(951_782_401_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T12:00:00+02:00"),
            Some(1_714_557_600_000)
        );
        for bad in [
            "",
            "2024-05-01 10:00:00Z",
            "2024-13-01T10:00:00Z",
            "2024-05-01T10:00:00",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn frames_become_lines_with_stream_and_time() {
        let mut last = 0;
        let out = LogOutput::StdOut {
            message: "2024-05-01T10:00:00.5Z hello world\n".into(),
        };
        let lines = frame_lines(out, &mut last);
        assert_eq!(
            lines,
            vec![LogChunk {
                timestamp_ms: 1_714_557_600_500,
                stream: LogStream::Stdout,
                line: b"hello world".to_vec(),
            }]
        );
        let err = LogOutput::StdErr {
            message: "2024-05-01T10:00:01Z first\nsecond\n".into(),
        };
        let lines = frame_lines(err, &mut last);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.stream == LogStream::Stderr));
        assert_eq!(lines[1].line, b"second");
        assert_eq!(lines[1].timestamp_ms, 1_714_557_601_000);
    }

    #[test]
    fn empty_lines_are_kept() {
        let mut last = 0;
        let out = LogOutput::StdOut {
            message: "2024-05-01T10:00:00Z \n".into(),
        };
        assert_eq!(frame_lines(out, &mut last)[0].line, b"");
    }
}
