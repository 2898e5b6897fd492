//! Placement constraints (`node.role==manager`) and placement preferences
//! (`spread=node.labels.zone`): parsed once, matched against nodes by the scheduler and checked
//! by validation before a spec is stored.
//!
//! Matching follows SwarmKit: values compare case-insensitively, and a missing label reads as
//! the empty string (so `node.labels.zone!=b` holds on a node without a `zone` label).

use std::fmt;
use std::str::FromStr;

use crate::node::Node;

/// The node attribute a constraint looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConstraintKey {
    NodeId,
    NodeHostname,
    NodeRole,
    /// A label set by the user with `node update --label-add`.
    NodeLabel(String),
    /// A label of the node's container engine (reported by the node itself).
    EngineLabel(String),
    PlatformOs,
    PlatformArch,
}

/// The keys a user may write, in the order error messages list them.
const KNOWN_KEYS: &str = "node.id, node.hostname, node.role, node.labels.<key>, \
                          engine.labels.<key>, node.platform.os, node.platform.arch";

const NODE_LABEL_PREFIX: &str = "node.labels.";
const ENGINE_LABEL_PREFIX: &str = "engine.labels.";

impl ConstraintKey {
    /// Keys are case-insensitive (as in SwarmKit); label names keep their case.
    fn parse(key: &str) -> Option<ConstraintKey> {
        let lower = key.to_ascii_lowercase();
        let label = |prefix: &str| {
            lower
                .starts_with(prefix)
                .then(|| key[prefix.len()..].to_string())
        };
        match lower.as_str() {
            "node.id" => Some(ConstraintKey::NodeId),
            "node.hostname" => Some(ConstraintKey::NodeHostname),
            "node.role" => Some(ConstraintKey::NodeRole),
            "node.platform.os" => Some(ConstraintKey::PlatformOs),
            "node.platform.arch" => Some(ConstraintKey::PlatformArch),
            _ => label(NODE_LABEL_PREFIX)
                .map(ConstraintKey::NodeLabel)
                .or_else(|| label(ENGINE_LABEL_PREFIX).map(ConstraintKey::EngineLabel)),
        }
    }

    /// The node's value for this key; `None` when a label is absent.
    fn value_of<'a>(&self, node: &'a Node) -> Option<&'a str> {
        match self {
            ConstraintKey::NodeId => Some(&node.id),
            ConstraintKey::NodeHostname => Some(&node.description.hostname),
            ConstraintKey::NodeRole => Some(node.role.as_str()),
            ConstraintKey::NodeLabel(k) => node.spec.labels.get(k).map(String::as_str),
            ConstraintKey::EngineLabel(k) => {
                node.description.engine_labels.get(k).map(String::as_str)
            }
            ConstraintKey::PlatformOs => Some(&node.description.platform.os),
            ConstraintKey::PlatformArch => Some(&node.description.platform.arch),
        }
    }
}

impl fmt::Display for ConstraintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConstraintKey::NodeId => f.write_str("node.id"),
            ConstraintKey::NodeHostname => f.write_str("node.hostname"),
            ConstraintKey::NodeRole => f.write_str("node.role"),
            ConstraintKey::NodeLabel(k) => write!(f, "{NODE_LABEL_PREFIX}{k}"),
            ConstraintKey::EngineLabel(k) => write!(f, "{ENGINE_LABEL_PREFIX}{k}"),
            ConstraintKey::PlatformOs => f.write_str("node.platform.os"),
            ConstraintKey::PlatformArch => f.write_str("node.platform.arch"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
}

impl Operator {
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "==",
            Operator::Ne => "!=",
        }
    }
}

/// One parsed `key==value` / `key!=value` expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Constraint {
    pub key: ConstraintKey,
    pub op: Operator,
    pub value: String,
}

/// Why a constraint or preference does not parse; every message names the expression and
/// says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    #[error("constraint `{expr}`: expected `==` or `!=` between key and value, e.g. `node.role==manager`")]
    MissingOperator { expr: String },
    #[error("constraint `{expr}`: unknown key `{key}` (expected {KNOWN_KEYS})")]
    UnknownKey { expr: String, key: String },
    #[error("constraint `{expr}`: `{key}` needs a label name, e.g. `{key}zone`")]
    EmptyLabel { expr: String, key: String },
    #[error("constraint `{expr}`: missing value after `{op}`")]
    EmptyValue { expr: String, op: &'static str },
    #[error("constraint `{expr}`: value `{value}` contains `=`, `!` or a control character; use a single `==` or `!=`")]
    BadValue { expr: String, value: String },
    #[error("placement preference `{expr}`: expected `spread=node.labels.<key>` or `spread=engine.labels.<key>`")]
    BadPreference { expr: String },
}

