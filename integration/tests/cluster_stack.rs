//! `swarmctl stack` against a real cluster: a compose file deployed as services, networks, a
//! secret and a config named and labelled as docker names them; redeploys that change only what
//! the file changed; `--prune`; the read verbs; `stack rm` leaving nothing of the stack and
//! nothing else touched; a bad file refused with its key and line, nothing created.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use integration::{Cluster, ServiceRow, TaskRow};
use serde_json::Value;

const RUN_TIMEOUT: Duration = Duration::from_secs(30);
const LABEL: &str = "com.docker.stack.namespace";

fn compose(web_image: &str, with_api: bool) -> String {
    let api = "  api:
    image: api:1
    depends_on:
      db:
        condition: service_started
    configs:
      - source: conf
        target: /etc/api.conf
    networks: [back]
";
    format!(
        "services:
{}  db:
    image: redis:7
    secrets: [pw]
    networks: [back]
  web:
    image: {web_image}
    ports:
      - \"30080:80\"
    deploy:
      replicas: 2
networks:
  back: {{}}
secrets:
  pw:
    file: ./pw.txt
configs:
  conf:
    file: ./api.conf
",
        if with_api { api } else { "" }
    )
}

fn write(dir: &Path, text: &str) -> String {
    let path = dir.join("stack.yml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn rows(cluster: &mut Cluster, args: &[&str]) -> Vec<Value> {
    let out = cluster.ctl(args).expect_ok();
    out.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
        .collect()
}

fn names(cluster: &mut Cluster, args: &[&str]) -> BTreeSet<String> {
    rows(cluster, args)
        .iter()
        .map(|r| r["Name"].as_str().unwrap().to_string())
        .collect()
}

fn running_ids(cluster: &Cluster, service: &str, n: usize) -> BTreeSet<String> {
    let tasks: Vec<TaskRow> = cluster.wait_running(service, n, RUN_TIMEOUT);
    tasks.into_iter().map(|t| t.id).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_stack_is_deployed_redeployed_pruned_listed_and_removed() {
    let mut cluster = Cluster::start(1, 0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw.txt"), "s3cret").unwrap();
    std::fs::write(dir.path().join("api.conf"), "debug = true").unwrap();
    cluster.ctl(&["network", "create", "outside"]).expect_ok();
    cluster.create_service("lone", &["nginx"]);

    let file = write(dir.path(), &compose("nginx:1", true));
    let out = cluster
        .ctl(&["stack", "deploy", "--detach=false", "-c", &file, "app"])
        .expect_ok();
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| !l.starts_with("Waiting"))
        .collect();
    assert_eq!(
        lines,
        [
            "Creating network app_back",
            "Creating network app_default",
            "Creating secret app_pw",
            "Creating config app_conf",
            "Creating service app_db",
            "Creating service app_api",
            "Creating service app_web",
        ],
        "{out}"
    );
    let nets = names(&mut cluster, &["network", "ls", "--format", "json"]);
    assert!(
        nets.is_superset(&set(&["app_back", "app_default", "outside"])),
        "{nets:?}"
    );
    let net = cluster.ctl(&["network", "inspect", "app_back"]).expect_ok();
    assert!(net.stdout.contains(LABEL), "{net}");
    let secrets = names(&mut cluster, &["secret", "ls", "--format", "json"]);
    assert_eq!(secrets, set(&["app_pw"]));
    let configs = names(&mut cluster, &["config", "ls", "--format", "json"]);
    assert_eq!(configs, set(&["app_conf"]));
    let api = cluster.ctl(&["service", "inspect", "app_api"]).expect_ok();
    assert!(
        api.stdout.contains(LABEL) && api.stdout.contains("app_conf"),
        "{api}"
    );
    let db = running_ids(&cluster, "app_db", 1);
    let api = running_ids(&cluster, "app_api", 1);
    let web = running_ids(&cluster, "app_web", 2);

    // The same file again: nothing is written, no task is replaced.
    let again = cluster
        .ctl(&["stack", "deploy", "-c", &file, "app"])
        .expect_ok();
    assert_eq!(again.stdout.trim(), "", "{again}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(running_ids(&cluster, "app_web", 2), web);
    assert_eq!(running_ids(&cluster, "app_db", 1), db);

    // One image changed: only that service is updated.
    let file = write(dir.path(), &compose("nginx:2", true));
    let out = cluster
        .ctl(&["stack", "deploy", "-c", &file, "app"])
        .expect_ok();
    assert_eq!(out.stdout.trim(), "Updating service app_web", "{out}");
    integration::wait_until("app_web on nginx:2", RUN_TIMEOUT, || {
        let rows = cluster.service_ps("app_web")?;
        let new: Vec<&TaskRow> = rows
            .iter()
            .filter(|t| t.is_running() && t.image == "nginx:2")
            .collect();
        match new.len() {
            2 => Ok(()),
            n => Err(format!("{n} running on nginx:2: {rows:?}")),
        }
    });
    assert!(running_ids(&cluster, "app_web", 2).is_disjoint(&web));
    assert_eq!(running_ids(&cluster, "app_db", 1), db);
    assert_eq!(running_ids(&cluster, "app_api", 1), api);

    // api leaves the file: --prune removes it.
    let file = write(dir.path(), &compose("nginx:2", false));
    let out = cluster
        .ctl(&["stack", "deploy", "--prune", "-c", &file, "app"])
        .expect_ok();
    assert_eq!(out.stdout.trim(), "Removing service app_api", "{out}");

    let stacks = rows(&mut cluster, &["stack", "ls", "--format", "json"]);
    assert_eq!(
        stacks,
        [serde_json::json!({"Name": "app", "Services": "2"})]
    );
    let out = cluster
        .ctl(&["stack", "services", "app", "--format", "json"])
        .expect_ok();
    let services: Vec<ServiceRow> = integration::listing::parse_rows(&out.stdout).unwrap();
    let summary: Vec<String> = services.iter().map(ServiceRow::spec_summary).collect();
    assert_eq!(
        summary,
        [
            "app_db replicated redis:7 1 ",
            "app_web replicated nginx:2 2 *:30080->80/tcp"
        ]
    );
    let out = cluster
        .ctl(&["stack", "ps", "app", "--format", "json"])
        .expect_ok();
    let tasks: Vec<TaskRow> = integration::listing::parse_rows(&out.stdout).unwrap();
    let running: BTreeSet<String> = tasks
        .iter()
        .filter(|t| t.is_running())
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(
        running,
        set(&["app_db.1", "app_web.1", "app_web.2"]),
        "{out}"
    );

    let out = cluster.ctl(&["stack", "rm", "app"]).expect_ok();
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "Removing service app_db",
            "Removing service app_web",
            "Removing secret app_pw",
            "Removing config app_conf",
            "Removing network app_back",
            "Removing network app_default",
        ],
        "{out}"
    );
    let services = names(&mut cluster, &["service", "ls", "--format", "json"]);
    assert_eq!(services, set(&["lone"]));
    let nets = names(&mut cluster, &["network", "ls", "--format", "json"]);
    assert!(
        nets.contains("outside") && !nets.iter().any(|n| n.starts_with("app_")),
        "{nets:?}"
    );
    assert!(names(&mut cluster, &["secret", "ls", "--format", "json"]).is_empty());
    assert!(names(&mut cluster, &["config", "ls", "--format", "json"]).is_empty());
    let out = cluster.ctl(&["stack", "rm", "app"]).expect_ok();
    assert_eq!(out.stdout.trim(), "Nothing found in stack: app");
}

#[test]
fn a_bad_file_names_the_key_and_line_and_creates_nothing() {
    let mut cluster = Cluster::start(1, 0);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "services:\n  web:\n    image: nginx\n    deploy:\n      replicas: two\n",
    );
    let out = cluster.ctl(&["stack", "deploy", "-c", &file, "bad"]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr.contains("services.web.deploy.replicas") && out.stderr.contains("line 5"),
        "{out}"
    );
    // An external network that does not exist: named, and nothing (not even the secret) made.
    std::fs::write(dir.path().join("pw.txt"), "x").unwrap();
    let file = write(
        dir.path(),
        "services:\n  web:\n    image: nginx\n    networks: [shared]\n    secrets: [pw]\n\
         networks:\n  shared:\n    external: true\nsecrets:\n  pw:\n    file: ./pw.txt\n",
    );
    let out = cluster.ctl(&["stack", "deploy", "-c", &file, "bad"]);
    assert!(
        !out.success() && out.stderr.contains("network shared"),
        "{out}"
    );
    assert!(names(&mut cluster, &["service", "ls", "--format", "json"]).is_empty());
    assert!(names(&mut cluster, &["secret", "ls", "--format", "json"]).is_empty());
    let nets = names(&mut cluster, &["network", "ls", "--format", "json"]);
    assert!(!nets.iter().any(|n| n.starts_with("bad_")), "{nets:?}");
    let stacks = cluster.ctl(&["stack", "ls"]).expect_ok();
    assert_eq!(stacks.stdout.trim(), "NAME      SERVICES");
}
