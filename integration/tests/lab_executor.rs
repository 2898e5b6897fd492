//! Issue 4 end to end: swarmd running real containers on the lab's private dockerds — labels
//! and limits, a killed container failing its task and being replaced, scale to zero removing
//! containers, an unknown image rejected, and logs of every replica through the managers.
//! (Adoption across a swarmd restart is `fault_lab_restart.rs`.)
//!
//! Root only; run with the other lab tests, one at a time (the `lab` nextest group).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(30);

/// The container of a task on its node's engine, by the label swarmd puts on it.
fn container_of(lab: &Lab, node: &str, task_id: &str) -> Result<String> {
    let filter = format!("label=com.swarmd.task.id={task_id}");
    let out = lab.lab_ok(
        &[
            "docker",
            node,
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &filter,
        ],
        Duration::from_secs(20),
    )?;
    let id = out.stdout.trim().to_string();
    ensure!(!id.is_empty(), "no container for task {task_id} on {node}");
    Ok(id)
}

fn inspect(lab: &Lab, node: &str, container: &str, format: &str) -> Result<String> {
    let out = lab.lab_ok(
        &["docker", node, "inspect", "-f", format, container],
        Duration::from_secs(20),
    )?;
    Ok(out.stdout.trim().to_string())
}

/// Containers of a service on every node's engine, running or not.
fn containers_of_service(lab: &Lab, service: &str) -> Result<usize> {
    let filter = format!("label=com.swarmd.service.name={service}");
    let mut n = 0;
    for (node, _) in NODES {
        let out = lab.lab_ok(
            &["docker", node, "ps", "-aq", "--filter", &filter],
            Duration::from_secs(20),
        )?;
        n += out.stdout.split_whitespace().count();
    }
    Ok(n)
}

#[test]
fn lab_exec_labels_limits_kill_replacement_and_scale_to_zero() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("executor: labels, limits, kill, scale to 0");
    lab.create_service(
        "exec-sleep",
        &[
            "--replicas",
            "2",
            "--limit-memory",
            "64M",
            "swarmd/sleeper:latest",
        ],
    )?;
    let tasks = lab.wait_running("exec-sleep", 2, CONVERGE)?;
    for t in &tasks {
        let c = container_of(&lab, &t.node, &t.task_id)?;
        let labels = inspect(&lab, &t.node, &c, "{{json .Config.Labels}}")?;
        for want in [
            format!("\"com.swarmd.task.id\":\"{}\"", t.task_id),
            "\"com.swarmd.service.name\":\"exec-sleep\"".to_string(),
        ] {
            ensure!(labels.contains(&want), "{} lacks {want}: {labels}", t.name);
        }
        let memory = inspect(&lab, &t.node, &c, "{{.HostConfig.Memory}}")?;
        ensure!(
            memory == (64 << 20).to_string(),
            "{}: memory limit {memory}",
            t.name
        );
        let network = inspect(&lab, &t.node, &c, "{{.HostConfig.NetworkMode}}")?;
        ensure!(network == "none", "{}: network mode {network}", t.name);
        let restart = inspect(&lab, &t.node, &c, "{{.HostConfig.RestartPolicy.Name}}")?;
        ensure!(
            restart == "no",
            "{}: docker restart policy {restart}",
            t.name
        );
    }

    // docker kill: the task fails with the exit code, and the orchestrator replaces it.
    let victim = &tasks[0];
    let c = container_of(&lab, &victim.node, &victim.task_id)?;
    lab.lab_ok(
        &["docker", &victim.node, "kill", &c],
        Duration::from_secs(20),
    )?;
    wait_for(
        "the killed task to be Failed with its exit code",
        CONVERGE,
        || {
            let ps = lab.ps_all("exec-sleep")?;
            let t = ps.iter().find(|t| t.id == victim.task_id);
            Ok(match t {
                Some(t) if t.current_state.starts_with("Failed") && t.error.contains("137") => {
                    Ok(())
                }
                Some(t) => Err(format!("{} {} {}", t.name, t.current_state, t.error)),
                None => Err(format!("task {} not listed: {ps:?}", victim.task_id)),
            })
        },
    )?;
    let after = lab.wait_running("exec-sleep", 2, CONVERGE)?;
    ensure!(
        !after.iter().any(|t| t.task_id == victim.task_id),
        "the killed task still counts as running: {after:?}"
    );

    // Scale to zero: every container of the service goes away.
    lab.ctl(&["service", "scale", "exec-sleep=0"])?;
    wait_for("the service's containers to be removed", CONVERGE, || {
        let n = containers_of_service(&lab, "exec-sleep")?;
        Ok(if n == 0 {
            Ok(())
        } else {
            Err(format!("{n} containers left"))
        })
    })?;
    Ok(())
}

#[test]
fn lab_exec_unknown_image_is_rejected_with_the_engines_message() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("executor: unknown image");
    lab.ctl(&[
        "service",
        "create",
        "--detach",
        "--name",
        "exec-missing",
        "swarmd/no-such-image:1",
    ])
    .context("create is accepted: the image is only known to be missing on a node")?;
    lab.remember_service("exec-missing");
    // dockerd retries a failed pull for ~10 s before it gives up.
    wait_for(
        "a Rejected task naming the image",
        Duration::from_secs(60),
        || {
            let ps = lab.ps_all("exec-missing")?;
            Ok(
                match ps.iter().find(|t| t.current_state.starts_with("Rejected")) {
                    Some(t) if t.error.contains("No such image") => Ok(()),
                    Some(t) => Err(format!(
                        "rejected without the engine's message: {}",
                        t.error
                    )),
                    None => Err(format!("{ps:?}")),
                },
            )
        },
    )?;
    Ok(())
}

