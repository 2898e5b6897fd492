//! Every route the Engine API does not serve itself (containers, images, exec, volumes, events,
//! `system/df`, …) goes to the node's own container engine as it came: one connection to the
//! engine's unix socket per request, the answer streamed back as it is produced (`docker logs
//! -f`, `docker events`), and upgraded connections (`docker exec -it`, `docker attach`: the
//! CLI asks for `Upgrade: tcp` and gets `101`) joined byte for byte in both directions.
//!
//! One thing may change: the path's API version. The CLI negotiated it with swarmd (1.50), and
//! an older engine refuses a version newer than its own (Debian's dockerd 20.10 speaks 1.41),
//! so a versioned request first asks the engine's `/_ping` on the same connection and, when
//! the engine is older, goes out with the engine's version, as the CLI would have negotiated
//! talking to that engine directly.
//!
//! Hand-written on hyper's connection API because no maintained crate does this: the reverse
//! proxies for axum and hyper (axum-reverse-proxy, hyper-reverse-proxy) dial TCP or TLS URLs,
//! carry upgrades as WebSocket messages if at all (not docker's raw stream), and
//! hyper-reverse-proxy is still on hyper 0.14; salvo-proxy's unix-socket tunnel needs Salvo.

use std::fmt::Display;
use std::path::Path;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

use crate::error::EngineError;
use crate::version::{self, ApiVersion};
use crate::Shared;

/// Why container routes answer 503 on a node without an engine.
pub const NO_ENGINE: &str = "this node has no container engine configured (swarmd --docker-host)";

/// How long the engine may take to answer the version probe.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// The router's fallback: the request goes to the engine, or 503 when there is none.
pub async fn pass(State(engine): State<Shared>, request: Request) -> Response {
    let Some(socket) = engine.engine_socket() else {
        return EngineError::new(StatusCode::SERVICE_UNAVAILABLE, NO_ENGINE).into_response();
    };
    match forward(socket, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// A 502 naming the socket, for an engine that cannot be reached or stops answering.
fn unreachable(socket: &Path, e: impl Display) -> EngineError {
    EngineError::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "the container engine at {} does not answer: {e}; is dockerd running there? \
             (swarmd --docker-host)",
            socket.display()
        ),
    )
}

async fn forward(socket: &Path, mut request: Request) -> Result<Response, EngineError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|e| unreachable(socket, e))?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(socket, e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "connection to the container engine ended");
        }
    });

    // The version middleware has stripped `/v1.NN`; the engine gets the path as sent.
    let sent = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |o| o.0.clone());
    let sent = sent.path_and_query().map_or("/", |p| p.as_str());
    let path = if version::split(sent).is_some() {
        let engine = tokio::time::timeout(PING_TIMEOUT, engine_version(&mut sender))
            .await
            .map_err(|_| unreachable(socket, "no answer to /_ping within 10s"))?
            .map_err(|e| unreachable(socket, e))?;
        lowered(sent, engine)
    } else {
        sent.to_string()
    };
    *request.uri_mut() = path
        .parse()
        .map_err(|_| EngineError::bad_request(format!("invalid request path {path}")))?;
    if !request.headers().contains_key(header::HOST) {
        // Go's HTTP/1.1 server refuses a request without one.
        let host = HeaderValue::from_static("docker");
        request.headers_mut().insert(header::HOST, host);
    }
    let client_side = wants_upgrade(&request).then(|| hyper::upgrade::on(&mut request));

    let mut response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(socket, e))?;
    if let (StatusCode::SWITCHING_PROTOCOLS, Some(client_side)) = (response.status(), client_side) {
        tokio::spawn(join(client_side, hyper::upgrade::on(&mut response)));
    }
    Ok(response.map(Body::new))
}

/// The engine's API version from its `/_ping`; `None` when it does not say.
async fn engine_version(
    sender: &mut SendRequest<Body>,
) -> Result<Option<ApiVersion>, hyper::Error> {
    let ping = axum::http::Request::get("/_ping")
        .header(header::HOST, "docker")
        .body(Body::empty())
        .expect("a static request is valid");
    let response = sender.send_request(ping).await?;
    let version = response
        .headers()
        .get("api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    response.into_body().collect().await?;
    sender.ready().await?;
    Ok(version)
}

/// `path` with its version lowered to the engine's when the engine is older.
pub fn lowered(path: &str, engine: Option<ApiVersion>) -> String {
    match (version::split(path), engine) {
        (Some((wanted, rest)), Some(engine)) if wanted > engine => format!("/v{engine}{rest}"),
        _ => path.to_string(),
    }
}

/// `Connection: Upgrade`, as docker's hijacked attach and exec send it.
fn wants_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// Copies both ways between the client and the engine until both sides are done.
async fn join(client: OnUpgrade, engine: OnUpgrade) {
    match tokio::try_join!(client, engine) {
        Ok((client, engine)) => {
            let (mut client, mut engine) = (TokioIo::new(client), TokioIo::new(engine));
            if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut engine).await {
                tracing::debug!(error = %e, "upgraded engine connection ended");
            }
        }
        Err(e) => tracing::warn!(error = %e, "an upgraded engine connection failed to start"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_lowered_to_an_older_engines_only() {
        let v141 = Some(ApiVersion(1, 41));
        assert_eq!(
            lowered("/v1.50/containers/json?all=1", v141),
            "/v1.41/containers/json?all=1"
        );
        assert_eq!(
            lowered("/v1.30/containers/json", v141),
            "/v1.30/containers/json"
        );
        let v151 = Some(ApiVersion(1, 51));
        assert_eq!(lowered("/v1.50/images/json", v151), "/v1.50/images/json");
        assert_eq!(lowered("/v1.50/images/json", None), "/v1.50/images/json");
        assert_eq!(lowered("/containers/json", v141), "/containers/json");
    }
}
