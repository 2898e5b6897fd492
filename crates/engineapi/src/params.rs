//! Query parameters as docker sends them (`?status=true`, `?force=1`, `?version=17`).

use std::collections::HashMap;

use axum::extract::Query;

use crate::error::EngineError;

/// A route's query parameters.
pub type Params = Query<HashMap<String, String>>;

/// A boolean parameter: `1`, `true` (any case) or `yes` are true; absent is false.
pub fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// The `version` an update must carry: the object's `Version.Index` as last read.
pub fn version(params: &HashMap<String, String>) -> Result<u64, EngineError> {
    let raw = params.get("version").ok_or_else(|| {
        EngineError::bad_request("missing version: pass ?version= with the Version.Index you read")
    })?;
    raw.parse().map_err(|_| {
        EngineError::bad_request(format!(
            "invalid version `{raw}`: it must be the object's Version.Index, a number"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_versions() {
        let p = HashMap::from([
            ("force".to_string(), "1".to_string()),
            ("status".to_string(), "true".to_string()),
            ("version".to_string(), "17".to_string()),
        ]);
        assert!(flag(&p, "force") && flag(&p, "status") && !flag(&p, "follow"));
        assert_eq!(version(&p).unwrap(), 17);
        assert!(version(&HashMap::new()).is_err());
    }
}
