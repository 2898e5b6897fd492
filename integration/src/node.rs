//! One `swarmd` child process: its own state dir and log file, and the faults a test injects
//! into it (kill -9, SIGTERM, restart with only `--state-dir`).

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::binaries::binaries;
use crate::ctl::{swarmctl, CtlOutput};
use crate::wait::Deadline;

/// A `swarmd` node of a test cluster.
#[derive(Debug)]
pub struct NodeProcess {
    /// The hostname it registers with (`m1`, `w2`, ...), also its directory's name.
    pub name: String,
    /// Its gRPC listen (and advertise) address.
    pub addr: SocketAddr,
    /// `--state-dir`.
    pub state_dir: PathBuf,
    /// stdout and stderr of every run, appended across restarts.
    pub log: PathBuf,
    /// Joined (or created the cluster) as a manager; follows promote/demote only if the test
    /// updates it.
    pub manager: bool,
    /// `--metrics-addr`, when the node serves `GET /metrics`.
    pub metrics_addr: Option<SocketAddr>,
    child: Option<Child>,
}

impl NodeProcess {
    /// Starts `swarmd` for the first time under `root/name` with `args` after the common flags
    /// (test executor, no data plane). `env` adds variables such as `RUST_LOG`.
    pub fn spawn(
        root: &Path,
        name: &str,
        manager: bool,
        args: &[String],
        env: &[(&str, &str)],
    ) -> NodeProcess {
        let mut full: Vec<String> = ["--executor", "test", "--mesh-backend", "none"]
            .map(String::from)
            .to_vec();
        full.extend_from_slice(args);
        NodeProcess::spawn_with_engine(root, name, manager, &full, env)
    }

    /// [`NodeProcess::spawn`] with the executor and data plane flags left to `args`.
    pub fn spawn_with_engine(
        root: &Path,
        name: &str,
        manager: bool,
        args: &[String],
        env: &[(&str, &str)],
    ) -> NodeProcess {
        let addr = crate::ports::free_addr();
        let state_dir = root.join(name);
        let log = root.join(format!("{name}.log"));
        let mut node = NodeProcess {
            name: name.to_string(),
            addr,
            state_dir,
            log,
            manager,
            metrics_addr: None,
            child: None,
        };
        let mut full = vec![
            "--state-dir".to_string(),
            node.state_dir.display().to_string(),
            "--hostname".to_string(),
            name.to_string(),
            "--listen-addr".to_string(),
            addr.to_string(),
        ];
        full.extend_from_slice(args);
        node.launch(&full, env);
        node
    }

    /// Starts the process again with only `--state-dir`: it must resume from its state.
    pub fn restart(&mut self) {
        assert!(!self.is_running(), "{} is still running", self.name);
        let args = vec![
            "--state-dir".to_string(),
            self.state_dir.display().to_string(),
        ];
        self.launch(&args, &[]);
    }

    fn launch(&mut self, args: &[String], env: &[(&str, &str)]) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("opening the node's log");
        let mut command = Command::new(&binaries().swarmd);
        command
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        for (key, value) in env {
            command.env(key, value);
        }
        self.child = Some(command.spawn().expect("spawning swarmd"));
    }

    /// The text of its `GET /metrics`; the node must have been started with metrics.
    pub fn scrape_metrics(&self) -> Result<String, String> {
        let addr = self
            .metrics_addr
            .ok_or_else(|| format!("{} serves no metrics", self.name))?;
        metrics::exposition::scrape(addr, Duration::from_secs(5))
    }

    /// The PID of the running process, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is alive (reaps it when it has exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            None => false,
            Some(child) => match child.try_wait() {
                Ok(None) => true,
                _ => {
                    self.child = None;
                    false
                }
            },
        }
    }

    /// SIGKILL: the node vanishes without a word, as on a power cut.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit (SIGKILL after `grace`). Returns the exit status,
    /// `None` when it had to be killed.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Deadline::after(grace);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if deadline.passed() {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The control socket (managers only).
    pub fn socket(&self) -> PathBuf {
        self.state_dir.join("swarmd.sock")
    }

    /// Runs `swarmctl` against this node's control socket.
    pub fn ctl(&self, args: &[&str]) -> CtlOutput {
        assert!(
            self.manager,
            "{} is a worker: workers have no control socket",
            self.name
        );
        swarmctl(&self.socket(), args)
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
