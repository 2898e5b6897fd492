use super::*;

/// Merges the YAML texts in order, as `load` does.
fn merged(files: &[&str]) -> Value {
    let mut out: Option<Value> = None;
    for text in files {
        let mut v: Value = serde_norway::from_str(text).unwrap();
        normalize_services(&mut v);
        match &mut out {
            None => out = Some(v),
            Some(base) => merge_files(base, v),
        }
    }
    out.unwrap()
}

fn yaml(text: &str) -> Value {
    let mut v: Value = serde_norway::from_str(text).unwrap();
    normalize_services(&mut v);
    v
}

#[test]
fn merges_as_the_compose_specification() {
    let table: &[(&str, &str, &str, &str)] = &[
        // (what, base, override, expected)
        ("later scalars win", "services: {web: {image: a, user: x}}", "services: {web: {image: b}}", "services: {web: {image: b, user: x}}"),
        ("new services are added", "services: {web: {image: a}}", "services: {db: {image: pg}}", "services: {web: {image: a}, db: {image: pg}}"),
        ("maps merge by key", "services: {web: {deploy: {replicas: 1, mode: replicated}}}", "services: {web: {deploy: {replicas: 3}}}", "services: {web: {deploy: {replicas: 3, mode: replicated}}}"),
        ("environment list and map merge", "services: {web: {environment: [A=1, B=2]}}", "services: {web: {environment: {B: '3', C: '4'}}}", "services: {web: {environment: {A: '1', B: '3', C: '4'}}}"),
        ("labels merge", "services: {web: {labels: {a: '1'}}}", "services: {web: {labels: [b=2]}}", "services: {web: {labels: {a: '1', b: '2'}}}"),
        ("deploy labels merge", "services: {web: {deploy: {labels: [a=1]}}}", "services: {web: {deploy: {labels: {a: '2'}}}}", "services: {web: {deploy: {labels: {a: '2'}}}}"),
        ("command is replaced", "services: {web: {command: [a, b]}}", "services: {web: {command: [c]}}", "services: {web: {command: [c]}}"),
        ("entrypoint is replaced", "services: {web: {entrypoint: [sh, -c]}}", "services: {web: {entrypoint: [bash]}}", "services: {web: {entrypoint: [bash]}}"),
        ("healthcheck test is replaced", "services: {web: {healthcheck: {test: [CMD, a], retries: 3}}}", "services: {web: {healthcheck: {test: [CMD, b]}}}", "services: {web: {healthcheck: {test: [CMD, b], retries: 3}}}"),
        ("volumes merge by target", "services: {web: {volumes: ['a:/data', 'b:/logs']}}", "services: {web: {volumes: ['c:/data', {type: tmpfs, target: /tmp}]}}", "services: {web: {volumes: ['c:/data', 'b:/logs', {type: tmpfs, target: /tmp}]}}"),
        ("secrets merge by source", "services: {web: {secrets: [pw, {source: key, target: k}]}}", "services: {web: {secrets: [{source: pw, mode: 0400}, key2]}}", "services: {web: {secrets: [{source: pw, mode: 0400}, {source: key, target: k}, key2]}}"),
        ("configs merge by source", "services: {web: {configs: [conf]}}", "services: {web: {configs: [{source: conf, target: /etc/c}]}}", "services: {web: {configs: [{source: conf, target: /etc/c}]}}"),
        ("equal ports merge, others are appended", "services: {web: {ports: ['8080:80', '443']}}", "services: {web: {ports: [{target: 80, published: 8080, mode: host}, '9090:90']}}", "services: {web: {ports: [{target: 80, published: 8080, mode: host}, '443', '9090:90']}}"),
        ("other lists append", "services: {web: {deploy: {placement: {constraints: [a]}}}}", "services: {web: {deploy: {placement: {constraints: [b]}}}}", "services: {web: {deploy: {placement: {constraints: [a, b]}}}}"),
        ("networks list and map merge", "services: {web: {networks: [front]}}", "services: {web: {networks: {back: {aliases: [api]}}}}", "services: {web: {networks: {front: null, back: {aliases: [api]}}}}"),
        ("top-level sections merge", "networks: {front: {driver: overlay}}", "networks: {front: {attachable: true}, back: {}}", "networks: {front: {driver: overlay, attachable: true}, back: {}}"),
    ];
    for (what, base, over, want) in table {
        assert_eq!(merged(&[base, over]), yaml(want), "{what}");
    }
}
