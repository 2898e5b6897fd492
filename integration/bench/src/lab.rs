//! The three-node lab (`integration/lab/lab.sh`): bringing it up when it is not, its control
//! sockets, HTTP from inside its namespaces, and restarting one node's swarmd alone (lab.sh
//! `restart` also restarts the engine, which would stop the containers).
//!
//! Std and nix only: the fault tests of the `integration` package include this file with
//! `#[path]`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

pub const NODES: [&str; 3] = ["manager", "worker1", "worker2"];

/// The lab address of a node (or `client`).
pub fn ip(node: &str) -> &'static str {
    match node {
        "manager" => "192.168.56.10",
        "worker1" => "192.168.56.11",
        "worker2" => "192.168.56.12",
        _ => "192.168.56.100",
    }
}

/// The lab, through its script.
pub struct Lab {
    pub script: PathBuf,
    pub dir: PathBuf,
}

impl Lab {
    /// `script` is `integration/lab/lab.sh` of this tree.
    pub fn new(script: PathBuf) -> Lab {
        let dir = std::env::var_os("SWARMD_LAB_DIR")
            .map_or_else(|| PathBuf::from("/var/lib/swarmd-lab"), PathBuf::from);
        Lab { script, dir }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(&self.script)
            .args(args)
            .output()
            .expect("running lab.sh")
    }

    /// Whether the lab is up with three Ready nodes whose engines answer.
    pub fn is_up(&self) -> bool {
        let out = self.run(&["ctl", "manager", "node", "ls"]);
        let text = String::from_utf8_lossy(&out.stdout);
        out.status.success() && text.matches("Ready").count() == 3 && !text.contains("(no engine)")
    }

    /// Brings the lab up unless it already is; true when this call brought it up.
    pub fn ensure_up(&self) -> Result<bool, String> {
        if self.is_up() {
            return Ok(false);
        }
        let out = self.run(&["up"]);
        if !out.status.success() {
            return Err(format!(
                "lab.sh up failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(true)
    }

    /// The lab for a test, brought up if needed: `None` (after saying why) when this machine
    /// cannot run it and this is not CI; under `CI=true` every failure to set up panics.
    pub fn for_test(script: PathBuf) -> Option<Lab> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if !ci && !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipping: the lab needs root (CI=true makes this fail)");
            return None;
        }
        let lab = Lab::new(script);
        if let Err(e) = lab.ensure_up() {
            panic!("cannot bring the lab up: {e}");
        }
        Some(lab)
    }

    /// `swarmctl` against the manager's socket; stdout on success, stderr as the error.
    /// Replaces any service `name` with a new one of 3 `swarmd/whoami` replicas published on
    /// `port` (not waiting for it to run).
    pub fn recreate_whoami(&self, name: &str, port: u16) -> Result<String, String> {
        let _ = self.ctl(&["service", "rm", name]);
        let publish = format!("{port}:80");
        self.ctl(&[
            "service",
            "create",
            "--detach",
            "--name",
            name,
            "--replicas",
            "3",
            "--publish",
            &publish,
            "swarmd/whoami",
        ])
    }

    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["ctl", "manager"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "swarmctl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `docker` against NODE's private engine; stdout.
    pub fn docker(&self, node: &str, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["docker", node];
        full.extend_from_slice(args);
        let out = self.run(&full);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn socket(&self, node: &str) -> PathBuf {
        self.dir.join(node).join("swarmd/swarmd.sock")
    }

    fn pidfile(&self, node: &str) -> PathBuf {
        self.dir.join(node).join("swarmd.pid")
    }

    /// The PID of NODE's swarmd.
    pub fn swarmd_pid(&self, node: &str) -> Option<i32> {
        let text = std::fs::read_to_string(self.pidfile(node)).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// Stops NODE's swarmd with SIGTERM (its containers keep running) and starts the same
    /// binary again with only `--state-dir`. Returns how long it was stopped.
    pub fn restart_swarmd(&self, node: &str) -> Result<Duration, String> {
        let exe = self.stop_swarmd(node)?;
        let down = Instant::now();
        self.start_swarmd(node, &exe)?;
        Ok(down.elapsed())
    }

    /// SIGTERM to NODE's swarmd, SIGKILL after 15 s; returns the binary it ran.
    pub fn stop_swarmd(&self, node: &str) -> Result<PathBuf, String> {
        let pid = self
            .swarmd_pid(node)
            .ok_or(format!("{node} has no running swarmd"))?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| e.to_string())?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).map_err(|e| e.to_string())?;
        let gone = wait(Duration::from_secs(15), || {
            !Path::new(&format!("/proc/{pid}")).exists() || zombie(pid)
        });
        if !gone {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        Ok(exe)
    }

    /// Starts `exe --state-dir` for NODE in its namespace, logging and writing its PID file
    /// where lab.sh does, so `lab.sh down` and `status` keep working.
    pub fn start_swarmd(&self, node: &str, exe: &Path) -> Result<(), String> {
        let state_dir = self.dir.join(node).join("swarmd");
        let _ = std::fs::remove_file(state_dir.join("swarmd.sock"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(node).join("swarmd.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new("setsid")
            .arg("nsenter")
            .arg(format!("--net=/run/netns/swl-{node}"))
            .arg("--")
            .arg(exe)
            .arg("--state-dir")
            .arg(&state_dir)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        std::fs::write(self.pidfile(node), format!("{}\n", child.id()))
            .map_err(|e| e.to_string())?;
        // Reaped whenever it exits; lab.sh manages it through the PID file.
        std::thread::spawn(move || {
            let mut child = child;
            let _ = child.wait();
        });
        Ok(())
    }
}

fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub fn wait(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// Runs `f` on a new thread inside network namespace `/run/netns/NS`.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    in_netns_at(format!("/run/netns/{ns}"), f)
}

/// Runs `f` on a new thread inside the network namespace at `path` (`/proc/PID/ns/net` for
/// a container's).
pub fn in_netns_at<T: Send + 'static>(path: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        setns(file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("netns thread")
}

/// One HTTP/1.0 GET on a fresh connection; the body on a 200.
/// Whether `port` answers, from the client, on every node's IP (the mesh is programmed).
pub fn answers_everywhere(port: u16) -> bool {
    in_netns("swl-client", move || {
        NODES.iter().all(|n| {
            let addr = format!("{}:{port}", ip(n)).parse().expect("address");
            http_get(addr, Duration::from_secs(2)).is_ok()
        })
    })
}

pub fn http_get(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) if head.contains(" 200 ") => Ok(body.to_string()),
        _ => Err(format!("bad answer: {:.80}", answer)),
    }
}
