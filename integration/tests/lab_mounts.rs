//! Issue 15 on the three-node lab, with real containers: `--mount` of `service create` reaches
//! each node's engine as Docker mounts. A named volume keeps its data when the task is replaced
//! on the same node, a read-only bind shows the host's files and refuses writes, a tmpfs has the
//! size asked, a bind source missing on the node rejects the task with the engine's words, and
//! `service update --mount-rm` rolls the mount away.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(60);
const VOLUME: &str = "swl-mnt-data";
const MISSING: &str = "/nonexistent-swl-path";

/// Removes the host directory of the bind mount, and the named volume on worker1 after its
/// service, when dropped (also when the test fails).
struct Leftovers<'a> {
    lab: &'a Lab,
    bind_dir: PathBuf,
}

impl Drop for Leftovers<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.bind_dir);
        if self.lab.ctl(&["service", "inspect", "mnt-vol"]).is_ok() {
            let _ = self.lab.remove_service("mnt-vol");
        }
        // The service's containers may outlive `service rm` by a moment: retry while the engine
        // says the volume is in use.
        let removed = wait_for(
            &format!("volume {VOLUME} removed on worker1"),
            Duration::from_secs(30),
            || {
                let out = self.lab.lab(
                    &["docker", "worker1", "volume", "rm", VOLUME],
                    Duration::from_secs(20),
                )?;
                Ok(
                    if out.ok() || out.both().to_lowercase().contains("no such volume") {
                        Ok(out.both())
                    } else {
                        Err(out.both())
                    },
                )
            },
        );
        match removed {
            Ok(out) => println!("$ lab.sh docker worker1 volume rm {VOLUME}\n{out}"),
            Err(e) => eprintln!("cleanup: {e:#}"),
        }
    }
}

/// `docker exec` in the task's container, printed; the outcome whatever it is.
fn show_exec(lab: &Lab, t: &Replica, args: &[&str]) -> Result<Out> {
    let out = lab.exec_in(t, args)?;
    println!(
        "$ docker exec {} {}   (on {}, exit {:?})\n{}",
        t.name,
        args.join(" "),
        t.node,
        out.code,
        out.both()
    );
    Ok(out)
}

/// The one running task of `service` once it is not `old` (the replacement of a killed or
/// updated task).
fn wait_replaced(lab: &Lab, service: &str, old: &Replica) -> Result<Replica> {
    wait_for(
        &format!("a running task of {service} other than {}", old.task_id),
        CONVERGE,
        || {
            let running = lab.running_tasks(service)?;
            Ok(match running.as_slice() {
                [t] if t.task_id != old.task_id => Ok(t.clone()),
                _ => Err(format!("running: {running:?}")),
            })
        },
    )
}

