//! Docker's own swarm mode as the peer: a private dockerd in its own network namespace
//! `swb-docker` (own data/exec root, socket, pidfile; a private mount namespace with a tmpfs
//! on /run so it starts its own containerd), default bridge and iptables options, `docker
//! swarm init`, the same local images. Spoken to over its Engine API socket. Dropping it
//! stops every process in that namespace by PID and deletes the namespace and directory.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const NETNS: &str = "swb-docker";
const ADDR: &str = "10.77.0.1";
/// Registry lookups go to a closed loopback port: refused at once, never leaving the machine.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

pub struct DockerSwarm {
    dir: PathBuf,
    child: Option<Child>,
}

impl DockerSwarm {
    /// Starts the engine, builds the images into it and initialises a one-node swarm.
    pub fn start(images_script: &Path) -> Result<DockerSwarm> {
        let _ = run("ip", &["netns", "del", NETNS]);
        run("ip", &["netns", "add", NETNS])?;
        let mut peer = DockerSwarm {
            dir: PathBuf::from("/tmp/swb-dk"),
            child: None,
        };
        let ns = |args: &[&str]| {
            let mut full = vec!["-n", NETNS];
            full.extend_from_slice(args);
            run("ip", &full)
        };
        ns(&["link", "set", "lo", "up"])?;
        // A veth pair with both ends inside: an address for --advertise-addr (no dummy driver here).
        ns(&[
            "link", "add", "swb0", "type", "veth", "peer", "name", "swb1",
        ])?;
        ns(&["addr", "add", &format!("{ADDR}/24"), "dev", "swb0"])?;
        ns(&["link", "set", "swb0", "up"])?;
        ns(&["link", "set", "swb1", "up"])?;
        let _ = std::fs::remove_dir_all(&peer.dir);
        std::fs::create_dir_all(&peer.dir)?;
        let d = peer.dir.display().to_string();
        let log = std::fs::File::create(peer.dir.join("dockerd.log"))?;
        let script = format!(
            "mount -t tmpfs tmpfs /run && exec dockerd --data-root {d}/data --exec-root {d}/exec \
             --pidfile {d}/dockerd.pid -H unix://{d}/docker.sock"
        );
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{NETNS}"))
            .args([
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                &script,
            ])
            .env("HTTP_PROXY", DEAD_PROXY)
            .env("HTTPS_PROXY", DEAD_PROXY)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting dockerd (is docker.io installed?)")?;
        peer.child = Some(child);
        let ready = crate::lab::wait(Duration::from_secs(30), || {
            peer.api("GET", "/_ping", "").is_ok_and(|(s, _)| s == 200)
        });
        anyhow::ensure!(
            ready,
            "the peer dockerd did not answer; see {d}/dockerd.log"
        );
        let images = Command::new("sh")
            .arg(images_script)
            .arg(peer.host())
            .output()?;
        anyhow::ensure!(
            images.status.success(),
            "building images into the peer failed"
        );
        let body = format!(r#"{{"ListenAddr":"{ADDR}:2377","AdvertiseAddr":"{ADDR}"}}"#);
        let (status, answer) = peer.api("POST", "/swarm/init", &body)?;
        anyhow::ensure!(status == 200, "docker swarm init: {status} {answer}");
        Ok(peer)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    pub fn host(&self) -> String {
        format!("unix://{}/docker.sock", self.dir.display())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// One Engine API call (HTTP/1.1, connection closed after it): status and body.
    pub fn api(&self, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
        call(&self.socket(), method, &format!("/v1.41{path}"), body)
    }

    /// Creates a replicated service of `image` (no registry lookup: the image is local).
    pub fn create_service(&self, name: &str, image: &str, replicas: u64) -> Result<()> {
        let body = format!(
            r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"{image}"}}}},"Mode":{{"Replicated":{{"Replicas":{replicas}}}}}}}"#
        );
        let (status, answer) = self.api("POST", "/services/create", &body)?;
        if status != 201 {
            bail!("docker service create: {status} {answer}");
        }
        Ok(())
    }

    /// An attachable overlay network; its ID.
    pub fn create_overlay(&self, name: &str) -> Result<String> {
        let body = format!(r#"{{"Name":"{name}","Driver":"overlay","Attachable":true}}"#);
        let (status, answer) = self.api("POST", "/networks/create", &body)?;
        anyhow::ensure!(status == 201, "docker network create: {status} {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer)?;
        Ok(v["Id"].as_str().unwrap_or_default().to_string())
    }

    /// A one-replica service of `image` on `network`.
    pub fn create_service_on(&self, name: &str, image: &str, network: &str) -> Result<()> {
        let body = format!(
            r#"{{"Name":"{name}","TaskTemplate":{{"ContainerSpec":{{"Image":"{image}"}},"Networks":[{{"Target":"{network}"}}]}},"Mode":{{"Replicated":{{"Replicas":1}}}}}}"#
        );
        let (status, answer) = self.api("POST", "/services/create", &body)?;
        anyhow::ensure!(status == 201, "docker service create: {status} {answer}");
        Ok(())
    }

    /// The PID of the (first) container of `service`, for its network namespace.
    pub fn container_pid(&self, service: &str) -> Result<u32> {
        let filters = format!(r#"{{"label":["com.docker.swarm.service.name={service}"]}}"#);
        let (status, body) = self.api(
            "GET",
            &format!("/containers/json?filters={}", encode(&filters)),
            "",
        )?;
        anyhow::ensure!(status == 200, "GET /containers/json: {status} {body}");
        let list: Vec<serde_json::Value> = serde_json::from_str(&body)?;
        let id = list
            .first()
            .and_then(|c| c["Id"].as_str())
            .context("no container yet")?;
        let (status, body) = self.api("GET", &format!("/containers/{id}/json"), "")?;
        anyhow::ensure!(status == 200, "GET /containers/{id}/json: {status}");
        let v: serde_json::Value = serde_json::from_str(&body)?;
        v["State"]["Pid"]
            .as_u64()
            .map(|p| p as u32)
            .context("container without a PID")
    }

    /// Tasks of `service` whose desired and current state are both `running`.
    pub fn running(&self, service: &str) -> Result<usize> {
        let filters = format!(r#"{{"service":["{service}"],"desired-state":["running"]}}"#);
        let (status, body) =
            self.api("GET", &format!("/tasks?filters={}", encode(&filters)), "")?;
        anyhow::ensure!(status == 200, "GET /tasks: {status} {body}");
        let tasks: Vec<serde_json::Value> = serde_json::from_str(&body)?;
        Ok(tasks
            .iter()
            .filter(|t| t["Status"]["State"] == "running")
            .count())
    }

    /// Stops dockerd (SIGTERM, SIGKILL after 20 s), then whatever else still runs in the
    /// namespace, by PID.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let gone = crate::lab::wait(Duration::from_secs(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !gone {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for pid in pids_in_netns(NETNS) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl Drop for DockerSwarm {
    fn drop(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pids_in_netns(NETNS).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = run("ip", &["netns", "del", NETNS]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Processes whose network namespace is `/run/netns/NS`.
fn pids_in_netns(ns: &str) -> Vec<i32> {
    let Ok(target) = std::fs::metadata(format!("/run/netns/{ns}")) else {
        return vec![];
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| m.ino() == target.ino() && m.dev() == target.dev())
        })
        .collect()
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program).args(args).output()?;
    if !out.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let (Some(chunk), Some(after)) = (tail.get(..n), tail.get(n..)) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(chunk);
        rest = after.trim_start_matches("\r\n");
    }
    out
}

/// One Engine API call on the unix socket `socket` (any engine: Docker's or swarmd's), HTTP/1.1
/// with the connection closed after it: status and body.
pub fn call(socket: &Path, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let mut s = UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, rest) = raw.split_once("\r\n\r\n").context("no HTTP header")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

/// Percent-encodes what a query string cannot hold.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
