//! Issue 19, part 4 on the three-node lab: `swarmctl service conns` answers the seed's "which
//! container served this request?". A client in the lab's client namespace holds a TCP
//! connection open to worker1's published port; the command lists it from worker1's
//! connection tracking: the client's address, the node that received it, and the task (one of
//! the service's, by its overlay address) the mesh sent it to.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use support_lab::*;

const SERVICE: &str = "dconns";
const PORT: u16 = 8092;
const CONVERGE: Duration = Duration::from_secs(60);

/// A TCP connection from the client namespace to `ip:port`, held open until dropped.
struct Held(Child);

impl Held {
    fn open(ip: &str, port: u16) -> Result<Held> {
        let child = Command::new(lab_script())
            .args(["sh", "client", "sh", "-c"])
            .arg(format!("sleep 30 | busybox nc {ip} {port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the client's connection")?;
        Ok(Held(child))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn lab_14_service_conns_names_the_client_the_node_and_the_task() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 19: service conns");
    let publish = format!("{PORT}:80");
    lab.create_service(
        SERVICE,
        &[
            "--replicas",
            "2",
            "--publish",
            &publish,
            "--env",
            "PORT=80",
            "swarmd/whoami:latest",
        ],
    )?;
    let tasks = lab.wait_running(SERVICE, 2, CONVERGE)?;
    lab.wait_mesh(&NODES.map(|(n, _)| n), PORT, 80, &tasks, CONVERGE)?;
    let via = node_ip("worker1");
    let _held = Held::open(via, PORT)?;

    let row = wait_for("the held connection in service conns", CONVERGE, || {
        let out = lab.ctl(&["service", "conns", SERVICE, "--format", "json"])?;
        let rows: Vec<Value> = serde_json::from_str(&out).context("service conns: not JSON")?;
        Ok(rows
            .into_iter()
            .find(|r| {
                r["Client"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(CLIENT_IP))
                    && r["ViaNode"] == "worker1"
            })
            .ok_or(out))
    })?;
    lab.show(&["service", "conns", SERVICE])?;
    let task_addr = str_field(&row, "TaskAddr")?;
    let task = tasks
        .iter()
        .find(|t| task_addr.starts_with(&t.addr))
        .with_context(|| format!("{task_addr} is none of {tasks:?}"))?;
    anyhow::ensure!(
        str_field(&row, "Task")?.starts_with(&format!("{SERVICE}."))
            && row["PublishedPort"] == PORT,
        "row {row} for task {task:?}"
    );
    lab.remove_service(SERVICE)?;
    Ok(())
}
