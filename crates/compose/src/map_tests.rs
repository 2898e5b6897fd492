//! The mapping table: compose snippets → the spec fields they set.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use types::ServiceSpec;

use crate::load::{load_sources, Source};
use crate::{plan, ComposeError, StackPlan};

/// Plans `yaml` as the stack `st`, the file said to be in `/stacks`.
pub(crate) fn plan_yaml(yaml: &str) -> Result<StackPlan, ComposeError> {
    let source = Source {
        path: PathBuf::from("/stacks/docker-compose.yml"),
        text: yaml.to_string(),
    };
    let env = HashMap::from([("HOME_VAR".to_string(), "from-env".to_string())]);
    let project = load_sources(vec![source], &env, &BTreeMap::new())?;
    plan(&project, "st")
}

/// The spec of the only service `web`, declared with `service` (indented under it) and
/// `top` (top-level sections).
fn web(service: &str, top: &str) -> ServiceSpec {
    let indented: String = service.lines().map(|l| format!("    {l}\n")).collect();
    let yaml = format!("services:\n  web:\n    image: nginx\n{indented}{top}");
    let plan = plan_yaml(&yaml).unwrap_or_else(|e| panic!("{service}: {e}"));
    plan.services.into_iter().next().unwrap()
}

type Row = (
    &'static str,
    &'static str,
    fn(&ServiceSpec) -> String,
    &'static str,
);

const NETS: &str = "networks:\n  front:\n  back:\n";
const VOLS: &str = "volumes:\n  data:\n    driver: rexray\n    driver_opts: {size: '10'}\n  shared:\n    external: true\n  named:\n    name: exact-name\n";
const DATA: &str = "secrets:\n  pw:\n    external: true\nconfigs:\n  conf:\n    external: true\n    name: app-conf-v2\n";

