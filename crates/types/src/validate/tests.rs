use super::*;
use crate::service::{HealthCheck, PortProtocol};

fn valid() -> ServiceSpec {
    let mut spec = ServiceSpec {
        name: "web".into(),
        ..Default::default()
    };
    spec.task.container.image = "nginx:1.27".into();
    spec
}

fn port(target: u32, published: u32, mode: PublishMode, protocol: PortProtocol) -> PortConfig {
    PortConfig {
        protocol,
        target_port: target,
        published_port: published,
        publish_mode: mode,
    }
}

type Mutation = fn(&mut ServiceSpec);

/// Each case breaks one rule of an otherwise valid spec; the error must name the field and
/// carry the fix.
#[test]
fn each_rule_names_its_field_and_fix() {
    use PortProtocol::{Tcp, Udp};
    use PublishMode::{Host, Ingress};
    let cases: Vec<(Mutation, &str, &str)> = vec![
        (|s| s.name = String::new(), "spec.name", "empty"),
        (|s| s.name = "a".repeat(64), "spec.name", "use at most 63"),
        (
            |s| s.name = "web.1".into(),
            "spec.name",
            "use only letters, digits and `-` and `_`",
        ),
        (
            |s| s.name = "web_".into(),
            "spec.name",
            "starts or ends with `-` and `_`",
        ),
        (
            |s| s.name = "-web".into(),
            "spec.name",
            "starts or ends with `-`",
        ),
        (
            |s| s.name = "web-".into(),
            "spec.name",
            "starts or ends with `-`",
        ),
        (|s| s.name = "we b".into(), "spec.name", "use only letters"),
        (
            |s| {
                s.labels.insert(" ".into(), "x".into());
            },
            "spec.labels",
            "empty key",
        ),
        (
            |s| s.mode = ServiceMode::Replicated { replicas: 100_001 },
            "spec.mode.replicas",
            "oversized",
        ),
        (
            |s| s.task.container.image = String::new(),
            "spec.task.container.image",
            "empty",
        ),
        (
            |s| s.task.container.image = "nginx latest".into(),
            "spec.task.container.image",
            "whitespace",
        ),
        (
            |s| s.task.container.image = "Nginx".into(),
            "spec.task.container.image",
            "use lowercase",
        ),
        (
            |s| s.task.container.image = "library//nginx".into(),
            "spec.task.container.image",
            "empty path component",
        ),
        (
            |s| s.task.container.image = "nginx:".into(),
            "spec.task.container.image",
            "malformed tag",
        ),
        (
            |s| s.task.container.image = "nginx:-x".into(),
            "spec.task.container.image",
            "malformed tag",
        ),
        (
            |s| s.task.container.image = "nginx@sha256:zz".into(),
            "spec.task.container.image",
            "malformed digest",
        ),
        (
            |s| s.task.container.image = "-nginx".into(),
            "spec.task.container.image",
            "not a valid image reference",
        ),
        (
            |s| s.task.container.env = vec!["A=1".into(), "B".into()],
            "spec.task.container.env[1]",
            "`KEY=value`",
        ),
        (
            |s| s.task.container.env = vec!["=1".into()],
            "spec.task.container.env[0]",
            "empty name",
        ),
        (
            |s| {
                s.task.container.labels.insert(String::new(), "x".into());
            },
            "spec.task.container.labels",
            "empty key",
        ),
        (
            |s| s.task.container.stop_grace_period_ms = MAX_DURATION_MS + 1,
            "spec.task.container.stop_grace_period_ms",
            "oversized",
        ),
        (
            |s| {
                s.task.container.healthcheck = Some(HealthCheck {
                    test: vec!["curl".into()],
                    ..Default::default()
                })
            },
            "spec.task.container.healthcheck.test",
            "start with NONE, CMD or CMD-SHELL",
        ),
        (
            |s| {
                s.task.container.healthcheck = Some(HealthCheck {
                    test: vec!["CMD".into()],
                    ..Default::default()
                })
            },
            "spec.task.container.healthcheck.test",
            "needs a command",
        ),
        (
            |s| {
                s.task.container.healthcheck = Some(HealthCheck {
                    test: vec!["CMD-SHELL".into()],
                    ..Default::default()
                })
            },
            "spec.task.container.healthcheck.test",
            "exactly one",
        ),
        (
            |s| s.task.resources.reservations.nano_cpus = -1,
            "spec.task.resources.reservations.nano_cpus",
            "negative",
        ),
        (
            |s| s.task.resources.limits.memory_bytes = -1,
            "spec.task.resources.limits.memory_bytes",
            "negative",
        ),
        (
            |s| s.task.resources.pids_limit = -1,
            "spec.task.resources.pids_limit",
            "negative",
        ),
        (
            |s| {
                s.task.resources.limits.nano_cpus = 500_000_000;
                s.task.resources.reservations.nano_cpus = 1_000_000_000;
            },
            "spec.task.resources.reservations.nano_cpus",
            "reserve at most the limit",
        ),
        (
            |s| {
                s.task.resources.limits.memory_bytes = 1 << 20;
                s.task.resources.reservations.memory_bytes = 2 << 20;
            },
            "spec.task.resources.reservations.memory_bytes",
            "reserve at most the limit",
        ),
        (
            |s| s.task.restart.delay_ms = MAX_DURATION_MS + 1,
            "spec.task.restart.delay_ms",
            "oversized",
        ),
        (
            |s| {
                s.task.placement.constraints =
                    vec!["node.role==manager".into(), "node.rol==manager".into()]
            },
            "spec.task.placement.constraints[1]",
            "unknown key `node.rol`",
        ),
        (
            |s| s.task.placement.constraints = vec!["node.role=manager".into()],
            "spec.task.placement.constraints[0]",
            "expected `==` or `!=`",
        ),
        (
            |s| s.task.placement.preferences = vec!["spread=node.role".into()],
            "spec.task.placement.preferences[0]",
            "spread=node.labels.<key>",
        ),
        (
            |s| {
                s.mode = ServiceMode::Global;
                s.task.placement.max_replicas = 2;
            },
            "spec.task.placement.max_replicas",
            "replicated services only",
        ),
        (
            |s| s.update.parallelism = MAX_REPLICAS + 1,
            "spec.update.parallelism",
            "oversized",
        ),
        (
            |s| s.update.monitor_ms = MAX_DURATION_MS + 1,
            "spec.update.monitor_ms",
            "oversized",
        ),
        (
            |s| s.update.delay_ms = MAX_DURATION_MS + 1,
            "spec.update.delay_ms",
            "oversized",
        ),
        (
            |s| s.update.max_failure_ratio = 1.5,
            "spec.update.max_failure_ratio",
            "use 0 to 1",
        ),
        (
            |s| s.update.max_failure_ratio = f32::NAN,
            "spec.update.max_failure_ratio",
            "use 0 to 1",
        ),
        (
            |s| {
                s.rollback = Some(UpdateConfig {
                    monitor_ms: MAX_DURATION_MS + 1,
                    ..Default::default()
                })
            },
            "spec.rollback.monitor_ms",
            "oversized",
        ),
        (
            |s| s.endpoint.ports = vec![port(0, 80, Ingress, Tcp)],
            "spec.endpoint.ports[0].target_port",
            "use 1-65535",
        ),
        (
            |s| s.endpoint.ports = vec![port(70000, 80, Ingress, Tcp)],
            "spec.endpoint.ports[0].target_port",
            "70000 is out of range; use 1-65535",
        ),
        (
            |s| s.endpoint.ports = vec![port(80, 65536, Ingress, Tcp)],
            "spec.endpoint.ports[0].published_port",
            "use 0-65535",
        ),
        (
            |s| s.endpoint.ports = vec![port(80, 0, Host, Tcp)],
            "spec.endpoint.ports[0].published_port",
            "host-mode ports need a published port",
        ),
        (
            |s| s.endpoint.ports = vec![port(80, 8080, Ingress, Tcp), port(81, 8080, Host, Tcp)],
            "spec.endpoint.ports[1].published_port",
            "8080/tcp is published twice",
        ),
        (
            |s| s.endpoint.ports = vec![port(53, 53, Ingress, Udp), port(54, 53, Ingress, Udp)],
            "spec.endpoint.ports[1].published_port",
            "53/udp is published twice",
        ),
    ];
    assert!(validate_service_spec(&valid()).is_ok());
    for (i, (mutate, field, fix)) in cases.into_iter().enumerate() {
        let mut spec = valid();
        mutate(&mut spec);
        let err = validate_service_spec(&spec).expect_err(&format!("case {i} ({field}) passed"));
        assert_eq!(err.field, field, "case {i}: {err}");
        assert!(err.message.contains(fix), "case {i}: {err} lacks {fix:?}");
    }
}