#[test]
fn lab_9_mounts_volume_bind_tmpfs_reach_the_containers() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 15: volume, bind and tmpfs mounts");
    let bind_dir = PathBuf::from(format!("/tmp/swl-mnt-bind-{}", std::process::id()));
    let _cleanup = Leftovers {
        lab: &lab,
        bind_dir: bind_dir.clone(),
    };
    // A volume left by a crashed run would already hold the file this test writes.
    let _ = lab.lab(
        &["docker", "worker1", "volume", "rm", "-f", VOLUME],
        Duration::from_secs(20),
    );

    // 1. A named volume keeps its data when the task is replaced on the same node.
    let vol_mount = format!("type=volume,source={VOLUME},target=/data");
    lab.create_service(
        "mnt-vol",
        &[
            "--constraint",
            "node.hostname==worker1",
            "--mount",
            &vol_mount,
            "swarmd/sleeper:latest",
        ],
    )?;
    let first = lab.wait_running("mnt-vol", 1, CONVERGE)?.remove(0);
    ensure!(
        first.node == "worker1",
        "mnt-vol runs on {}, not worker1",
        first.node
    );
    lab.show(&["service", "inspect", "--pretty", "mnt-vol"])?;
    lab.exec_ok(&first, &["sh", "-c", "echo kept > /data/f"])?;
    println!("$ docker exec {} sh -c 'echo kept > /data/f'", first.name);
    let victim = lab.container_of(&first)?;
    let killed = lab.lab_ok(
        &["docker", "worker1", "kill", &victim],
        Duration::from_secs(20),
    )?;
    println!("$ lab.sh docker worker1 kill {victim}\n{}", killed.both());
    let second = wait_replaced(&lab, "mnt-vol", &first)?;
    lab.show(&["service", "ps", "mnt-vol"])?;
    ensure!(
        second.node == "worker1",
        "the replacement runs on {}, not worker1",
        second.node
    );
    let replacement = lab.container_of(&second)?;
    ensure!(
        replacement != victim,
        "the replacement task runs in the killed container {victim}"
    );
    let kept = show_exec(&lab, &second, &["cat", "/data/f"])?;
    ensure!(
        kept.ok() && kept.stdout.trim() == "kept",
        "the volume lost its data across the task restart: {}",
        kept.both()
    );
    let volumes = lab.lab_ok(
        &["docker", "worker1", "volume", "ls", "-q"],
        Duration::from_secs(20),
    )?;
    ensure!(
        volumes.stdout.lines().any(|v| v.trim() == VOLUME),
        "worker1's engine has no volume {VOLUME}: {}",
        volumes.both()
    );

    // 2. A read-only bind mount shows the host's directory and refuses writes.
    std::fs::create_dir_all(&bind_dir).with_context(|| format!("creating {bind_dir:?}"))?;
    std::fs::write(bind_dir.join("hello"), "from the node\n")?;
    let bind_mount = format!(
        "type=bind,source={},target=/in,readonly",
        bind_dir.display()
    );
    lab.create_service(
        "mnt-bind",
        &["--mount", &bind_mount, "swarmd/sleeper:latest"],
    )?;
    let bind = lab.wait_running("mnt-bind", 1, CONVERGE)?.remove(0);
    let hello = show_exec(&lab, &bind, &["cat", "/in/hello"])?;
    ensure!(
        hello.ok() && hello.stdout.trim() == "from the node",
        "the bind mount does not show the host's file: {}",
        hello.both()
    );
    let write = show_exec(&lab, &bind, &["sh", "-c", "echo x > /in/new"])?;
    ensure!(
        !write.ok(),
        "a write to the read-only bind mount succeeded: {}",
        write.both()
    );
    ensure!(
        write.both().to_lowercase().contains("read-only"),
        "the write failed, but not as a read-only file system: {}",
        write.both()
    );
    ensure!(
        !bind_dir.join("new").exists(),
        "the write reached the host's directory"
    );

    // 3. A tmpfs of the size asked.
    lab.create_service(
        "mnt-tmp",
        &[
            "--mount",
            "type=tmpfs,target=/scratch,tmpfs-size=1m",
            "swarmd/sleeper:latest",
        ],
    )?;
    let tmp = lab.wait_running("mnt-tmp", 1, CONVERGE)?.remove(0);
    let mounts = lab.exec_ok(&tmp, &["cat", "/proc/mounts"])?;
    let scratch: Vec<&str> = mounts
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("/scratch"))
        .collect();
    println!(
        "$ docker exec {} cat /proc/mounts | grep /scratch   (on {})\n{}",
        tmp.name,
        tmp.node,
        scratch.join("\n")
    );
    ensure!(
        scratch.len() == 1 && scratch[0].starts_with("tmpfs /scratch "),
        "/scratch is not one tmpfs: {scratch:?}\n{mounts}"
    );
    ensure!(
        scratch[0].contains("size=1024k"),
        "the tmpfs is not 1 MiB: {}",
        scratch[0]
    );

    // 4. A bind source missing on the node: the engine refuses the container, the task is
    // Rejected with its words.
    let missing_mount = format!("type=bind,source={MISSING},target=/x");
    lab.create_service(
        "mnt-missing",
        &[
            "--detach",
            "--mount",
            &missing_mount,
            "swarmd/sleeper:latest",
        ],
    )?;
    let rejected = wait_for(
        "a Rejected task of mnt-missing with the engine's message",
        Duration::from_secs(30),
        || {
            let ps = lab.ps_all("mnt-missing")?;
            Ok(
                match ps.iter().find(|t| t.current_state.starts_with("Rejected")) {
                    Some(t) if t.error.contains("does not exist") => Ok(t.clone()),
                    Some(t) => Err(format!(
                        "rejected without the engine's message: {:?}",
                        t.error
                    )),
                    None => Err(format!("no Rejected task yet: {ps:?}")),
                },
            )
        },
    )?;
    lab.show(&["service", "ps", "--no-trunc", "mnt-missing"])?;
    println!(
        "mnt-missing: {} {} on {}: {}",
        rejected.name, rejected.current_state, rejected.node, rejected.error
    );
    ensure!(
        rejected.error.contains(MISSING),
        "the error does not name {MISSING}: {}",
        rejected.error
    );
    ensure!(
        lab.running_tasks("mnt-missing")?.is_empty(),
        "a task of mnt-missing runs without its bind source"
    );

    // 5. `--mount-rm` rolls the service: the new task has no /in.
    lab.show(&["service", "update", "--mount-rm", "/in", "mnt-bind"])?;
    let rolled = wait_for("a running task of mnt-bind without /in", CONVERGE, || {
        let running = lab.running_tasks("mnt-bind")?;
        let t = match running.as_slice() {
            [t] if t.task_id != bind.task_id => t.clone(),
            _ => return Ok(Err(format!("running: {running:?}"))),
        };
        Ok(match lab.exec_in(&t, &["test", "-e", "/in"]) {
            Ok(out) if out.code == Some(1) => Ok(t),
            Ok(out) => Err(format!(
                "{}: test -e /in exit {:?}: {}",
                t.name,
                out.code,
                out.both()
            )),
            Err(e) => Err(format!("{e:#}")),
        })
    })?;
    let gone = show_exec(&lab, &rolled, &["test", "-e", "/in"])?;
    ensure!(gone.code == Some(1), "/in is still in the updated task");
    lab.show(&["service", "ps", "mnt-bind"])?;
    // The spec has no mount left (its previous_spec keeps the bind, for a rollback), and the
    // update completes once the new task has been stable for the monitor period.
    let (mounts, state) = wait_for(
        "mnt-bind's update to complete",
        Duration::from_secs(30),
        || {
            let out = lab.ctl(&["service", "inspect", "mnt-bind"])?;
            let v: serde_json::Value =
                serde_json::from_str(&out).context("service inspect: not JSON")?;
            let mounts = v[0]["spec"]["task"]["container"]["mounts"].clone();
            let state = v[0]["update_status"]["state"].clone();
            Ok(if state == "Completed" {
                Ok((mounts, state))
            } else {
                Err(format!("update_status {state}, mounts {mounts}"))
            })
        },
    )?;
    println!("mnt-bind after the update: update_status {state}, spec mounts {mounts}");
    ensure!(
        mounts.as_array().is_some_and(|m| m.is_empty()),
        "mnt-bind's spec still has a mount: {mounts}"
    );

    // The volume goes after its service (the guard removes it, also when a check above fails).
    lab.remove_service("mnt-vol")?;
    Ok(())
}