#[rustfmt::skip]
const TABLE: &[Row] = &[
    ("command: echo 'hello world'", "", |s| format!("{:?}", s.task.container.args), r#"["echo", "hello world"]"#),
    ("command: [echo, hi]", "", |s| format!("{:?}", s.task.container.args), r#"["echo", "hi"]"#),
    ("entrypoint: /bin/sh -c", "", |s| format!("{:?}", s.task.container.command), r#"["/bin/sh", "-c"]"#),
    ("environment: [A=1, B=x=y, HOME_VAR, NOPE]", "", |s| format!("{:?}", s.task.container.env), r#"["A=1", "B=x=y", "HOME_VAR=from-env"]"#),
    ("environment: {A: 1, B: true, C: }", "", |s| format!("{:?}", s.task.container.env), r#"["A=1", "B=true"]"#),
    ("labels: [a=1]", "", |s| format!("{:?}", s.task.container.labels), r#"{"a": "1", "com.docker.stack.namespace": "st"}"#),
    ("hostname: h\nuser: '1000:1000'\nworking_dir: /app", "", |s| format!("{} {} {}", s.task.container.hostname, s.task.container.user, s.task.container.workdir), "h 1000:1000 /app"),
    ("stop_grace_period: 1m30s", "", |s| s.task.container.stop_grace_period_ms.to_string(), "90000"),
    ("healthcheck: {test: curl -f localhost, interval: 10s, timeout: 2s, retries: 3, start_period: 1m}", "", |s| format!("{:?}", s.task.container.healthcheck), r#"Some(HealthCheck { test: ["CMD-SHELL", "curl -f localhost"], interval_ms: 10000, timeout_ms: 2000, retries: 3, start_period_ms: 60000 })"#),
    ("healthcheck: {disable: true}", "", |s| format!("{:?}", s.task.container.healthcheck.as_ref().unwrap().test), r#"["NONE"]"#),
    ("ports: ['8080:80', '53:53/udp', 443]", "", |s| format!("{:?}", s.endpoint.ports.iter().map(|p| (p.published_port, p.target_port, p.protocol.as_str(), p.publish_mode.as_str())).collect::<Vec<_>>()), r#"[(8080, 80, "tcp", "ingress"), (53, 53, "udp", "ingress"), (0, 443, "tcp", "ingress")]"#),
    ("ports: ['8000-8001:80-81']", "", |s| format!("{:?}", s.endpoint.ports.iter().map(|p| (p.published_port, p.target_port)).collect::<Vec<_>>()), "[(8000, 80), (8001, 81)]"),
    ("ports: [{target: 80, published: 8080, protocol: udp, mode: host}]", "", |s| format!("{:?}", s.endpoint.ports), "[PortConfig { protocol: Udp, target_port: 80, published_port: 8080, publish_mode: Host }]"),
    ("networks: [front, back]", NETS, |s| format!("{:?}", s.task.networks), r#"[NetworkTarget { target: "st_back", aliases: ["web"] }, NetworkTarget { target: "st_front", aliases: ["web"] }]"#),
    ("networks: {front: {aliases: [api]}}", NETS, |s| format!("{:?}", s.task.networks), r#"[NetworkTarget { target: "st_front", aliases: ["api", "web"] }]"#),
    ("", "", |s| format!("{:?}", s.task.networks), r#"[NetworkTarget { target: "st_default", aliases: ["web"] }]"#),
    ("volumes: ['data:/var/lib:ro', 'shared:/shared', 'named:/n']", VOLS, |s| format!("{:?}", s.task.container.mounts.iter().map(|m| (m.kind.as_str(), m.source.as_str(), m.target.as_str(), m.readonly, m.volume_driver.as_str(), m.volume_options.len())).collect::<Vec<_>>()), r#"[("volume", "st_data", "/var/lib", true, "rexray", 1), ("volume", "shared", "/shared", false, "", 0), ("volume", "exact-name", "/n", false, "", 0)]"#),
    ("volumes: ['/etc/ssl:/ssl:ro', './conf:/conf', /anon]", "", |s| format!("{:?}", s.task.container.mounts.iter().map(|m| (m.kind.as_str(), m.source.as_str(), m.target.as_str(), m.readonly)).collect::<Vec<_>>()), r#"[("bind", "/etc/ssl", "/ssl", true), ("bind", "/stacks/conf", "/conf", false), ("volume", "", "/anon", false)]"#),
    ("volumes: [{type: tmpfs, target: /cache, tmpfs: {size: 64M, mode: 1770}}, {type: bind, source: /srv, target: /srv, read_only: true}]", "", |s| format!("{:?}", s.task.container.mounts.iter().map(|m| (m.kind.as_str(), m.source.as_str(), m.readonly, m.tmpfs_size_bytes, m.tmpfs_mode)).collect::<Vec<_>>()), r#"[("tmpfs", "", false, 67108864, 1016), ("bind", "/srv", true, 0, 0)]"#),
    ("secrets: [pw]\nconfigs: [conf]", DATA, |s| format!("{:?} {:?}", s.task.container.secrets, s.task.container.configs), r#"[DataReference { id: "pw", name: "pw", target: "pw", uid: "0", gid: "0", mode: 292 }] [DataReference { id: "app-conf-v2", name: "app-conf-v2", target: "/conf", uid: "0", gid: "0", mode: 292 }]"#),
    ("secrets: [{source: pw, target: db_pw, uid: '101', gid: '102', mode: 0400}]", DATA, |s| format!("{:?}", s.task.container.secrets), r#"[DataReference { id: "pw", name: "pw", target: "db_pw", uid: "101", gid: "102", mode: 256 }]"#),
    ("deploy: {mode: global}", "", |s| format!("{:?}", s.mode), "Global"),
    ("deploy: {replicas: 3}", "", |s| format!("{:?}", s.mode), "Replicated { replicas: 3 }"),
    ("deploy: {replicas: '5'}", "", |s| format!("{:?}", s.replicas()), "Some(5)"),
    ("deploy: {placement: {constraints: [node.role==manager], preferences: [{spread: node.labels.zone}], max_replicas_per_node: 2}}", "", |s| format!("{:?}", s.task.placement), r#"Placement { constraints: ["node.role==manager"], preferences: ["spread=node.labels.zone"], max_replicas: 2 }"#),
    ("deploy: {resources: {limits: {cpus: '0.5', memory: 512M, pids: 100}, reservations: {cpus: 0.25, memory: 1g}}}", "", |s| format!("{:?}", s.task.resources), "ResourceRequirements { limits: Resources { nano_cpus: 500000000, memory_bytes: 536870912 }, reservations: Resources { nano_cpus: 250000000, memory_bytes: 1073741824 }, pids_limit: 100 }"),
    ("deploy: {restart_policy: {condition: on-failure, delay: 10s, max_attempts: 3, window: 2m}}", "", |s| format!("{:?}", s.task.restart), "RestartPolicy { condition: OnFailure, delay_ms: 10000, max_attempts: 3, window_ms: 120000 }"),
    ("deploy: {update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.1, order: start-first}}", "", |s| format!("{:?}", s.update), "UpdateConfig { parallelism: 2, delay_ms: 10000, failure_action: Rollback, monitor_ms: 30000, max_failure_ratio: 0.1, order: StartFirst }"),
    ("deploy: {rollback_config: {parallelism: 0, order: stop-first}}", "", |s| format!("{:?}", s.rollback), "Some(UpdateConfig { parallelism: 0, delay_ms: 0, failure_action: Pause, monitor_ms: 5000, max_failure_ratio: 0.0, order: StopFirst })"),
    ("deploy: {labels: [tier=web]}", "", |s| format!("{:?}", s.labels), r#"{"com.docker.stack.namespace": "st", "tier": "web"}"#),
    ("deploy: {labels: {tier: web}, endpoint_mode: dnsrr}", "", |s| format!("{:?} {:?}", s.labels.get("tier"), s.endpoint.mode), r#"Some("web") Dnsrr"#),
    ("", "", |s| format!("{} {:?}", s.name, s.rollback), "st_web None"),
];

#[test]
fn mapping_table() {
    assert!(TABLE.len() >= 25);
    for (service, top, get, want) in TABLE {
        assert_eq!(get(&web(service, top)), *want, "{service}");
    }
}
