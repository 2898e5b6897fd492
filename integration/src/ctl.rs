//! Running `swarmctl` as a user would, with a deadline so that a hung command fails the test
//! instead of hanging it.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::binaries::binaries;
use crate::wait::Deadline;

/// How long one `swarmctl` (or short-lived `swarmd`) invocation may take before it is killed.
pub const CTL_TIMEOUT: Duration = Duration::from_secs(30);

/// What one invocation did.
#[derive(Debug)]
pub struct CtlOutput {
    /// `swarmctl` or `swarmd`, for messages.
    pub program: String,
    /// The arguments after `--socket PATH`, for messages.
    pub args: Vec<String>,
    /// `None` when the command was killed at its deadline.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl CtlOutput {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The output, or a panic that shows the command, its exit status and stderr.
    #[track_caller]
    pub fn expect_ok(self) -> CtlOutput {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// stdout trimmed, e.g. an ID printed by `-q`.
    pub fn text(&self) -> &str {
        self.stdout.trim()
    }
}

impl std::fmt::Display for CtlOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => format!("killed after {CTL_TIMEOUT:?}"),
        };
        write!(
            f,
            "`{} {}` → {status}\n--- stdout\n{}\n--- stderr\n{}",
            self.program,
            self.args.join(" "),
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Runs `swarmctl --socket SOCKET ARGS...`.
pub fn swarmctl(socket: &Path, args: &[&str]) -> CtlOutput {
    let mut command = Command::new(&binaries().swarmctl);
    command.arg("--socket").arg(socket).args(args);
    run(command, args)
}

/// Runs the real docker CLI (the first `docker` on PATH) against the Engine API socket
/// `socket` of a swarmd node.
pub fn docker(socket: &Path, args: &[&str]) -> CtlOutput {
    let mut command = Command::new("docker");
    command
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .args(args);
    run(command, args)
}

/// Runs `swarmd ARGS...` to completion (for invocations that must fail fast).
pub fn swarmd(args: &[&str]) -> CtlOutput {
    let mut command = Command::new(&binaries().swarmd);
    command.args(args).env("NO_COLOR", "1");
    run(command, args)
}

/// Runs a prepared command with [`CTL_TIMEOUT`], capturing both streams.
pub fn run(mut command: Command, args: &[&str]) -> CtlOutput {
    let program = std::path::Path::new(command.get_program())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    command
        .env_remove("SWARMCTL_SOCKET")
        .env_remove("SWARMCTL_HOST")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawning swarmctl");
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Deadline::after(CTL_TIMEOUT);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for swarmctl") {
            break Some(status);
        }
        if deadline.passed() {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    CtlOutput {
        program,
        args: args.iter().map(|a| a.to_string()).collect(),
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads a pipe to its end on a thread, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
