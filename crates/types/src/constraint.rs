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
mod tests {
    use super::*;
    use crate::node::NodeRole;

    fn node() -> Node {
        let mut n = Node {
            id: "n1abc".into(),
            role: NodeRole::Manager,
            ..Default::default()
        };
        n.description.hostname = "Worker-1".into();
        n.description.platform.os = "linux".into();
        n.description.platform.arch = "x86_64".into();
        n.spec.labels.insert("zone".into(), "b".into());
        n.description
            .engine_labels
            .insert("disk".into(), "ssd".into());
        n
    }

    #[test]
    fn parses_every_key_and_operator() {
        let cases = [
            ("node.id==n1", ConstraintKey::NodeId, Operator::Eq, "n1"),
            (
                " node.hostname != w1 ",
                ConstraintKey::NodeHostname,
                Operator::Ne,
                "w1",
            ),
            (
                "node.role == manager",
                ConstraintKey::NodeRole,
                Operator::Eq,
                "manager",
            ),
            (
                "NODE.ROLE==worker",
                ConstraintKey::NodeRole,
                Operator::Eq,
                "worker",
            ),
            (
                "node.labels.zone==b",
                ConstraintKey::NodeLabel("zone".into()),
                Operator::Eq,
                "b",
            ),
            (
                "node.labels.Zone.x!=a b",
                ConstraintKey::NodeLabel("Zone.x".into()),
                Operator::Ne,
                "a b",
            ),
            (
                "engine.labels.disk==ssd",
                ConstraintKey::EngineLabel("disk".into()),
                Operator::Eq,
                "ssd",
            ),
            (
                "node.platform.os==linux",
                ConstraintKey::PlatformOs,
                Operator::Eq,
                "linux",
            ),
            (
                "node.platform.arch!=arm64",
                ConstraintKey::PlatformArch,
                Operator::Ne,
                "arm64",
            ),
        ];
        for (expr, key, op, value) in cases {
            let c = Constraint::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!((c.key, c.op, c.value.as_str()), (key, op, value), "{expr}");
        }
    }

    #[test]
    fn errors_name_the_expression_and_the_fix() {
        let cases = [
            ("node.rol==manager", "constraint `node.rol==manager`: unknown key `node.rol` (expected node.id, node.hostname"),
            ("node.role=manager", "constraint `node.role=manager`: expected `==` or `!=`"),
            ("node.role", "expected `==` or `!=`"),
            ("node.role==", "missing value after `==`"),
            ("node.labels.==x", "`node.labels.` needs a label name"),
            ("engine.labels.!=x", "`engine.labels.` needs a label name"),
            ("node.role===manager", "value `=manager` contains `=`"),
            ("node.role==a!=b", "contains `=`, `!`"),
            ("==manager", "unknown key ``"),
        ];
        for (expr, want) in cases {
            let err = Constraint::parse(expr).unwrap_err().to_string();
            assert!(err.contains(want), "{expr}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn matches_nodes_like_swarmkit() {
        let n = node();
        let cases = [
            ("node.id==n1abc", true),
            ("node.id!=n1abc", false),
            ("node.hostname==worker-1", true),
            ("node.role==manager", true),
            ("node.role==MANAGER", true),
            ("node.role==worker", false),
            ("node.role!=worker", true),
            ("node.labels.zone==b", true),
            ("node.labels.zone==B", true),
            ("node.labels.zone!=b", false),
            ("node.labels.rack==r1", false),
            ("node.labels.rack!=r1", true),
            ("engine.labels.disk==ssd", true),
            ("engine.labels.zone==b", false),
            ("node.platform.os==Linux", true),
            ("node.platform.arch==amd64", true),
            ("node.platform.arch==x86_64", true),
            ("node.platform.arch!=arm64", true),
        ];
        for (expr, want) in cases {
            let c = Constraint::parse(expr).unwrap();
            assert_eq!(c.matches(&n), want, "{expr}");
        }
    }

    #[test]
    fn all_match_requires_every_constraint() {
        let n = node();
        let ok = Constraint::parse_all(&["node.role==manager", "node.labels.zone==b"]).unwrap();
        let no = Constraint::parse_all(&["node.role==manager", "node.labels.zone!=b"]).unwrap();
        assert!(Constraint::all_match(&ok, &n));
        assert!(!Constraint::all_match(&no, &n));
        assert!(Constraint::all_match(&[], &n));
        assert!(Constraint::parse_all(&["node.role==manager", "bogus"]).is_err());
    }

    #[test]
    fn display_round_trips() {
        for expr in [
            "node.labels.zone!=b",
            "engine.labels.disk==ssd",
            "node.role==manager",
        ] {
            assert_eq!(Constraint::parse(expr).unwrap().to_string(), expr);
        }
    }

    #[test]
    fn parses_spread_preferences() {
        let p = SpreadPreference::parse("spread=node.labels.zone").unwrap();
        assert_eq!(p.key, ConstraintKey::NodeLabel("zone".into()));
        assert_eq!(p.value_of(&node()), Some("b"));
        assert_eq!(p.to_string(), "spread=node.labels.zone");
        let p = SpreadPreference::parse(" spread = engine.labels.disk ").unwrap();
        assert_eq!(p.key, ConstraintKey::EngineLabel("disk".into()));
        let p = SpreadPreference::parse("spread=node.labels.rack").unwrap();
        assert_eq!(p.value_of(&node()), None);
        for bad in [
            "spread=node.role",
            "binpack=node.labels.zone",
            "spread",
            "spread=node.labels.",
            "spread=node.lbls.zone",
        ] {
            let err = SpreadPreference::parse(bad).unwrap_err().to_string();
            assert!(
                err.contains(bad) && err.contains("spread=node.labels.<key>"),
                "{bad}: {err}"
            );
        }
    }
}
