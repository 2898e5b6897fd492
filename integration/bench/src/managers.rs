//! A cluster of real `swarmd` managers as child processes (test executor, no data plane), on
//! 127.0.0.1 (no root) or each in a network namespace of the caller's, driven with the real
//! `swarmctl`.
//!
//! Std and nix only: the fault tests of the `integration` package include this file with
//! `#[path]`, so it must not need anything that package lacks.

use std::fs::{File, OpenOptions};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The `swarmd` and `swarmctl` to run.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub swarmd: PathBuf,
    pub swarmctl: PathBuf,
}

impl Binaries {
    /// `SWARMD_BIN`/`SWARMCTL_BIN`, else the ones beside the running executable
    /// (`target/<profile>/` for a binary, `target/<profile>/deps/` for a test).
    pub fn locate() -> Binaries {
        let exe = std::env::current_exe().expect("the running executable's path");
        let mut dir = exe.parent().expect("a directory").to_path_buf();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        let pick = |var: &str, name: &str| {
            let path = std::env::var_os(var).map_or_else(|| dir.join(name), PathBuf::from);
            assert!(
                path.is_file(),
                "{} not found: `cargo build -p swarmd -p swarmctl` in the same profile first",
                path.display()
            );
            path
        };
        Binaries {
            swarmd: pick("SWARMD_BIN", "swarmd"),
            swarmctl: pick("SWARMCTL_BIN", "swarmctl"),
        }
    }
}

/// A free 127.0.0.1 port below the ephemeral range, so no outgoing connection takes it between
/// this check and swarmd's bind.
pub fn free_loopback_addr() -> SocketAddr {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        ^ (u64::from(std::process::id()) << 32)
        ^ CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for _ in 0..1000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let port = 20_000 + (x % 12_000) as u16;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if TcpListener::bind(addr).is_ok() {
            return addr;
        }
    }
    panic!("no free port on 127.0.0.1 in 20000..32000");
}

/// Where a manager listens: an address, and the network namespace it runs in (none: the
/// caller's).
#[derive(Debug, Clone)]
pub struct Place {
    pub addr: SocketAddr,
    pub netns: Option<String>,
}

impl Place {
    pub fn loopback() -> Place {
        Place {
            addr: free_loopback_addr(),
            netns: None,
        }
    }
}

