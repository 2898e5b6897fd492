//! Whole files through `load` and `plan`: `.env`, `env_file`, several files, errors with key
//! paths and lines, and a realistic stack.

use std::collections::HashMap;
use std::path::PathBuf;

use types::{NetworkSpec, PublishMode};

use crate::map_top::tests::plan_yaml;
use crate::{load, plan, ComposeError, Condition};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn error_of(yaml: &str) -> String {
    plan_yaml(yaml).unwrap_err().to_string()
}

#[test]
fn errors_name_the_key_and_the_line() {
    let replicas =
        "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: two\n";
    assert_eq!(
        error_of(replicas),
        r#"services.web.deploy.replicas: expected an integer, got "two" (line 6)"#
    );
    for (yaml, want) in [
        ("services:\n  web:\n    image: nginx\n    imagee: x\n", "services.web.imagee: unknown key; check its spelling against the compose file reference (line 4)"),
        ("services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n      - \"eighty\"\n", "services.web.ports[1]: `eighty` is not a port; write `8080:80`, `80` or `8080:80/udp` (line 6)"),
        ("services:\n  web:\n    image: nginx\n    deploy:\n      restart_policy:\n        condition: sometimes\n", "services.web.deploy.restart_policy.condition: `sometimes` is not one of none, on-failure, any (line 6)"),
        ("services:\n  web:\n    image: nginx\n    stop_grace_period: soon\n", "services.web.stop_grace_period: `soon` is not a duration; write it as `10s`, `1m30s` or `500ms` (line 4)"),
        ("services:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits:\n          memory: lots\n", "services.web.deploy.resources.limits.memory: `lots` is not a size; write it as `512M`, `1g` or a number of bytes (line 7)"),
        ("services:\n  web:\n    image: nginx\n    networks: [nowhere]\n", "services.web.networks.nowhere: network `nowhere` is not declared under the top-level `networks` (line 4)"),
        ("services:\n  web:\n    image: nginx\n    deploy:\n      mode: global\n      replicas: 2\n", "services.web.deploy.replicas: a global service runs one task per node; remove `replicas` or use mode: replicated (line 6)"),
        ("services:\n  web:\n    image: nginx\n    deploy: fast\n", r#"services.web.deploy: expected struct Deploy, got string "fast" (line 4)"#),
        ("version: '2.4'\nservices: {}\n", "version: `2.4` is a file format stacks do not read; use 3.x or remove `version` (line 1)"),
        ("services:\n  web:\n    depends_on: [db]\n", "services.web.depends_on.db: service `db` is not in the file (line 3)"),
    ] {
        assert_eq!(error_of(yaml), want, "{yaml}");
    }
    let syntax = error_of("services:\n  web:\n    image: [nginx\n");
    assert!(
        syntax.contains("line 4") || syntax.contains("line 3"),
        "{syntax}"
    );
}

#[test]
fn dotenv_beside_the_first_file_and_env_files() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir,
        ".env",
        "# defaults\nTAG=1.27\nREPLICAS='3'\nOVERRIDDEN=dotenv\n",
    );
    write(&dir, "app.env", "FROM_FILE=yes\nA=from-file\n");
    let file = write(
        &dir,
        "stack.yml",
        "services:\n  web:\n    image: nginx:${TAG}\n    env_file: app.env\n    environment: {A: inline, O: $OVERRIDDEN}\n    deploy:\n      replicas: ${REPLICAS}\n",
    );
    let env = HashMap::from([("OVERRIDDEN".to_string(), "caller".to_string())]);
    let plan = plan(&load(&[file], &env).unwrap(), "st").unwrap();
    let web = &plan.services[0];
    assert_eq!(web.task.container.image, "nginx:1.27");
    assert_eq!(web.replicas(), Some(3));
    assert_eq!(
        web.task.container.env,
        ["A=inline", "FROM_FILE=yes", "O=caller"]
    );
}

#[test]
fn several_files_merge_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(&dir, "base.yml", "services:\n  web:\n    image: nginx\n    command: [a]\n    environment: [A=1]\n    ports: ['8080:80']\n");
    let prod = write(&dir, "prod.yml", "services:\n  web:\n    command: [b]\n    environment: {B: '2'}\n    ports: ['9090:90']\n    deploy: {replicas: 4}\n");
    let plan = plan(
        &load(&[base.clone(), prod.clone()], &HashMap::new()).unwrap(),
        "st",
    )
    .unwrap();
    let web = &plan.services[0];
    assert_eq!(web.task.container.args, ["b"]);
    assert_eq!(web.task.container.env, ["A=1", "B=2"]);
    assert_eq!(web.endpoint.ports.len(), 2);
    assert_eq!(web.replicas(), Some(4));
    let bad = write(
        &dir,
        "bad.yml",
        "services:\n  web:\n    deploy:\n      replicas: many\n",
    );
    let err = load(&[base, bad.clone()], &HashMap::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "services.web.deploy.replicas: expected an integer, got \"many\" ({} line 4)",
            bad.display()
        )
    );
    let missing = load(&[dir.path().join("nope.yml")], &HashMap::new()).unwrap_err();
    assert!(matches!(missing, ComposeError::Read { .. }));
}

