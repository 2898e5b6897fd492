//! A private Docker engine for tests and the lab: its own dockerd (and the containerd it
//! manages) under a fresh `/tmp/sw-dk-*` directory, with swarmd's local images built into it,
//! stopped and cleaned up on drop.
//!
//! Isolation from any other engine on the machine comes from its own data root, exec root,
//! pidfile and socket; `--bridge=none` and no iptables keep it off the host's network setup.
//! Its registry traffic is sent to a proxy on a closed loopback port, so a pull fails at once
//! instead of leaving the machine: tests never depend on, or reach, a registry.

use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, Uid};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `integration/images/build.sh` of this source tree.
pub const IMAGES_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../integration/images/build.sh"
);

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Nothing listens on the discard port: proxied pulls are refused immediately.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("a private dockerd needs root (running as uid {0})")]
    NotRoot(u32),
    #[error("cannot create the engine directory: {0}")]
    Dir(std::io::Error),
    #[error("cannot run dockerd (is docker.io installed?): {0}")]
    Spawn(std::io::Error),
    #[error("dockerd exited while starting ({status}); end of {log}:\n{tail}")]
    Exited {
        status: String,
        log: String,
        tail: String,
    },
    #[error("dockerd did not answer on {socket} within {timeout:?}; end of {log}:\n{tail}")]
    NoAnswer {
        socket: String,
        timeout: Duration,
        log: String,
        tail: String,
    },
    #[error("building the local images with {script}: {detail}")]
    Images { script: String, detail: String },
}

/// How to run the engine; the default is a private engine in the caller's network namespace.
#[derive(Debug, Clone, Default)]
pub struct DockerdOptions {
    /// Run dockerd in this network namespace (`/run/netns/NODE`). It enters through
    /// `nsenter --net=…`, not `ip netns exec`, which remounts /sys and so hides the cgroup
    /// mounts dockerd needs.
    pub netns: Option<PathBuf>,
    /// More dockerd flags, e.g. `--label zone=a` for `engine.labels.zone` constraints.
    pub extra_args: Vec<String>,
}

/// A running private dockerd. Dropping it stops the engine and removes its directory.
pub struct PrivateDockerd {
    /// Everything the engine writes: roots, socket, pidfile, log. Removed on drop.
    dir: PathBuf,
    /// dockerd itself (or nsenter, which execs into it: same PID).
    child: Child,
    /// `unix://<dir>/docker.sock`.
    host: String,
    /// Kept to start the same engine again in [`PrivateDockerd::restart`].
    options: DockerdOptions,
}

