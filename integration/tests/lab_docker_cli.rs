//! Issue 17 on the three-node lab: the real docker CLI (the one first on PATH) pointed at
//! swarmd's Engine API socket (`DOCKER_HOST=unix://STATE_DIR/docker.sock`, `lab.sh dockerapi`)
//! runs the swarm commands a Docker user runs, against real containers, and the answers are
//! read from docker's own output columns.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(90);

/// Lines of a `--format` output.
fn lines(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Removes what a test made through docker, whatever happened to the test.
struct Cleanup<'a> {
    lab: &'a Lab,
    args: Vec<Vec<&'static str>>,
    dir: Option<PathBuf>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for args in &self.args {
            let _ = self.lab.docker(args);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn lab_12_the_docker_cli_runs_a_service_on_swarmd() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 17: docker service/node/swarm against swarmd");
    let _clean = Cleanup {
        lab: &lab,
        args: vec![vec!["service", "rm", "dweb"]],
        dir: None,
    };
    let _ = lab.docker(&["service", "rm", "dweb"]);

    let api = lab.docker_ok(&["version", "--format", "{{.Server.APIVersion}}"])?;
    ensure!(api.trim() == "1.50", "server API version {api}");
    let info = lab.docker_ok(&[
        "info",
        "--format",
        "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}} {{.Swarm.Managers}}",
    ])?;
    ensure!(info.trim() == "active true 3 1", "docker info: {info}");

    // Nodes: the leader marked, `self` resolved through /info, labels written back.
    let nodes = lines(&lab.docker_ok(&[
        "node",
        "ls",
        "--format",
        "{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}} {{.Self}}",
    ])?);
    lab.docker_ok(&["node", "ls"])?;
    ensure!(
        nodes.contains(&"manager Ready Active Leader true".to_string())
            && nodes.contains(&"worker1 Ready Active  false".to_string())
            && nodes.len() == 3,
        "node ls: {nodes:?}"
    );
    let me = lab.docker_ok(&[
        "node",
        "inspect",
        "self",
        "--format",
        "{{.Description.Hostname}}",
    ])?;
    ensure!(me.trim() == "manager", "node inspect self: {me}");
    lab.docker_ok(&["node", "update", "--label-add", "dcli=yes", "worker1"])?;
    let label = lab.docker_ok(&[
        "node",
        "inspect",
        "worker1",
        "--format",
        "{{index .Spec.Labels \"dcli\"}}",
    ])?;
    ensure!(label.trim() == "yes", "label: {label}");
    lab.docker_ok(&["node", "update", "--label-rm", "dcli", "worker1"])?;

    // A replicated service with a published port, followed by docker's own progress.
    let out = lab.docker(&[
        "service",
        "create",
        "--name",
        "dweb",
        "--replicas",
        "3",
        "-p",
        "8089:80",
        "-e",
        "PORT=80",
        "swarmd/whoami:latest",
    ])?;
    ensure!(
        out.ok() && out.both().contains("converged"),
        "service create: {}",
        out.both()
    );
    let ls = lab.docker_ok(&[
        "service",
        "ls",
        "--format",
        "{{.Name}} {{.Mode}} {{.Replicas}} {{.Ports}}",
    ])?;
    ensure!(
        lines(&ls).contains(&"dweb replicated 3/3 *:8089->80/tcp".to_string()),
        "service ls: {ls}"
    );
    lab.docker_ok(&["service", "ps", "dweb"])?;
    let ps = lines(&lab.docker_ok(&[
        "service",
        "ps",
        "dweb",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Name}} {{.Node}} {{.CurrentState}}",
    ])?);
    let on: BTreeSet<&str> = ps.iter().filter_map(|l| l.split(' ').nth(1)).collect();
    ensure!(
        ps.len() == 3 && ps.iter().all(|l| l.contains(" Running ")) && on.len() == 3,
        "service ps: {ps:?}"
    );
    let replicas = lab.wait_running("dweb", 3, CONVERGE)?;
    lab.wait_mesh(&NODES.map(|(n, _)| n), 8089, 80, &replicas, CONVERGE)?;
    for (node, ip) in NODES {
        let seen: BTreeSet<String> = lab
            .whoami_hits(ip, 8089, 6)?
            .into_iter()
            .map(|w| w.hostname)
            .collect();
        ensure!(seen.len() == 3, "{node}:8089 reached {seen:?}");
    }

    // Scale, update, rollback: each waits for docker's "converged".
    for args in [
        vec!["service", "scale", "dweb=5"],
        vec!["service", "update", "--env-add", "STAGE=two", "dweb"],
        vec!["service", "rollback", "dweb"],
    ] {
        let out = lab.docker(&args)?;
        ensure!(
            out.ok() && out.both().contains("converged"),
            "{args:?}: {}",
            out.both()
        );
    }
    let env = lab.docker_ok(&[
        "service",
        "inspect",
        "dweb",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Env}} {{.Spec.Mode.Replicated.Replicas}} {{.UpdateStatus.State}}",
    ])?;
    ensure!(
        env.trim() == "[PORT=80] 5 rollback_completed",
        "after the rollback: {env}"
    );
    lab.wait_running("dweb", 5, CONVERGE)?;
    lab.docker_ok(&["service", "logs", "--tail", "3", "dweb"])?;

    // Bad input: docker's error, nothing changed.
    let bad = lab.docker(&[
        "service",
        "create",
        "--name",
        "bad name",
        "swarmd/whoami:latest",
    ])?;
    ensure!(
        !bad.ok() && bad.stderr.contains("Error response from daemon"),
        "a bad name: {}",
        bad.both()
    );
    let none = lab.docker(&["service", "inspect", "nosuch"])?;
    ensure!(
        !none.ok() && none.stderr.contains("no such service: nosuch"),
        "inspect nosuch: {}",
        none.both()
    );
    let names = lab.docker_ok(&["service", "ls", "--format", "{{.Name}}"])?;
    ensure!(lines(&names) == ["dweb"], "services: {names}");

    // One DOCKER_HOST for both: container routes go to the manager's own engine.
    let containers = lab.docker_ok(&["ps", "--format", "{{.Image}}"])?;
    ensure!(
        containers.contains("swarmd/whoami"),
        "docker ps through swarmd: {containers}"
    );
    let token = lab.docker_ok(&["swarm", "join-token", "worker"])?;
    ensure!(
        token.contains("docker swarm join --token SWMTKN-") && token.contains("192.168.56.10:"),
        "join-token: {token}"
    );
    // Workers answer swarm routes with docker's text; their containers are still served.
    let worker = lab.lab(&["dockerapi", "worker1", "service", "ls"], CONVERGE)?;
    ensure!(
        !worker.ok() && worker.stderr.contains("This node is not a swarm manager"),
        "service ls on a worker: {}",
        worker.both()
    );
    lab.lab_ok(&["dockerapi", "worker1", "ps"], CONVERGE)?;

    lab.docker_ok(&["service", "rm", "dweb"])?;
    wait_for("dweb gone", CONVERGE, || {
        let left = lab.ctl(&["service", "ls"])?;
        Ok(if left.contains("dweb") {
            Err(left)
        } else {
            Ok(())
        })
    })?;
    Ok(())
}

