//! PLACEHOLDER being written by a helper.

use axum::Router;

use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
}
