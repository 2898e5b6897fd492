//! The one place where the control API's failures become `tonic::Status` codes.
//!
//! Every message names what was wrong and what to do about it, because swarmctl prints it
//! verbatim: a user reads "invalid spec.task.container.image: the image is empty; name one
//! such as `nginx:1.27`", not a bare code.

use store::{LookupError, StoreError};
use tonic::{Code, Response, Status};
use types::convert::ConvertError;
use types::validate::ValidationError;

use crate::allocator::ports::PortError;
use crate::allocator::subnets::SubnetError;

/// Why a control API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("invalid request: {0}")]
    Convert(#[from] ConvertError),
    #[error("invalid spec.endpoint.ports: {0}")]
    Ports(#[from] PortError),
    #[error(transparent)]
    Subnet(#[from] SubnetError),
    /// The request itself is malformed (missing spec, nothing to rotate, ...).
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but the cluster's state forbids it right now.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A node's agent could not be reached or failed.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    pub fn code(&self) -> Code {
        match self {
            ApiError::Store(e) => match e {
                StoreError::AlreadyExists { .. } | StoreError::Taken(_) => Code::AlreadyExists,
                StoreError::NotFound { .. } => Code::NotFound,
                StoreError::Conflict { .. } => Code::FailedPrecondition,
                StoreError::NoLeader(_) | StoreError::Unavailable(_) => Code::Unavailable,
                StoreError::Storage(_) => Code::Internal,
            },
            ApiError::Lookup(LookupError::NotFound { .. }) => Code::NotFound,
            ApiError::Lookup(LookupError::Ambiguous { .. }) => Code::InvalidArgument,
            ApiError::Validation(_) | ApiError::Convert(_) | ApiError::InvalidArgument(_) => {
                Code::InvalidArgument
            }
            ApiError::Ports(PortError::Exhausted { .. }) => Code::ResourceExhausted,
            ApiError::Ports(_) => Code::InvalidArgument,
            ApiError::Subnet(SubnetError::Overlaps { .. } | SubnetError::Underlay { .. }) => {
                Code::InvalidArgument
            }
            ApiError::Subnet(_) => Code::ResourceExhausted,
            ApiError::AlreadyExists(_) => Code::AlreadyExists,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::FailedPrecondition(_) => Code::FailedPrecondition,
            ApiError::Unavailable(_) => Code::Unavailable,
        }
    }

    fn message(&self) -> String {
        match self {
            // The store's own text lacks the way out; every caller of these can act on it.
            // It starts with swarmkit's words, which scripts written for Docker match.
            ApiError::Store(StoreError::Conflict { kind, id, .. }) => format!(
                "update out of sequence: {kind} {id} was changed by someone else since it was read; inspect it again and retry"
            ),
            ApiError::Store(StoreError::NoLeader(why)) => format!(
                "the cluster has no reachable leader ({why}); the write was not committed, retry once a majority of managers is up"
            ),
            other => other.to_string(),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        Status::new(e.code(), e.message())
    }
}

/// Converts a domain result into the wire reply.
pub(super) fn reply<T, W: From<T>>(result: Result<T, ApiError>) -> Result<Response<W>, Status> {
    result
        .map(|t| Response::new(W::from(t)))
        .map_err(Status::from)
}

/// Domain objects as their wire messages, for list replies.
pub(super) fn wire<T, W: From<T>>(items: Vec<T>) -> Vec<W> {
    items.into_iter().map(W::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_kind_of_failure() {
        let cases: Vec<(ApiError, Code)> = vec![
            (
                StoreError::AlreadyExists {
                    kind: "service".into(),
                    id: "x".into(),
                }
                .into(),
                Code::AlreadyExists,
            ),
            (
                StoreError::NoLeader("election".into()).into(),
                Code::Unavailable,
            ),
            (
                LookupError::NotFound {
                    kind: "node",
                    query: "w9".into(),
                }
                .into(),
                Code::NotFound,
            ),
            (
                LookupError::Ambiguous {
                    kind: "node",
                    query: "a".into(),
                    count: 2,
                }
                .into(),
                Code::InvalidArgument,
            ),
            (
                ValidationError {
                    field: "spec.name".into(),
                    message: "empty".into(),
                }
                .into(),
                Code::InvalidArgument,
            ),
            (
                ApiError::FailedPrecondition("last manager".into()),
                Code::FailedPrecondition,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(Status::from(err).code(), code);
        }
    }

    #[test]
    fn conflict_tells_the_user_to_retry() {
        let s = Status::from(ApiError::from(StoreError::Conflict {
            kind: "service".into(),
            id: "abc".into(),
            expected: 3,
            actual: 4,
        }));
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(
            s.message().contains("inspect it again and retry"),
            "{}",
            s.message()
        );
    }
}
