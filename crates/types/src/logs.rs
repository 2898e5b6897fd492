//! Where a log line came from, as `service logs` streams carry it (`stdout`, `stderr`, or
//! `error`: a line the managers made to say a node's logs could not be read).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    Stdout,
    Stderr,
    /// Not the container's: a node could not be asked for its lines.
    Error,
}

impl LogStream {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
            LogStream::Error => "error",
        }
    }
}

impl fmt::Display for LogStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogStream {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stdout" => Ok(LogStream::Stdout),
            "stderr" => Ok(LogStream::Stderr),
            "error" => Ok(LogStream::Error),
            other => Err(format!(
                "log stream `{other}`: expected stdout, stderr or error"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [LogStream::Stdout, LogStream::Stderr, LogStream::Error] {
            assert_eq!(s.as_str().parse::<LogStream>(), Ok(s));
        }
        assert!("stdin".parse::<LogStream>().is_err());
    }
}
