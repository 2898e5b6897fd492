//! Our wire messages (`api::objects`) ⇄ Docker's Engine API models (`bollard::models`).
//!
//! Going out, every field docker's CLI or the visualizer reads is filled (see
//! ../shared/design/ENGINE-API.md §5). Coming in, a field Docker knows and swarmd does not
//! implement is accepted only at its default value (the CLI sends `Init: false`,
//! `DNSConfig: {}`, `Placement.Platforms` on every create); any other value is refused with
//! its path, because dropping it would run something other than what the user asked for.

pub mod cluster;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api::objects as pb;
use bollard::models::ObjectVersion;

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
pub fn default_only<T: Default + PartialEq>(path: &str, value: &Option<T>) -> Result<(), EngineError> {
    match value {
        Some(v) if *v != T::default() => Err(unsupported(path)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(e.message().starts_with("TaskTemplate.ContainerSpec.Init: swarmd does not support"));
    }
}
