//! The `filters` query parameter: JSON `{"key":{"value":true}}` (or the legacy
//! `{"key":["value"]}`). Keys a route does not accept are refused, as moby's
//! `filters.Validate`. `id` and `name` match by prefix (moby passes them to swarmkit as
//! prefixes; the CLI then matches exactly itself); `label` entries are `key` or `key=value`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::error::EngineError;

/// Parsed filters: each key with its set of values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters(BTreeMap<String, BTreeSet<String>>);

impl Filters {
    /// Parses the raw parameter (absent or empty: no filter) and checks its keys.
    pub fn parse(raw: Option<&str>, accepted: &[&str]) -> Result<Self, EngineError> {
        let raw = match raw.map(str::trim) {
            None | Some("") => return Ok(Filters::default()),
            Some(raw) => raw,
        };
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| EngineError::bad_request(format!("invalid filter: {e}")))?;
        let Value::Object(map) = value else {
            return Err(EngineError::bad_request(
                "invalid filter: expected a JSON object",
            ));
        };
        let mut filters = BTreeMap::new();
        for (key, values) in map {
            if !accepted.contains(&key.as_str()) {
                return Err(EngineError::bad_request(format!("invalid filter '{key}'")));
            }
            let set: BTreeSet<String> = match values {
                Value::Object(m) => m
                    .into_iter()
                    .filter(|(_, on)| on.as_bool() != Some(false))
                    .map(|(v, _)| v)
                    .collect(),
                Value::Array(a) => a
                    .into_iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        EngineError::bad_request(format!(
                            "invalid filter '{key}': values must be strings"
                        ))
                    })?,
                _ => {
                    return Err(EngineError::bad_request(format!(
                        "invalid filter '{key}': expected {{\"value\":true}}"
                    )))
                }
            };
            filters.insert(key, set);
        }
        Ok(Filters(filters))
    }

    /// The values given for `key` (empty when the key is absent).
    pub fn values(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0.get(key).into_iter().flatten().map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// True when `key` is absent, or one of its values is a prefix of `candidate`.
    pub fn prefix(&self, key: &str, candidate: &str) -> bool {
        !self.has(key) || self.values(key).any(|v| candidate.starts_with(v))
    }

    /// True when `key` is absent, or one of its values equals `candidate`.
    pub fn exact(&self, key: &str, candidate: &str) -> bool {
        !self.has(key) || self.values(key).any(|v| v == candidate)
    }

    /// True when `key` is absent, or one of its values equals one of `candidates`.
    pub fn any_exact<'a>(&self, key: &str, candidates: impl IntoIterator<Item = &'a str>) -> bool {
        if !self.has(key) {
            return true;
        }
        let mine: BTreeSet<&str> = self.values(key).collect();
        candidates.into_iter().any(|c| mine.contains(c))
    }

    /// True when every `key` entry (`k` or `k=v`) holds in `labels` (moby: all must match).
    pub fn labels(&self, key: &str, labels: &HashMap<String, String>) -> bool {
        self.values(key).all(|entry| match entry.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(entry),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_unknown_keys_are_refused() {
        let f = Filters::parse(
            Some(r#"{"name":{"web":true},"label":["a=b"]}"#),
            &["name", "label"],
        )
        .unwrap();
        assert!(f.prefix("name", "web2"));
        assert!(!f.prefix("name", "api"));
        assert!(f.prefix("id", "anything"), "an absent key matches all");
        let labels = HashMap::from([("a".to_string(), "b".to_string())]);
        assert!(f.labels("label", &labels));
        assert!(!f.labels("label", &HashMap::new()));
        let e = Filters::parse(Some(r#"{"colour":{"x":true}}"#), &["name"]).unwrap_err();
        assert_eq!(e.message(), "invalid filter 'colour'");
        assert!(Filters::parse(Some("{"), &["name"]).is_err());
        assert_eq!(Filters::parse(None, &[]).unwrap(), Filters::default());
    }

    #[test]
    fn label_keys_without_values_match_presence() {
        let f = Filters::parse(
            Some(r#"{"label":{"com.docker.stack.namespace":true}}"#),
            &["label"],
        )
        .unwrap();
        let with = HashMap::from([("com.docker.stack.namespace".into(), "app".into())]);
        assert!(f.labels("label", &with));
        assert!(!f.labels("label", &HashMap::new()));
    }
}