const COMPOSE: &str = r#"
version: "3.8"
services:
  web:
    image: swarmd/whoami:latest
    environment: [PORT=80]
    ports: ["8090:80"]
    networks: [front, back]
    deploy:
      replicas: 2
  api:
    image: swarmd/whoami:latest
    environment: [PORT=8080]
    networks: [back]
    secrets: [pw]
networks:
  front: {}
  back: {}
secrets:
  pw:
    file: ./pw.txt
"#;

#[test]
fn lab_13_docker_stack_deploy_networks_secrets_and_configs_on_swarmd() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 17: docker network/secret/config/stack against swarmd");
    let dir = PathBuf::from(format!("/tmp/swl-dcli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let _clean = Cleanup {
        lab: &lab,
        args: vec![
            vec!["stack", "rm", "dst"],
            vec!["network", "rm", "dnet"],
            vec!["secret", "rm", "dsec"],
            vec!["config", "rm", "dconf"],
        ],
        dir: Some(dir.clone()),
    };
    let file = |name: &str, body: &str| -> Result<String> {
        let path = dir.join(name);
        std::fs::write(&path, body)?;
        Ok(path.to_string_lossy().into_owned())
    };

    lab.docker_ok(&["network", "create", "-d", "overlay", "dnet"])?;
    let nets = lab.docker_ok(&[
        "network",
        "ls",
        "--filter",
        "name=dnet",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ])?;
    ensure!(lines(&nets) == ["dnet overlay swarm"], "network ls: {nets}");
    let subnet = lab.docker_ok(&[
        "network",
        "inspect",
        "dnet",
        "--format",
        "{{(index .IPAM.Config 0).Subnet}}",
    ])?;
    ensure!(subnet.trim().contains('/'), "subnet: {subnet}");
    let again = lab.docker(&["network", "create", "-d", "overlay", "dnet"])?;
    ensure!(
        !again.ok() && again.stderr.contains("already exists"),
        "{}",
        again.both()
    );
    lab.docker_ok(&["network", "rm", "dnet"])?;

    lab.docker_ok(&["secret", "create", "dsec", &file("s.txt", "hunter2")?])?;
    lab.docker_ok(&[
        "config",
        "create",
        "dconf",
        &file("c.txt", "mode docker\n")?,
    ])?;
    let secrets = lab.docker_ok(&["secret", "ls", "--format", "{{.Name}}"])?;
    ensure!(
        lines(&secrets).contains(&"dsec".to_string()),
        "secret ls: {secrets}"
    );
    let data = lab.docker_ok(&["secret", "inspect", "dsec", "--format", "{{.Spec.Data}}"])?;
    ensure!(
        !data.contains("hunter2") && data.trim() == "[]",
        "a secret's data came back: {data}"
    );
    let conf = lab.docker_ok(&["config", "inspect", "--pretty", "dconf"])?;
    ensure!(conf.contains("mode docker"), "config inspect: {conf}");
    lab.docker_ok(&["secret", "rm", "dsec"])?;
    lab.docker_ok(&["config", "rm", "dconf"])?;

    // A stack from a Compose file: docker parses it, swarmd runs it.
    file("pw.txt", "stack-pw")?;
    let compose = file("docker-compose.yml", COMPOSE)?;
    lab.docker_ok(&["stack", "deploy", "--detach=false", "-c", &compose, "dst"])?;
    let stacks = lab.docker_ok(&["stack", "ls", "--format", "{{.Name}} {{.Services}}"])?;
    ensure!(
        lines(&stacks).contains(&"dst 2".to_string()),
        "stack ls: {stacks}"
    );
    let services = lines(&lab.docker_ok(&[
        "stack",
        "services",
        "dst",
        "--format",
        "{{.Name}} {{.Replicas}}",
    ])?);
    ensure!(
        services == ["dst_api 1/1", "dst_web 2/2"],
        "stack services: {services:?}"
    );
    let ps = lines(&lab.docker_ok(&[
        "stack",
        "ps",
        "dst",
        "--format",
        "{{.Name}} {{.CurrentState}}",
    ])?);
    ensure!(
        ps.len() == 3 && ps.iter().all(|l| l.contains("Running")),
        "stack ps: {ps:?}"
    );
    let webs = lab.wait_running("dst_web", 2, CONVERGE)?;
    let apis = lab.wait_running("dst_api", 1, CONVERGE)?;
    lab.wait_mesh(&NODES.map(|(n, _)| n), 8090, 80, &webs, CONVERGE)?;
    for (_, ip) in NODES {
        lab.whoami_hits(ip, 8090, 2)?;
    }
    let body = lab.exec_ok(
        &webs[0],
        &["timeout", "5", "wget", "-qO-", "http://api:8080/"],
    )?;
    let w = Whoami::parse(&body).context("web -> api by name")?;
    ensure!(w.hostname.starts_with("dst_api."), "web reached {w:?}");
    let pw = lab.exec_ok(&apis[0], &["cat", "/run/secrets/pw"])?;
    ensure!(pw == "stack-pw", "secret in the task: {pw:?}");

    lab.docker_ok(&["stack", "rm", "dst"])?;
    wait_for("nothing left of the stack", CONVERGE, || {
        let left: Vec<String> = [
            lab.ctl(&["service", "ls"])?,
            lab.ctl(&["network", "ls"])?,
            lab.ctl(&["secret", "ls"])?,
        ]
        .iter()
        .flat_map(|o| o.lines().filter(|l| l.contains("dst_")).map(str::to_string))
        .collect();
        Ok(if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{left:?}"))
        })
    })?;
    Ok(())
}