impl Constraint {
    /// Parses `key==value` or `key!=value`; whitespace around key and value is ignored.
    pub fn parse(expr: &str) -> Result<Constraint, ConstraintError> {
        let owned = || expr.to_string();
        // The first operator wins, so `a==b!=c` is reported as a bad value rather than
        // silently splitting elsewhere.
        let (at, op) = match (expr.find("=="), expr.find("!=")) {
            (Some(e), Some(n)) if n < e => (n, Operator::Ne),
            (Some(e), _) => (e, Operator::Eq),
            (None, Some(n)) => (n, Operator::Ne),
            (None, None) => return Err(ConstraintError::MissingOperator { expr: owned() }),
        };
        let key = expr[..at].trim();
        let value = expr[at + 2..].trim();
        let parsed = ConstraintKey::parse(key).ok_or_else(|| ConstraintError::UnknownKey {
            expr: owned(),
            key: key.to_string(),
        })?;
        if let ConstraintKey::NodeLabel(k) | ConstraintKey::EngineLabel(k) = &parsed {
            if k.trim().is_empty() {
                let prefix = &key[..key.len() - k.len()];
                return Err(ConstraintError::EmptyLabel {
                    expr: owned(),
                    key: prefix.to_string(),
                });
            }
        }
        if value.is_empty() {
            return Err(ConstraintError::EmptyValue {
                expr: owned(),
                op: op.as_str(),
            });
        }
        if value.contains(['=', '!']) || value.chars().any(char::is_control) {
            return Err(ConstraintError::BadValue {
                expr: owned(),
                value: value.to_string(),
            });
        }
        Ok(Constraint {
            key: parsed,
            op,
            value: value.to_string(),
        })
    }

    /// Parses every expression of a placement, stopping at the first error.
    pub fn parse_all<S: AsRef<str>>(exprs: &[S]) -> Result<Vec<Constraint>, ConstraintError> {
        exprs
            .iter()
            .map(|e| Constraint::parse(e.as_ref()))
            .collect()
    }

    pub fn matches(&self, node: &Node) -> bool {
        let actual = self.key.value_of(node).unwrap_or("");
        let equal = match self.key {
            ConstraintKey::PlatformArch => canonical_arch(actual) == canonical_arch(&self.value),
            _ => actual.eq_ignore_ascii_case(&self.value),
        };
        match self.op {
            Operator::Eq => equal,
            Operator::Ne => !equal,
        }
    }

    /// True when the node satisfies every constraint (an empty list admits every node).
    pub fn all_match(constraints: &[Constraint], node: &Node) -> bool {
        constraints.iter().all(|c| c.matches(node))
    }

    /// Whether a spec's constraint expressions admit the node. Expressions that do not parse
    /// admit no node: the control API validates them, so this only guards against a spec
    /// written around it.
    pub fn exprs_admit<S: AsRef<str>>(exprs: &[S], node: &Node) -> bool {
        Constraint::parse_all(exprs).is_ok_and(|cs| Constraint::all_match(&cs, node))
    }
}

/// Docker engines report `x86_64` / `aarch64` (uname) while Go and OCI say `amd64` / `arm64`;
/// users write either, so both spellings name the same architecture.
fn canonical_arch(arch: &str) -> String {
    let lower = arch.to_ascii_lowercase();
    match lower.as_str() {
        "x86_64" | "x86-64" => "amd64".to_string(),
        "aarch64" => "arm64".to_string(),
        _ => lower,
    }
}

impl FromStr for Constraint {
    type Err = ConstraintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Constraint::parse(s)
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.key, self.op.as_str(), self.value)
    }
}

/// `spread=node.labels.K`: spread tasks evenly over the values of a label before spreading
/// over nodes. Nodes without the label form one more group of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpreadPreference {
    /// Always a `NodeLabel` or `EngineLabel` key.
    pub key: ConstraintKey,
}

impl SpreadPreference {
    pub fn parse(expr: &str) -> Result<SpreadPreference, ConstraintError> {
        let bad = || ConstraintError::BadPreference {
            expr: expr.to_string(),
        };
        let (strategy, descriptor) = expr.split_once('=').ok_or_else(bad)?;
        if !strategy.trim().eq_ignore_ascii_case("spread") {
            return Err(bad());
        }
        let key = ConstraintKey::parse(descriptor.trim()).ok_or_else(bad)?;
        let named_label = matches!(&key,
            ConstraintKey::NodeLabel(k) | ConstraintKey::EngineLabel(k) if !k.trim().is_empty());
        if !named_label {
            return Err(bad());
        }
        Ok(SpreadPreference { key })
    }

    pub fn parse_all<S: AsRef<str>>(exprs: &[S]) -> Result<Vec<SpreadPreference>, ConstraintError> {
        exprs
            .iter()
            .map(|e| SpreadPreference::parse(e.as_ref()))
            .collect()
    }

    /// The node's label value, `None` when the node lacks the label.
    pub fn value_of<'a>(&self, node: &'a Node) -> Option<&'a str> {
        self.key.value_of(node)
    }
}

impl fmt::Display for SpreadPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spread={}", self.key)
    }
}

#[cfg(test)]
mod tests;
