//! API versions in paths (`/v1.50/services`), as moby's version middleware: unversioned paths
//! and `/v1.24`…`/v1.50` are served the same; a version out of that range is refused with
//! docker's text. Every answer carries the headers docker puts on all of its answers.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::error::EngineError;

/// The newest API version served: what docker CLI 28 speaks.
pub const MAX: ApiVersion = ApiVersion(1, 50);
/// The oldest, as moby's `MinSupportedAPIVersion`.
pub const MIN: ApiVersion = ApiVersion(1, 24);

/// The daemon version shown by `docker version` and in the `Server` header.
pub const DAEMON: &str = concat!("swarmd-", env!("CARGO_PKG_VERSION"));

/// `major.minor`, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (major, minor) = s.split_once('.').ok_or(())?;
        Ok(ApiVersion(
            major.parse().map_err(|_| ())?,
            minor.parse().map_err(|_| ())?,
        ))
    }
}

/// Splits `/v1.50/rest` into the version and `/rest`; `None` for an unversioned path.
pub fn split(path: &str) -> Option<(ApiVersion, &str)> {
    let rest = path.strip_prefix("/v")?;
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    Some((version.parse().ok()?, tail))
}

/// Checks a path's version against what we serve, with moby's texts.
pub fn check(version: ApiVersion) -> Result<(), EngineError> {
    if version > MAX {
        return Err(EngineError::bad_request(format!(
            "client version {version} is too new. Maximum supported API version is {MAX}"
        )));
    }
    if version < MIN {
        return Err(EngineError::bad_request(format!(
            "client version {version} is too old. Minimum supported API version is {MIN}, \
             please upgrade your client to a newer version"
        )));
    }
    Ok(())
}

/// Routes `/v1.NN/x` as `/x` and stamps every answer.
pub fn wrap(routes: Router) -> Router {
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(strip_and_stamp))
}

async fn strip_and_stamp(mut request: Request, next: Next) -> Response {
    let mut response = match versioned(&mut request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in [
        ("api-version", MAX.to_string()),
        ("docker-experimental", "false".to_string()),
        ("ostype", "linux".to_string()),
        ("server", format!("Docker/{DAEMON} (linux)")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn versioned(request: &mut Request) -> Result<(), EngineError> {
    let Some((version, rest)) = split(request.uri().path()) else {
        return Ok(());
    };
    check(version)?;
    let path_and_query = match request.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_string(),
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| EngineError::bad_request(format!("invalid path {path_and_query}")))?,
    );
    *request.uri_mut() =
        Uri::from_parts(parts).map_err(|e| EngineError::bad_request(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_versions_are_checked() {
        assert_eq!(
            split("/v1.50/services"),
            Some((ApiVersion(1, 50), "/services"))
        );
        assert_eq!(split("/v1.44/_ping"), Some((ApiVersion(1, 44), "/_ping")));
        assert_eq!(split("/services"), None);
        assert_eq!(
            split("/volumes"),
            None,
            "a path starting with v is not a version"
        );
        assert!(check(ApiVersion(1, 24)).is_ok());
        assert!(check(ApiVersion(1, 50)).is_ok());
        let new = check(ApiVersion(1, 51)).unwrap_err();
        assert_eq!(
            new.message(),
            "client version 1.51 is too new. Maximum supported API version is 1.50"
        );
        assert!(check(ApiVersion(1, 23))
            .unwrap_err()
            .message()
            .contains("too old"));
    }
}