/// One `swarmd` process with its own state dir and log.
#[derive(Debug)]
pub struct Swarmd {
    pub name: String,
    pub addr: SocketAddr,
    pub state_dir: PathBuf,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Swarmd {
    /// Starts `swarmd` under `root/name` listening on `addr`, inside `/run/netns/NETNS` when
    /// given; `extra` follows the common flags.
    pub fn start(bins: &Binaries, root: &Path, name: &str, at: &Place, extra: &[String]) -> Swarmd {
        let addr = at.addr;
        let mut node = Swarmd {
            name: name.to_string(),
            addr,
            state_dir: root.join(name),
            log: root.join(format!("{name}.log")),
            child: None,
        };
        let mut args: Vec<String> = [
            "--state-dir",
            &node.state_dir.display().to_string(),
            "--hostname",
            name,
            "--listen-addr",
            &addr.to_string(),
            "--executor",
            "test",
            "--mesh-backend",
            "none",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend_from_slice(extra);
        let mut command = match &at.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{ns}"))
                    .arg("--")
                    .arg(&bins.swarmd);
                c
            }
            None => Command::new(&bins.swarmd),
        };
        node.child = Some(spawn_logged(command.args(&args), &node.log));
        node
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL and reap: a power cut.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn socket(&self) -> PathBuf {
        self.state_dir.join("swarmd.sock")
    }

    /// Resident memory in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid()?)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Swarmd {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `VmRSS` of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Spawns `command` with stdout and stderr appended to `log`.
pub fn spawn_logged(command: &mut Command, log: &Path) -> Child {
    let file: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("opening a log file");
    command
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {command:?}: {e}"))
}

/// Runs `swarmctl --socket SOCKET ARGS...`, killed after `timeout`.
pub fn swarmctl(bins: &Binaries, socket: &Path, args: &[&str], timeout: Duration) -> Output {
    let mut command = Command::new("timeout");
    command
        .arg("-s")
        .arg("KILL")
        .arg(format!("{}", timeout.as_secs_f64()))
        .arg(&bins.swarmctl)
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("SWARMCTL_SOCKET")
        .env_remove("SWARMCTL_HOST");
    command.output().expect("running swarmctl")
}

/// Polls `check` every 50 ms until it holds; false when `limit` passed first.
pub fn poll(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Managers m1..mN: m1 creates the cluster, the others join with the manager token.
pub struct Managers {
    pub bins: Binaries,
    pub managers: Vec<Swarmd>,
    /// Holds every state dir and log; removed on drop.
    pub root: tempfile::TempDir,
}

impl Managers {
    /// Starts `count` managers on loopback and waits until every one lists them all as Ready.
    pub fn start(bins: &Binaries, count: usize) -> Managers {
        Managers::start_at(bins, (0..count).map(|_| Place::loopback()).collect())
    }

    /// Starts one manager at each place and waits until every one lists them all as Ready.
    pub fn start_at(bins: &Binaries, places: Vec<Place>) -> Managers {
        let count = places.len();
        let root = tempfile::Builder::new()
            .prefix("swb-")
            .tempdir()
            .expect("a temporary directory");
        let first = Swarmd::start(bins, root.path(), "m1", &places[0], &[]);
        let mut cluster = Managers {
            bins: bins.clone(),
            managers: vec![first],
            root,
        };
        let token = cluster.wait_for_token();
        for (i, place) in places.iter().enumerate().skip(1) {
            let join = vec![
                "--join-addr".to_string(),
                cluster.managers[0].addr.to_string(),
                "--join-token".to_string(),
                token.clone(),
            ];
            let node = Swarmd::start(
                bins,
                cluster.root.path(),
                &format!("m{}", i + 1),
                place,
                &join,
            );
            cluster.managers.push(node);
        }
        let ready = poll(Duration::from_secs(60), || {
            (0..count).all(|i| cluster.ready_managers(i) == count)
        });
        assert!(
            ready,
            "{count} managers never all Ready; m1 log:\n{}",
            cluster.managers[0].log_tail(30)
        );
        cluster
    }

    fn wait_for_token(&self) -> String {
        let mut token = String::new();
        let got = poll(Duration::from_secs(30), || {
            let out = self.ctl(0, &["cluster", "join-token", "manager", "-q"]);
            token = String::from_utf8_lossy(&out.stdout).trim().to_string();
            out.status.success() && !token.is_empty()
        });
        assert!(
            got,
            "m1 never served a join token; its log:\n{}",
            self.managers[0].log_tail(30)
        );
        token
    }

    /// `swarmctl` against manager `i` (10 s deadline).
    pub fn ctl(&self, i: usize, args: &[&str]) -> Output {
        swarmctl(
            &self.bins,
            &self.managers[i].socket(),
            args,
            Duration::from_secs(10),
        )
    }

    /// `node ls --format json` rows of manager `i` (empty when it does not answer).
    pub fn node_rows(&self, i: usize) -> Vec<serde_json::Value> {
        let out = self.ctl(i, &["node", "ls", "--format", "json"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    fn ready_managers(&self, i: usize) -> usize {
        self.node_rows(i)
            .iter()
            .filter(|r| r["Status"] == "Ready" && r["ManagerStatus"] != "")
            .count()
    }

    /// The index of the manager that manager `asked` names as leader.
    pub fn leader_seen_by(&self, asked: usize) -> Option<usize> {
        let rows = self.node_rows(asked);
        let leader = rows.iter().find(|r| r["ManagerStatus"] == "Leader")?;
        let host = leader["Hostname"].as_str()?;
        self.managers.iter().position(|m| m.name == host)
    }
}
