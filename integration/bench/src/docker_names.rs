//! (v) Docker's side of name propagation, measured as swarmd's is: on the bench's one-node
//! Docker swarm, a service on an overlay network is scaled up one task at a time, and each new
//! task is timed from RUNNING (its Engine API task state, polled every 5 ms) to `tasks.NAME`
//! listing its address at 127.0.0.11 inside a client container of Docker's own.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::docker_swarm::{encode, DockerSwarm};
use crate::overlay::lookup;

const SERVICE: &str = "swb-names";

/// Milliseconds from RUNNING to resolvable, one per scale-up.
pub fn propagation(
    peer: &DockerSwarm,
    network: &str,
    client_ns: &str,
    rounds: usize,
) -> Result<Vec<f64>> {
    peer.create_service_on(SERVICE, "swarmd/sleeper:latest", network)?;
    let up = crate::lab::wait(Duration::from_secs(60), || {
        running_addrs(peer).is_ok_and(|t| t.len() == 1)
    });
    ensure!(up, "Docker's {SERVICE} never ran");
    let mut ms = Vec::new();
    for i in 0..rounds {
        let before = running_addrs(peer)?;
        scale(peer, before.len() + 1)?;
        let asked = Instant::now();
        let (addr, running_at) = loop {
            let now = running_addrs(peer)?;
            if let Some((_, a)) = now.iter().find(|t| !before.contains(t)) {
                break (*a, Instant::now());
            }
            ensure!(
                asked.elapsed() < Duration::from_secs(60),
                "round {i}: Docker's new task never ran"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        loop {
            let seen = lookup(client_ns, &format!("tasks.{SERVICE}")).unwrap_or_default();
            if seen.contains(&addr) {
                break;
            }
            if running_at.elapsed() > Duration::from_secs(10) {
                bail!("round {i}: {addr} not in Docker's tasks.{SERVICE} after 10 s");
            }
        }
        ms.push(running_at.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ms)
}

/// Sets the service's replicas through `POST /services/NAME/update`, with its current version.
fn scale(peer: &DockerSwarm, replicas: usize) -> Result<()> {
    let (status, body) = peer.api("GET", &format!("/services/{SERVICE}"), "")?;
    ensure!(status == 200, "GET /services/{SERVICE}: {status} {body}");
    let v: Value = serde_json::from_str(&body)?;
    let version = v["Version"]["Index"].as_u64().context("no Version.Index")?;
    let mut spec = v["Spec"].clone();
    spec["Mode"]["Replicated"]["Replicas"] = replicas.into();
    let path = format!("/services/{SERVICE}/update?version={version}");
    let (status, body) = peer.api("POST", &path, &spec.to_string())?;
    ensure!(status == 200, "docker service scale: {status} {body}");
    Ok(())
}

/// The running tasks' IDs and overlay addresses.
fn running_addrs(peer: &DockerSwarm) -> Result<Vec<(String, Ipv4Addr)>> {
    let filters = format!(r#"{{"service":["{SERVICE}"],"desired-state":["running"]}}"#);
    let (status, body) = peer.api("GET", &format!("/tasks?filters={}", encode(&filters)), "")?;
    ensure!(status == 200, "GET /tasks: {status} {body}");
    let tasks: Vec<Value> = serde_json::from_str(&body)?;
    let mut out = Vec::new();
    for t in tasks.iter().filter(|t| t["Status"]["State"] == "running") {
        let addr = t["NetworksAttachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["Network"]["Spec"]["Ingress"] != true)
            .find_map(|a| a["Addresses"][0].as_str())
            .and_then(|cidr| cidr.split('/').next()?.parse().ok());
        if let (Some(id), Some(addr)) = (t["ID"].as_str(), addr) {
            out.push((id.to_string(), addr));
        }
    }
    Ok(out)
}