#[test]
fn display_reads_like_the_user_sees_it() {
    let mut spec = valid();
    spec.endpoint.ports = vec![port(70000, 0, PublishMode::Ingress, PortProtocol::Tcp)];
    assert_eq!(
        validate_service_spec(&spec).unwrap_err().to_string(),
        "invalid spec.endpoint.ports[0].target_port: 70000 is out of range; use 1-65535"
    );
}

#[test]
fn accepts_what_docker_accepts() {
    let ok: Vec<Mutation> = vec![
        |s| s.name = "Web-1".into(),
        |s| s.name = "a".repeat(63),
        |s| s.mode = ServiceMode::Replicated { replicas: 0 },
        |s| s.mode = ServiceMode::Global,
        |s| s.task.container.image = "nginx".into(),
        |s| s.task.container.image = "library/nginx:1.27-alpine".into(),
        |s| s.task.container.image = "Registry.Example.com:5000/team/app:v1".into(),
        |s| s.task.container.image = "localhost/app_x/sub.mod".into(),
        |s| s.task.container.image = format!("nginx@sha256:{}", "a".repeat(64)),
        |s| s.task.container.image = format!("nginx:1@sha256:{}", "0".repeat(64)),
        |s| s.task.container.env = vec!["A=".into(), "B=x=y".into()],
        |s| s.task.container.healthcheck = Some(HealthCheck::default()),
        |s| {
            s.task.container.healthcheck = Some(HealthCheck {
                test: vec!["NONE".into()],
                ..Default::default()
            })
        },
        |s| {
            s.task.container.healthcheck = Some(HealthCheck {
                test: vec!["CMD-SHELL".into(), "curl -f localhost".into()],
                ..Default::default()
            })
        },
        |s| s.task.resources.reservations.memory_bytes = 1 << 30,
        |s| s.task.placement.constraints = vec!["node.labels.zone != b".into()],
        |s| s.task.placement.preferences = vec!["spread=node.labels.zone".into()],
        |s| s.task.placement.max_replicas = 2,
        |s| s.update.parallelism = 0,
        |s| {
            s.endpoint.ports = vec![
                port(80, 0, PublishMode::Ingress, PortProtocol::Tcp),
                port(81, 0, PublishMode::Ingress, PortProtocol::Tcp),
                port(53, 53, PublishMode::Ingress, PortProtocol::Tcp),
                port(53, 53, PublishMode::Ingress, PortProtocol::Udp),
                port(443, 8443, PublishMode::Host, PortProtocol::Tcp),
            ]
        },
    ];
    for (i, mutate) in ok.into_iter().enumerate() {
        let mut spec = valid();
        mutate(&mut spec);
        if let Err(e) = validate_service_spec(&spec) {
            panic!("case {i} rejected: {e}");
        }
    }
}

#[test]
fn node_spec_labels_need_keys() {
    let mut spec = NodeSpec::default();
    spec.labels.insert("zone".into(), "b".into());
    assert!(validate_node_spec(&spec).is_ok());
    spec.labels.insert(String::new(), "x".into());
    let err = validate_node_spec(&spec).unwrap_err();
    assert_eq!(err.field, "spec.labels");
    assert!(err.to_string().contains("`key=value`"), "{err}");
}