impl PrivateDockerd {
    /// Starts an engine with the default options and waits until its API answers.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(DockerdOptions::default())
    }

    /// Starts an engine and waits until its API answers.
    pub fn start_with(options: DockerdOptions) -> Result<Self, HarnessError> {
        if !Uid::effective().is_root() {
            return Err(HarnessError::NotRoot(Uid::effective().as_raw()));
        }
        // Short on purpose: the socket paths under it must stay below 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("sw-dk-")
            .tempdir_in("/tmp")
            .map_err(HarnessError::Dir)?
            .keep();
        let started = spawn(&dir, &options);
        let mut engine = match started {
            Ok(child) => PrivateDockerd {
                host: format!("unix://{}", dir.join("docker.sock").display()),
                dir,
                child,
                options,
            },
            Err(err) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(HarnessError::Spawn(err));
            }
        };
        // On failure `engine` is dropped here, which stops and cleans up what did start.
        engine.wait_ready()?;
        Ok(engine)
    }

    /// An engine with swarmd's local images, for a test: `None` (after saying why) when this
    /// machine cannot run one and the test may skip — never under `CI=true`, where every
    /// failure to set up panics so that CI cannot pass without running the test.
    pub fn start_for_test() -> Option<Self> {
        Self::start_for_test_with(DockerdOptions::default())
    }

    /// [`Self::start_for_test`] with options.
    pub fn start_for_test_with(options: DockerdOptions) -> Option<Self> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if !ci && !Uid::effective().is_root() {
            eprintln!("skipping: a private dockerd needs root (set CI=true to make this fail)");
            return None;
        }
        let engine = Self::start_with(options).and_then(|engine| {
            engine.build_images()?;
            Ok(engine)
        });
        match engine {
            Ok(engine) => Some(engine),
            Err(err) => panic!("cannot set up a private Docker engine: {err}"),
        }
    }

    /// Stops the engine and starts it again on the same directory and socket: its images
    /// stay; its containers were stopped by the shutdown, as on a machine's engine restart.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        self.shut_down();
        self.child = spawn(&self.dir, &self.options).map_err(HarnessError::Spawn)?;
        self.wait_ready()
    }

    /// `unix:///tmp/sw-dk-…/docker.sock`, for `DOCKER_HOST` and `DockerExecutor::connect`.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Builds (or confirms) `swarmd/whoami`, `swarmd/sleeper` and `swarmd/visualizer`.
    pub fn build_images(&self) -> Result<(), HarnessError> {
        let failed = |detail: String| HarnessError::Images {
            script: IMAGES_SCRIPT.to_string(),
            detail,
        };
        let output = Command::new("sh")
            .arg(IMAGES_SCRIPT)
            .arg(&self.host)
            .output()
            .map_err(|err| failed(err.to_string()))?;
        if !output.status.success() {
            return Err(failed(format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(())
    }

    /// The `docker` CLI aimed at this engine.
    pub fn docker_cli(&self) -> Command {
        let mut cli = Command::new("docker");
        cli.env("DOCKER_HOST", &self.host);
        cli
    }

    fn wait_ready(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + START_TIMEOUT;
        let socket = self.socket();
        loop {
            if ping(&socket) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Exited {
                    status: status.to_string(),
                    log: self.log_path(),
                    tail: self.log_tail(),
                });
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NoAnswer {
                    socket: socket.display().to_string(),
                    timeout: START_TIMEOUT,
                    log: self.log_path(),
                    tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_path(&self) -> String {
        self.dir.join("dockerd.log").display().to_string()
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The engine stopped and nothing of it left running or mounted; its files stay.
    fn shut_down(&mut self) {
        self.stop_dockerd();
        self.kill_leftover_processes();
        self.unmount_leftovers();
    }

    /// SIGTERM, then SIGKILL if dockerd is still there after [`STOP_TIMEOUT`].
    fn stop_dockerd(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("dockerd {pid} ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// containerd and its shims outlive a dockerd that had to be killed; they are ours when
    /// their command line names our directory.
    fn kill_leftover_processes(&self) {
        let ours = self.dir.display().to_string();
        let Ok(procs) = fs::read_dir("/proc") else {
            return;
        };
        for entry in procs.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&ours) {
                eprintln!("killing leftover process {pid} of the private dockerd");
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }

    /// Container root filesystems, shm and netns mounts a stopped engine may leave behind,
    /// deepest first so that parents come free.
    fn unmount_leftovers(&self) {
        let ours = self.dir.display().to_string();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts: Vec<String> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(unescape_mount_path)
            .filter(|mount| mount.starts_with(&ours))
            .collect();
        mounts.sort_by_key(|mount| std::cmp::Reverse(mount.len()));
        for mount in mounts {
            if let Err(err) = umount2(mount.as_str(), MntFlags::MNT_DETACH) {
                eprintln!("cannot unmount {mount}: {err}");
            }
        }
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        self.shut_down();
        if let Err(err) = fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {err}", self.dir.display());
        }
    }
}

/// dockerd with its own roots, pidfile and socket under `dir`, logging to `dir/dockerd.log`.
fn spawn(dir: &Path, options: &DockerdOptions) -> std::io::Result<Child> {
    // Appended to, so that a restarted engine's log follows the first one's.
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("dockerd.log"))?;
    let path = |name: &str| dir.join(name).display().to_string();
    let mut command = match &options.netns {
        Some(netns) => {
            let mut nsenter = Command::new("nsenter");
            nsenter
                .arg(format!("--net={}", netns.display()))
                .arg("dockerd");
            nsenter
        }
        None => Command::new("dockerd"),
    };
    command
        .args(["--data-root", &path("data"), "--exec-root", &path("exec")])
        .args(["--pidfile", &path("dockerd.pid")])
        .args(["-H", &format!("unix://{}", path("docker.sock"))])
        .args(["--iptables=false", "--ip6tables=false", "--bridge=none"])
        // Containers still running at shutdown are killed after this many seconds.
        .args(["--shutdown-timeout", "2"])
        .args(&options.extra_args)
        .env("HTTP_PROXY", DEAD_PROXY)
        .env("HTTPS_PROXY", DEAD_PROXY)
        .env_remove("NO_PROXY")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// `GET /_ping` over the socket: the engine is up when it answers `OK`.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.contains(" 200 ") && answer.ends_with("OK")
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape_mount_path(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|_| bytes[i] == b'\\');
        match octal.and_then(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 8).ok()) {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mount_path("/tmp/a\\040b"), "/tmp/a b");
        assert_eq!(unescape_mount_path("/plain/path"), "/plain/path");
        assert_eq!(unescape_mount_path("/odd\\"), "/odd\\");
    }
}
