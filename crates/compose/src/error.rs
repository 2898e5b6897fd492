//! What can go wrong turning compose files into a plan. Every error names the file or the key
//! path (`services.web.deploy.replicas`) and, when it can be found, the line.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A compose file, an `env_file`, a secret's or a config's `file` could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not YAML, or not a mapping at the top, or a bad `.env`/`env_file` line. The message
    /// says where (the YAML library writes `at line 4 column 1`); `line` is for programs.
    #[error("{}: {message}", file.display())]
    Syntax {
        file: PathBuf,
        message: String,
        line: Option<usize>,
    },
    /// A key with a value of the wrong type or form, or an unknown key.
    #[error("{key}: {message}{}", At(*line, file.as_ref()))]
    Invalid {
        /// Dotted path from the top of the file: `services.web.ports[1]`.
        key: String,
        message: String,
        line: Option<usize>,
        /// Set when several files were merged, so `line` says which one.
        file: Option<PathBuf>,
    },
    /// `${VAR:?message}` or `${VAR?message}` with the variable unset (or empty, for `:?`).
    #[error("{key}: required variable {var} is missing a value: {message}")]
    MissingVariable {
        key: String,
        var: String,
        message: String,
    },
}

impl ComposeError {
    /// An [`ComposeError::Invalid`] whose line is found later (see [`crate::locate`]).
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> ComposeError {
        ComposeError::Invalid {
            key: key.into(),
            message: message.into(),
            line: None,
            file: None,
        }
    }
}

/// ` (line 12)` or ` (prod.yml line 12)`, or nothing.
struct At<'a>(Option<usize>, Option<&'a PathBuf>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At(Some(line), None) => write!(f, " (line {line})"),
            At(Some(line), Some(file)) => write!(f, " ({} line {line})", file.display()),
            At(None, _) => Ok(()),
        }
    }
}
