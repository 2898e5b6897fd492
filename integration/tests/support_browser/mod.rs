//! A headless Chromium for the lab tests: `integration/browser/probe.mjs` (playwright-core
//! driving Debian's chromium) run inside the lab's client namespace, where the nodes'
//! addresses answer, and spoken to one JSON line at a time over its stdin and stdout.
//!
//! [`Browser::start`] installs playwright-core from the lockfile (`npm ci`) when it is missing.
//! Without chromium or node it returns `None` so the test can skip, except under `CI=true`,
//! where it fails naming what is missing (README command 2 installs both).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::support_lab::{in_ci, lab_script, run, wait_for, Lab};

/// Where the probe and its lockfile live.
fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The probe, running; closed (and killed if need be) on drop.
pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Why the browser cannot run here, or `Ok(())` once playwright-core is installed.
fn prepare() -> Result<()> {
    ensure!(
        chromium().exists(),
        "no Chromium at {} (apt-get install chromium, or set CHROMIUM)",
        chromium().display()
    );
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ensure!(found, "no `{tool}` on PATH (apt-get install nodejs npm)");
    }
    let dir = browser_dir();
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        let out = run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
            Duration::from_secs(300),
        )?;
        ensure!(
            out.ok(),
            "`npm ci` in {} failed: {}",
            dir.display(),
            out.both()
        );
    }
    Ok(())
}

impl Browser {
    /// A browser in the lab's client namespace, or `None` when none can be set up here and the
    /// test may skip (never under `CI=true`).
    pub fn start() -> Result<Option<Browser>> {
        if let Err(e) = prepare() {
            if in_ci() {
                bail!("CI=true: the browser test cannot set up its browser: {e:#}");
            }
            eprintln!("SKIP: {e:#} (CI=true makes this a failure)");
            return Ok(None);
        }
        let mut child = Command::new(lab_script())
            .args(["sh", "client", "node"])
            .arg(browser_dir().join("probe.mjs"))
            .env("CHROMIUM", chromium())
            .current_dir(browser_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the browser probe in the client namespace")?;
        let stdin = child.stdin.take().context("probe stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("probe stdout")?);
        Ok(Some(Browser {
            child,
            stdin,
            stdout,
        }))
    }

    /// Sends one command and returns its answer; an answer with `ok: false` is an error.
    pub fn call(&mut self, command: Value) -> Result<Value> {
        writeln!(self.stdin, "{command}").context("writing to the browser probe")?;
        self.stdin.flush()?;
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .context("reading the browser probe")?;
        ensure!(n > 0, "the browser probe exited during {command}");
        let answer: Value = serde_json::from_str(&line)
            .with_context(|| format!("the browser probe answered {line:?}"))?;
        if answer["ok"] != json!(true) {
            bail!("browser: {command} failed: {}", answer["error"]);
        }
        Ok(answer)
    }

    /// The node columns: id, hostname, leader, facts (role, status, ...), mesh (its text).
    pub fn columns(&mut self) -> Result<Vec<Value>> {
        let answer = self.call(json!({"cmd": "columns"}))?;
        Ok(answer["columns"].as_array().cloned().unwrap_or_default())
    }

    /// Where `service`'s cards are: (node hostname, leaving) each.
    pub fn cards_per_node(&mut self, service: &str) -> Result<Vec<(String, bool)>> {
        let answer = self.call(json!({"cmd": "cards", "service": service}))?;
        let cards = answer["cards"].as_array().cloned().unwrap_or_default();
        Ok(cards
            .iter()
            .map(|c| {
                let node = c["node"].as_str().unwrap_or_default().to_string();
                (node, c["leaving"] == json!(true))
            })
            .collect())
    }

    /// How many of `service`'s cards show a running task.
    pub fn running_cards(&mut self, service: &str) -> Result<usize> {
        let answer = self.call(json!({"cmd": "cards", "service": service}))?;
        Ok(answer["cards"]
            .as_array()
            .map_or(0, |c| c.iter().filter(|c| c["state"] == "Running").count()))
    }

    /// The page's clock (`Date.now()`) at the first frame showing `count` cards of `service`.
    pub fn wait_cards(&mut self, cards: Cards, timeout: Duration) -> Result<i64> {
        let answer = self.call(cards.request("wait", timeout))?;
        answer["at"].as_i64().context("wait answered no time")
    }

    /// Starts [`Browser::wait_cards`] now, to be answered by [`Browser::settle`]: run the
    /// cluster command in between, and the time is the page's, not the command's.
    pub fn arm(&mut self, cards: Cards, timeout: Duration) -> Result<()> {
        self.call(cards.request("arm", timeout)).map(drop)
    }

    pub fn settle(&mut self) -> Result<Shown> {
        let answer = self.call(json!({"cmd": "settle"}))?;
        Ok(Shown {
            at: answer["at"].as_i64().context("settle answered no time")?,
            rendered_at: answer["renderedAt"].as_i64().unwrap_or_default(),
            newest_created: answer["newest"].as_i64().unwrap_or_default(),
        })
    }
}

/// When the page showed what a wait asked for.
#[derive(Debug, Clone, Copy)]
pub struct Shown {
    /// The page's `Date.now()` at the first frame that showed it.
    pub at: i64,
    /// When the manager rendered the document the page was showing then.
    pub rendered_at: i64,
    /// When the newest task among the cards counted was created in the store.
    pub newest_created: i64,
}

/// Which cards a wait counts.
#[derive(Debug, Clone, Copy)]
pub struct Cards<'a> {
    pub service: &'a str,
    pub count: usize,
    /// Only this node's column (hostname).
    pub node: Option<&'a str>,
    /// Also the cards of tasks told to stop that are still there.
    pub leaving: bool,
}

impl<'a> Cards<'a> {
    /// `count` cards of `service` anywhere, not counting those leaving.
    pub fn of(service: &'a str, count: usize) -> Self {
        Cards {
            service,
            count,
            node: None,
            leaving: false,
        }
    }

    fn request(&self, cmd: &str, timeout: Duration) -> Value {
        json!({
            "cmd": cmd, "service": self.service, "count": self.count, "node": self.node,
            "leaving": self.leaving, "timeoutMs": timeout.as_millis() as u64,
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"cmd": "quit"}));
        let _ = self.stdin.flush();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The visualizer answers on the manager: a lab started before `--web-addr` existed gets its
/// manager's swarmd restarted by today's lab.sh, which passes the flag (containers are adopted).
pub fn visualizer_up(lab: &Lab, web: &str) -> Result<()> {
    if lab
        .curl_from("client", &format!("{web}api/state"), 3)
        .is_ok()
    {
        return Ok(());
    }
    eprintln!("lab: the manager serves no visualizer yet: lab.sh restart manager");
    lab.lab_ok(&["restart", "manager"], Duration::from_secs(120))?;
    wait_for(
        "the visualizer on the manager",
        Duration::from_secs(60),
        || {
            Ok(
                match lab.curl_from("client", &format!("{web}api/state"), 3) {
                    Ok(body) if lab.health()?.healthy() => Ok(body),
                    Ok(_) => Err("the lab is not healthy yet".to_string()),
                    Err(e) => Err(format!("{e:#}")),
                },
            )
        },
    )?;
    Ok(())
}

/// Milliseconds since the epoch, on the same clock as the page's `Date.now()`.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
