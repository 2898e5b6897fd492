//! PLACEHOLDER

use axum::http::StatusCode;

pub async fn ping() -> StatusCode { StatusCode::OK }
pub async fn version() -> StatusCode { StatusCode::OK }
pub async fn info() -> StatusCode { StatusCode::OK }
pub async fn swarm() -> StatusCode { StatusCode::OK }
pub async fn swarm_update() -> StatusCode { StatusCode::OK }
pub async fn already_in_swarm() -> StatusCode { StatusCode::OK }
pub async fn leave() -> StatusCode { StatusCode::OK }
pub async fn distribution() -> StatusCode { StatusCode::OK }
