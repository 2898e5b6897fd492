//! PLACEHOLDER being written by a helper.

use crate::error::EngineError;

pub async fn pass() -> EngineError {
    EngineError::not_found("page not found")
}