#[test]
fn a_realistic_stack() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir, "db_password.txt", "hunter2");
    write(&dir, "nginx.conf", "server {}");
    let file = write(
        &dir,
        "docker-compose.yml",
        r#"version: "3.8"
services:
  proxy:
    image: nginx:1.27
    ports:
      - "80:80"
      - target: 443
        published: 443
        mode: host
    configs:
      - source: nginx_conf
        target: /etc/nginx/nginx.conf
    networks: [front]
    depends_on: [api]
    build: .
    container_name: proxy
  api:
    image: example/api:2
    networks:
      front:
      back:
        aliases: [backend]
    secrets: [db_password]
    depends_on:
      db:
        condition: service_healthy
    deploy:
      replicas: 3
      update_config: {parallelism: 1, order: start-first}
  db:
    image: postgres:16
    volumes: ["db-data:/var/lib/postgresql/data"]
    networks: [back]
    secrets: [db_password]
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 5s
    deploy:
      placement:
        constraints: [node.labels.db==true]
  worker:
    image: example/worker:2
    links: [db]
    restart: always
    deploy:
      mode: global
networks:
  front:
  back:
    driver: overlay
    attachable: true
    internal: true
    ipam:
      config: [{subnet: 10.20.0.0/24}]
  unused:
volumes:
  db-data:
secrets:
  db_password:
    file: ./db_password.txt
configs:
  nginx_conf:
    file: nginx.conf
"#,
    );
    let plan = plan(&load(&[file], &HashMap::new()).unwrap(), "shop").unwrap();
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["shop_api", "shop_db", "shop_proxy", "shop_worker"]);
    let networks: Vec<&str> = plan.networks.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        networks,
        ["shop_back", "shop_default", "shop_front"],
        "unused networks are not created"
    );
    let back: &NetworkSpec = &plan.networks[0];
    assert!(
        back.attachable
            && back.internal
            && back.subnet == "10.20.0.0/24"
            && back.driver == "overlay"
    );
    assert_eq!(
        back.labels
            .get("com.docker.stack.namespace")
            .map(String::as_str),
        Some("shop")
    );
    assert_eq!(plan.secrets.len(), 1);
    assert_eq!(
        (
            plan.secrets[0].name.as_str(),
            plan.secrets[0].data.as_slice()
        ),
        ("shop_db_password", &b"hunter2"[..])
    );
    assert_eq!(
        (
            plan.configs[0].name.as_str(),
            plan.configs[0].data.as_slice()
        ),
        ("shop_nginx_conf", &b"server {}"[..])
    );
    assert!(plan.external_networks.is_empty() && plan.external_secrets.is_empty());
    assert_eq!(
        plan.ignored,
        ["build", "container_name", "links", "restart"]
    );
    assert_eq!(
        plan.depends_on.get("shop_api"),
        Some(&vec![("shop_db".to_string(), Condition::Healthy)])
    );
    assert_eq!(
        plan.depends_on.get("shop_proxy"),
        Some(&vec![("shop_api".to_string(), Condition::Started)])
    );
    let [api, db, proxy, worker] = &plan.services[..] else {
        panic!()
    };
    assert_eq!(api.replicas(), Some(3));
    assert_eq!(api.task.networks[0].aliases, ["backend", "api"]);
    assert_eq!(
        api.task.container.secrets[0].container_path(types::DataKind::Secret),
        "/run/secrets/db_password"
    );
    assert_eq!(db.task.container.mounts[0].source, "shop_db-data");
    assert_eq!(db.task.placement.constraints, ["node.labels.db==true"]);
    let modes: Vec<(u32, PublishMode)> = proxy
        .endpoint
        .ports
        .iter()
        .map(|p| (p.published_port, p.publish_mode))
        .collect();
    assert_eq!(
        modes,
        [(80, PublishMode::Ingress), (443, PublishMode::Host)]
    );
    assert_eq!(
        proxy.task.container.configs[0].target,
        "/etc/nginx/nginx.conf"
    );
    assert_eq!(
        proxy
            .task
            .container
            .labels
            .get("com.docker.stack.namespace")
            .map(String::as_str),
        Some("shop")
    );
    assert_eq!(worker.mode, types::ServiceMode::Global);
    assert_eq!(worker.task.networks[0].target, "shop_default");
}