#[test]
fn lab_exec_logs_of_every_replica_arrive_through_the_managers() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("executor: service logs");
    let script = "echo hello-from-$(hostname); trap 'exit 0' TERM; while :; do sleep 1; done";
    lab.create_service(
        "exec-logs",
        &[
            "--replicas",
            "2",
            "swarmd/sleeper:latest",
            "/bin/sh",
            "-c",
            script,
        ],
    )?;
    let tasks = lab.wait_running("exec-logs", 2, CONVERGE)?;
    wait_for("a log line from each replica", CONVERGE, || {
        let logs = lab.ctl(&["service", "logs", "exec-logs"])?;
        let missing: Vec<_> = tasks
            .iter()
            .filter(|t| !logs.contains(&format!("hello-from-{}", t.name)))
            .map(|t| t.name.clone())
            .collect();
        // Lines carry docker's prefix: name.slot.taskid@node | line.
        let prefixed = logs.lines().all(|l| l.contains('@') && l.contains(" | "));
        Ok(if missing.is_empty() && prefixed {
            Ok(())
        } else {
            Err(format!(
                "missing {missing:?} or unprefixed lines in:\n{logs}"
            ))
        })
    })?;
    Ok(())
}

/// Kills the listener when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_exec_host_mode_port_held_by_a_process_is_rejected() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("executor: host-mode port already in use");
    // nsenter execs the listener itself, so the child's PID is the listener's.
    let _listener = KillOnDrop(
        std::process::Command::new("nsenter")
            .args([
                "--net=/run/netns/swl-manager",
                "busybox",
                "nc",
                "-l",
                "-p",
                "9999",
            ])
            .spawn()
            .context("starting a listener on the manager")?,
    );
    std::thread::sleep(Duration::from_millis(300));
    lab.ctl(&[
        "service",
        "create",
        "--detach",
        "--name",
        "exec-hostport",
        "--constraint",
        "node.role==manager",
        "--publish",
        "mode=host,published=9999,target=80",
        "swarmd/whoami:latest",
    ])?;
    lab.remember_service("exec-hostport");
    wait_for("a Rejected task naming the port", CONVERGE, || {
        let ps = lab.ps_all("exec-hostport")?;
        Ok(
            match ps.iter().find(|t| t.current_state.starts_with("Rejected")) {
                Some(t) if t.error.contains("9999/tcp is already in use") => Ok(()),
                Some(t) => Err(format!("rejected for another reason: {}", t.error)),
                None => Err(format!("{ps:?}")),
            },
        )
    })?;
    Ok(())
}

/// Issue 12: a node whose dockerd stops stays Ready (its swarmd heartbeats on), shows
/// `Ready (no engine)` and gets no new task; once dockerd is back the agent picks it up and
/// the node takes tasks again.
#[test]
fn lab_exec_a_node_without_its_engine_stays_ready_and_takes_tasks_once_it_is_back() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("executor: engine stopped and started under swarmd");
    let row = |ls: &str| {
        ls.lines()
            .find(|l| l.split_whitespace().any(|w| w == "worker2"))
            .unwrap_or_default()
            .to_string()
    };
    let engine_back =
        |lab: &Lab| lab.lab_ok(&["engine", "worker2", "start"], Duration::from_secs(60));
    lab.lab_ok(&["engine", "worker2", "stop"], Duration::from_secs(60))?;
    let outcome = (|| -> Result<()> {
        let down = wait_for("worker2 to show its engine missing", CONVERGE, || {
            let ls = lab.ctl(&["node", "ls"])?;
            let r = row(&ls);
            Ok(if r.contains("Ready (no engine)") {
                Ok(r)
            } else {
                Err(r)
            })
        })?;
        ensure!(!down.contains("Down"), "worker2: {down}");
        lab.create_service(
            "exec-noengine",
            &["--replicas", "4", "swarmd/sleeper:latest"],
        )?;
        let tasks = lab.wait_running("exec-noengine", 4, CONVERGE)?;
        ensure!(
            tasks.iter().all(|t| t.node != "worker2"),
            "a task went to the node without an engine: {tasks:?}"
        );
        // It stays Ready (heartbeats do not wait on the engine).
        std::thread::sleep(Duration::from_secs(3));
        let r = row(&lab.ctl(&["node", "ls"])?);
        ensure!(r.contains("Ready (no engine)"), "worker2 after 3 s: {r}");
        Ok(())
    })();
    engine_back(&lab)?;
    outcome?;
    wait_for("worker2 to take tasks again", CONVERGE, || {
        let r = row(&lab.ctl(&["node", "ls"])?);
        Ok(if r.contains("Ready") && !r.contains("no engine") {
            Ok(())
        } else {
            Err(r)
        })
    })?;
    lab.ctl(&["service", "scale", "-d", "exec-noengine=6"])?;
    let tasks = lab.wait_running("exec-noengine", 6, CONVERGE)?;
    ensure!(
        tasks.iter().any(|t| t.node == "worker2"),
        "no task on worker2 once its engine is back: {tasks:?}"
    );
    Ok(())
}
