//! How Docker's answers become [`ExecError`]s: the agent retries `Engine` errors with backoff
//! and turns `Rejected` into a REJECTED task, so the split decides whether a task waits for the
//! engine or gives up.

use agent::executor::ExecError;
use bollard::errors::Error as DockerError;

/// Failure to reach an engine when the executor is created.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("docker host `{0}`: only unix:// sockets (or a socket path) are supported")]
    UnsupportedHost(String),
    #[error("docker engine at `{host}`: {source}")]
    Engine {
        host: String,
        #[source]
        source: DockerError,
    },
}

/// The HTTP status of an error the engine answered with; `None` when it never answered.
pub fn status_code(err: &DockerError) -> Option<u16> {
    match err {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

pub fn is_not_found(err: &DockerError) -> bool {
    status_code(err) == Some(404)
}

/// Docker's own words, without bollard's "Docker responded with status code…" wrapper.
pub fn docker_message(err: &DockerError) -> String {
    match err {
        DockerError::DockerResponseServerError { message, .. } => message.clone(),
        DockerError::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

/// For calls whose failure says nothing about the task: any error is the engine's, retried.
pub fn engine(context: &str, err: DockerError) -> ExecError {
    ExecError::Engine(format!("{context}: {}", docker_message(&err)))
}

/// For calls that submit the task's own configuration (create, start): a 4xx means Docker
/// refused the spec (bad command, invalid limits), which no retry will fix.
pub fn spec_or_engine(context: &str, err: DockerError) -> ExecError {
    match status_code(&err) {
        Some(code) if (400..500).contains(&code) => {
            ExecError::Rejected(format!("{context}: {}", docker_message(&err)))
        }
        _ => engine(context, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status_code: u16, message: &str) -> DockerError {
        DockerError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn client_errors_on_the_spec_reject_the_task() {
        let err = spec_or_engine("create", answered(400, "invalid mount config"));
        assert_eq!(
            err,
            ExecError::Rejected("create: invalid mount config".into())
        );
    }

    #[test]
    fn server_errors_and_lost_connections_are_retried() {
        assert!(matches!(
            spec_or_engine("start", answered(500, "containerd: unavailable")),
            ExecError::Engine(_)
        ));
        let lost = DockerError::IOError {
            err: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(matches!(
            spec_or_engine("create", lost),
            ExecError::Engine(_)
        ));
        assert!(is_not_found(&answered(404, "No such container: x")));
        assert!(!is_not_found(&DockerError::RequestTimeoutError));
    }
}
