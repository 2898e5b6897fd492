//! Request bodies. Docker's daemon (Go's JSON decoder) drops fields it does not know; that would
//! make a typo or a newer client's option vanish without a word, so a field that Docker's own
//! models do not have is refused here with its path. Fields Docker knows and swarmd does not
//! implement are refused by [`crate::convert`] when they hold a non-default value.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::EngineError;

/// A JSON body parsed into one of Docker's models.
pub struct DockerJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Serialize> FromRequest<S> for DockerJson<T> {
    type Rejection = EngineError;

    async fn from_request(request: Request, state: &S) -> Result<Self, EngineError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| EngineError::bad_request(format!("cannot read the request body: {e}")))?;
        parse(&bytes).map(DockerJson)
    }
}

/// Parses `bytes` as `T`, refusing malformed JSON, wrong types and unknown fields.
pub fn parse<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<T, EngineError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(EngineError::bad_request(
            "invalid JSON: got EOF while reading request body",
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| EngineError::bad_request(format!("invalid JSON: {e}")))?;
    let parsed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
        EngineError::bad_request(format!("invalid JSON: field {}: {}", e.path(), e.inner()))
    })?;
    let known = serde_json::to_value(&parsed)
        .map_err(|e| EngineError::bad_request(format!("invalid JSON: {e}")))?;
    if let Some(path) = unknown_field(&value, &known, "") {
        return Err(EngineError::bad_request(format!(
            "invalid JSON: unknown field {path}: it is not part of the Docker Engine API \
             (v{}); remove it or check its spelling",
            crate::version::MAX
        )));
    }
    Ok(parsed)
}

/// The first key of `sent` that did not survive parsing into the model (nulls aside).
fn unknown_field(sent: &Value, known: &Value, at: &str) -> Option<String> {
    match (sent, known) {
        (Value::Object(sent), Value::Object(known)) => sent.iter().find_map(|(key, value)| {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match known.get(key) {
                None if value.is_null() => None,
                None => Some(path),
                Some(kept) => unknown_field(value, kept, &path),
            }
        }),
        (Value::Array(sent), Value::Array(known)) => sent
            .iter()
            .zip(known)
            .enumerate()
            .find_map(|(i, (s, k))| unknown_field(s, k, &format!("{at}[{i}]"))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bollard::models::ServiceSpec;

    use super::*;

    #[test]
    fn the_clis_own_body_parses() {
        let sent = br#"{"Name":"web","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"nginx:latest","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Platforms":[{"Architecture":"amd64","OS":"linux"}]},"ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}"#;
        let spec: ServiceSpec = parse(sent).unwrap();
        assert_eq!(spec.name.as_deref(), Some("web"));
    }

    #[test]
    fn bad_bodies_name_what_is_wrong() {
        let e = parse::<ServiceSpec>(b"{\"Name\":").unwrap_err();
        assert!(e.message().starts_with("invalid JSON:"), "{}", e.message());
        let e = parse::<ServiceSpec>(b"").unwrap_err();
        assert!(e.message().contains("EOF"), "{}", e.message());
        let e = parse::<ServiceSpec>(
            br#"{"Name":"web","TaskTemplate":{"ContainerSpec":{"Imaeg":"x"}}}"#,
        )
        .unwrap_err();
        assert!(
            e.message()
                .contains("unknown field TaskTemplate.ContainerSpec.Imaeg"),
            "{}",
            e.message()
        );
        let e =
            parse::<ServiceSpec>(br#"{"Mode":{"Replicated":{"Replicas":"three"}}}"#).unwrap_err();
        assert!(
            e.message().contains("Mode.Replicated.Replicas"),
            "{}",
            e.message()
        );
        let ok = parse::<ServiceSpec>(br#"{"Name":"web","Networks":null}"#);
        assert!(ok.is_ok(), "nulls are absent fields");
    }
}
