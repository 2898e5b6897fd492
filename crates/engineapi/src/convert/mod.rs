//! Our wire messages (`api::objects`) ⇄ Docker's Engine API models (`bollard::models`).
//!
//! Going out, every field docker's CLI or the visualizer reads is filled (see
//! ../shared/design/ENGINE-API.md §5). Coming in, a field Docker knows and swarmd does not
//! implement is accepted only at its default value (the CLI sends `Init: false`,
//! `DNSConfig: {}`, `Placement.Platforms` on every create); any other value is refused with
//! its path, because dropping it would run something other than what the user asked for.

pub mod attachment;
pub mod cluster;
pub mod container_spec_in;
pub mod data;
pub mod network;
pub mod node;
pub mod service;
pub mod service_spec_in;
pub mod service_spec_out;
pub mod task;
pub mod task_spec_in;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::objects as pb;
use bollard::models::ObjectVersion;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::EngineError;

/// A unix-milliseconds timestamp as docker writes times (RFC 3339, nanoseconds).
pub fn time(ms: i64) -> Option<String> {
    let at = UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))?;
    Some(humantime::format_rfc3339_nanos(at).to_string())
}

/// Parses a docker timestamp back to unix milliseconds.
pub fn millis(rfc3339: &str) -> Option<i64> {
    let at: SystemTime = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    i64::try_from(at.duration_since(UNIX_EPOCH).ok()?.as_millis()).ok()
}

/// `Version`, `CreatedAt`, `UpdatedAt` of an object.
pub struct Stamps {
    pub version: Option<ObjectVersion>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

pub fn stamps(meta: Option<&pb::Meta>) -> Stamps {
    let meta = meta.cloned().unwrap_or_default();
    Stamps {
        version: Some(ObjectVersion {
            index: Some(meta.version),
        }),
        created_at: time(meta.created_at_ms),
        updated_at: time(meta.updated_at_ms),
    }
}

/// Refuses a Docker option swarmd does not implement, naming it.
pub fn unsupported(path: &str) -> EngineError {
    EngineError::bad_request(format!(
        "{path}: swarmd does not support this option; remove it (see README, Docker Engine API)"
    ))
}

/// Refuses `value` at `path` unless it is the default (absent, zero, false, empty).
pub fn default_only<T: Default + PartialEq>(
    path: &str,
    value: &Option<T>,
) -> Result<(), EngineError> {
    match value {
        Some(v) if *v != T::default() => Err(unsupported(path)),
        _ => Ok(()),
    }
}

/// Refuses `value` at `path` unless every field in it is docker's zero value (null, false, 0,
/// "", [], or an object of those), naming the first field that is set. For the parts of
/// Docker's models swarmd has no home for: the CLI sends many of them filled with zeros
/// (`"Privileges":{"CredentialSpec":null,"NoNewPrivileges":false}`).
pub fn zero_only<T: Serialize>(path: &str, value: &T) -> Result<(), EngineError> {
    let value = serde_json::to_value(value)
        .map_err(|e| EngineError::bad_request(format!("{path}: {e}")))?;
    match first_set(&value, path) {
        Some(at) => Err(unsupported(&at)),
        None => Ok(()),
    }
}

fn first_set(value: &Value, at: &str) -> Option<String> {
    let set = match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => {
            return m
                .iter()
                .find_map(|(k, v)| first_set(v, &format!("{at}.{k}")))
        }
    };
    set.then(|| at.to_string())
}

/// One docker model read as another with the same JSON fields (`RollbackConfig` and
/// `UpdateConfig` are separate generated types).
pub fn recast<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(a)?)
}

/// Our milliseconds as docker's durations (nanoseconds).
pub fn nanos(ms: u64) -> i64 {
    i64::try_from(ms)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000)
}

/// A docker duration (nanoseconds) as our milliseconds. A fraction of a millisecond is refused
/// rather than rounded, so what is stored is what was asked for.
pub fn millis_of(path: &str, nanos: Option<i64>) -> Result<Option<u64>, EngineError> {
    let Some(ns) = nanos else { return Ok(None) };
    let ms = u64::try_from(ns).map_err(|_| {
        EngineError::bad_request(format!(
            "{path}: {ns} is negative; give a duration of 0 or more (nanoseconds)"
        ))
    })?;
    if ms % 1_000_000 != 0 {
        return Err(EngineError::bad_request(format!(
            "{path}: {ns} ns is not a whole number of milliseconds, the precision swarmd keeps; round it"
        )));
    }
    Ok(Some(ms / 1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_only_names_the_first_field_set() {
        let sent = serde_json::json!({"CredentialSpec": null, "NoNewPrivileges": false, "Opts": {"A": ""}});
        assert!(zero_only("Privileges", &sent).is_ok());
        let sent = serde_json::json!({"NoNewPrivileges": false, "Seccomp": {"Mode": "unconfined"}});
        let e = zero_only("Privileges", &sent).unwrap_err();
        assert!(
            e.message()
                .starts_with("Privileges.Seccomp.Mode: swarmd does not support"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn durations_are_nanoseconds_outside() {
        assert_eq!(nanos(1500), 1_500_000_000);
        assert_eq!(millis_of("Delay", Some(1_500_000_000)).unwrap(), Some(1500));
        assert_eq!(millis_of("Delay", None).unwrap(), None);
        assert!(millis_of("Delay", Some(-1))
            .unwrap_err()
            .message()
            .contains("negative"));
        assert!(millis_of("Delay", Some(1))
            .unwrap_err()
            .message()
            .starts_with("Delay: 1 ns"));
    }

    #[test]
    fn times_round_trip_through_rfc3339() {
        let s = time(1_700_000_000_123).unwrap();
        assert_eq!(s, "2023-11-14T22:13:20.123000000Z");
        assert_eq!(millis(&s), Some(1_700_000_000_123));
        assert_eq!(time(-1), None);
    }

    #[test]
    fn only_defaults_pass() {
        assert!(default_only::<bool>("Init", &Some(false)).is_ok());
        assert!(default_only::<bool>("Init", &None).is_ok());
        let e = default_only("TaskTemplate.ContainerSpec.Init", &Some(true)).unwrap_err();
        assert!(e
            .message()
            .starts_with("TaskTemplate.ContainerSpec.Init: swarmd does not support"));
    }
}
