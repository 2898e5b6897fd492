//! The one mapping from control-API failures to the Engine API's answers: docker's status codes
//! (the CLI's errdefs read them) and a `{"message": …}` body the CLI prints after "Error
//! response from daemon:". The messages are the control API's own, so swarmctl and docker say
//! the same thing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tonic::Code;

/// A refused Engine API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineError {
    status: StatusCode,
    message: String,
}

/// Docker's text for swarm routes on a node that is not a manager.
pub const NOT_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \
     \"docker swarm join\" to connect this node to swarm and try again.";

impl EngineError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        EngineError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn not_manager() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, NOT_MANAGER)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The HTTP status docker answers for each gRPC code swarmkit would return.
fn status_of(code: Code) -> StatusCode {
    match code {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists => StatusCode::CONFLICT,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied | Code::Unauthenticated => StatusCode::FORBIDDEN,
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<tonic::Status> for EngineError {
    fn from(status: tonic::Status) -> Self {
        EngineError::new(status_of(status.code()), status.message())
    }
}

impl IntoResponse for EngineError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_statuses_the_cli_reads() {
        let e = EngineError::from(tonic::Status::not_found("service web not found"));
        assert_eq!(
            (e.status(), e.message()),
            (StatusCode::NOT_FOUND, "service web not found")
        );
        let e = EngineError::from(tonic::Status::already_exists("x"));
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e = EngineError::from(tonic::Status::invalid_argument("x"));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            EngineError::not_manager().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
