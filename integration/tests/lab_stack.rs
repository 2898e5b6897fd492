//! Issue 16 on the three-node lab, with real containers: `swarmctl stack deploy` of a Compose
//! file with 4 services over two networks, a secret, a config, a named volume, an ingress port
//! and a host-mode port. It answers on every node, its services reach each other by name,
//! `stack services`/`ps` list it, a redeploy changes nothing, a changed image rolls only that
//! service, and `stack rm` leaves nothing behind.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(90);
const STACK: &str = "st";

const COMPOSE: &str = r#"
version: "3.8"
services:
  web:
    image: swarmd/whoami:latest
    environment:
      PORT: "80"
    ports:
      - "8088:80"
    networks: [front, back]
    deploy:
      replicas: 3
  api:
    image: swarmd/whoami:latest
    environment: [PORT=8080]
    networks: [back]
    secrets: [db_pw]
    configs:
      - source: app_conf
        target: /etc/app.conf
    deploy:
      replicas: 2
  db:
    image: ${DB_IMAGE:-swarmd/sleeper:latest}
    networks: [back]
    volumes:
      - dbdata:/data
    deploy:
      placement:
        constraints: [node.hostname==worker1]
  edge:
    image: swarmd/whoami:latest
    environment: [PORT=9090]
    ports:
      - target: 9090
        published: 9090
        mode: host
    networks: [front]
    deploy:
      mode: global
networks:
  front: {}
  back: {}
volumes:
  dbdata: {}
secrets:
  db_pw:
    file: ./db_pw.txt
configs:
  app_conf:
    file: ./app.conf
"#;

/// The stack's files in a directory of their own; the stack and the directory go when dropped.
struct Deployed<'a> {
    lab: &'a Lab,
    dir: PathBuf,
}

impl Drop for Deployed<'_> {
    fn drop(&mut self) {
        let _ = self.lab.ctl(&["stack", "rm", STACK]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Deployed<'_> {
    /// `stack deploy`, with `DB_IMAGE` set in the file's `.env` when given.
    fn deploy(&self, db_image: Option<&str>) -> Result<String> {
        let env = db_image
            .map(|i| format!("DB_IMAGE={i}\n"))
            .unwrap_or_default();
        std::fs::write(self.dir.join(".env"), env)?;
        let file = self.dir.join("docker-compose.yml");
        self.lab
            .show(&["stack", "deploy", "-c", &file.to_string_lossy(), STACK])
    }
}

fn write_files(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("docker-compose.yml"), COMPOSE)?;
    std::fs::write(dir.join("db_pw.txt"), "stack-secret")?;
    std::fs::write(dir.join("app.conf"), "mode stack\n")?;
    Ok(())
}

/// Task IDs of the stack's running tasks, by service.
fn task_ids(lab: &Lab, service: &str) -> Result<BTreeSet<String>> {
    Ok(lab
        .running_tasks(service)?
        .into_iter()
        .map(|t| t.task_id)
        .collect())
}

#[test]
fn lab_11_a_compose_stack_deploys_answers_redeploys_and_goes() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 16: stack deploy of a compose file");
    let dir = PathBuf::from(format!("/tmp/swl-stack-{}", std::process::id()));
    write_files(&dir)?;
    let _ = lab.ctl(&["stack", "rm", STACK]);
    let stack = Deployed { lab: &lab, dir };
    let out = stack.deploy(None)?;
    ensure!(
        out.contains("Creating service st_web") && out.contains("Creating network st_back"),
        "deploy said: {out}"
    );
    let webs = lab.wait_running("st_web", 3, CONVERGE)?;
    let apis = lab.wait_running("st_api", 2, CONVERGE)?;
    lab.wait_running("st_db", 1, CONVERGE)?;
    lab.wait_running("st_edge", 3, CONVERGE)?;
    lab.show(&["stack", "services", STACK])?;
    lab.show(&["stack", "ps", STACK])?;

    // The ingress port on every node, balanced over web's 3 tasks; the host-mode port on
    // every node (edge is global), keeping the client's address.
    lab.wait_mesh(&NODES.map(|(n, _)| n), 8088, 80, &webs, CONVERGE)?;
    for (node, ip) in NODES {
        let seen: BTreeSet<String> = lab
            .whoami_hits(ip, 8088, 6)?
            .into_iter()
            .map(|w| w.hostname)
            .collect();
        println!("client -> {node}:8088 x6 -> {seen:?}");
        ensure!(seen.len() == 3, "{node}:8088 reached {seen:?}");
        let edge = lab.whoami_hits(ip, 9090, 1)?.remove(0);
        ensure!(
            edge.remote.contains("192.168.56.100"),
            "{node}:9090 saw {} as the client",
            edge.remote
        );
    }

    // By name over the stack's networks, and the secret and config where the file says.
    let body = lab.exec_ok(
        &webs[0],
        &["timeout", "5", "wget", "-qO-", "http://api:8080/"],
    )?;
    let w = Whoami::parse(&body).context("web -> api")?;
    ensure!(w.hostname.starts_with("st_api."), "web reached {w:?}");
    let pw = lab.exec_ok(&apis[0], &["cat", "/run/secrets/db_pw"])?;
    let conf = lab.exec_ok(&apis[0], &["cat", "/etc/app.conf"])?;
    ensure!(
        pw == "stack-secret" && conf == "mode stack\n",
        "{pw:?} {conf:?}"
    );

    // The same file again: nothing changes.
    let before: Vec<_> = ["st_web", "st_api", "st_db", "st_edge"]
        .iter()
        .map(|s| task_ids(&lab, s))
        .collect::<Result<_>>()?;
    let out = stack.deploy(None)?;
    ensure!(!out.contains("Updating"), "a redeploy updated: {out}");
    std::thread::sleep(Duration::from_secs(2));
    let after: Vec<_> = ["st_web", "st_api", "st_db", "st_edge"]
        .iter()
        .map(|s| task_ids(&lab, s))
        .collect::<Result<_>>()?;
    ensure!(before == after, "a redeploy replaced tasks");

    // A changed image rolls that service only.
    let out = stack.deploy(Some("swarmd/whoami:latest"))?;
    ensure!(out.contains("Updating service st_db"), "{out}");
    wait_for("st_db on its new image", CONVERGE, || {
        let now = task_ids(&lab, "st_db")?;
        Ok(if now.len() == 1 && now != before[2] {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        })
    })?;
    for (s, idx) in [("st_web", 0), ("st_api", 1), ("st_edge", 3)] {
        ensure!(task_ids(&lab, s)? == before[idx], "{s} was touched");
    }

    // Gone, with its networks, secret and config.
    lab.show(&["stack", "rm", STACK])?;
    wait_for("nothing left of the stack", CONVERGE, || {
        let left: Vec<String> = [
            lab.ctl(&["service", "ls"])?,
            lab.ctl(&["network", "ls"])?,
            lab.ctl(&["secret", "ls"])?,
            lab.ctl(&["config", "ls"])?,
        ]
        .iter()
        .flat_map(|o| o.lines().filter(|l| l.contains("st_")).map(str::to_string))
        .collect();
        let services = lab.ctl(&["stack", "ls"])?;
        Ok(if left.is_empty() && !services.contains(STACK) {
            Ok(())
        } else {
            Err(format!("{left:?}"))
        })
    })?;
    let _ = lab.lab(
        &["docker", "worker1", "volume", "rm", "st_dbdata"],
        CONVERGE,
    );
    Ok(())
}
