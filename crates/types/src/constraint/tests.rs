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
fn expressions_admit_only_when_they_parse_and_match() {
    let n = node();
    assert!(Constraint::exprs_admit(&["node.labels.zone==b"], &n));
    assert!(!Constraint::exprs_admit(&["node.labels.zone!=b"], &n));
    assert!(Constraint::exprs_admit::<&str>(&[], &n));
    // A spec written around validation admits no node rather than every node.
    assert!(!Constraint::exprs_admit(&["bogus"], &n));
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
