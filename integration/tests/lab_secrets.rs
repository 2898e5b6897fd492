//! Issue 15 on the three-node lab, with real containers: a global service reads its secret at
//! /run/secrets and its config at /etc/app.conf on every node; a reference's target, owner and
//! mode reach the file; the secret's bytes are on no node's disk (state dir, Raft log, engine
//! data root) and in no log; `secret rm` is refused while a service uses it; a restarted swarmd
//! leaves the files of the containers it adopts in place; a node's files go with its task.
//!
//! Root only; runs in the `lab` test group, one lab test at a time (see lab_seed.rs).

#[path = "support_lab/mod.rs"]
mod support_lab;

#[allow(dead_code)] // shared with swarm-bench: each binary uses a part of it
#[path = "../bench/src/lab.rs"]
mod daemons;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use support_lab::*;

const CONVERGE: Duration = Duration::from_secs(60);
const SERVICE: &str = "sec-web";
/// The config's text.
const CONF: &str = "listen 8080\n";

/// Removes the service, then the secret, the config and the local data files, when dropped.
struct Cleanup<'a> {
    lab: &'a Lab,
    files: Vec<PathBuf>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self.lab.remove_service(SERVICE);
        let _ = self.lab.ctl(&["secret", "rm", "swl-pw"]);
        let _ = self.lab.ctl(&["config", "rm", "swl-conf"]);
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn lab_dir() -> PathBuf {
    PathBuf::from(std::env::var("SWARMD_LAB_DIR").unwrap_or_else(|_| "/var/lib/swarmd-lab".into()))
}

/// Files under `dir` (not crossing into other filesystems: the tmpfs of tasks' files and the
/// containers' own mounts are not the node's disk) that contain `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Result<Vec<String>> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"find "$1" -xdev -type f -print0 | xargs -0 -r grep -l -F -- "$2" || true"#)
        .args(["sh", &dir.to_string_lossy(), needle])
        .output()
        .context("find | grep")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The forms a value's bytes take on disk: as they are, as the store's JSON writes data (one
/// base64 string, asked of the store's own type), and as earlier versions wrote it (an array of
/// numbers).
fn disk_forms(value: &str) -> [String; 3] {
    let spec = types::DataSpec {
        data: value.as_bytes().to_vec(),
        ..Default::default()
    };
    let stored = serde_json::to_value(&spec).expect("a spec is JSON")["data"]
        .as_str()
        .expect("data is a string")
        .to_string();
    let numbers: Vec<String> = value.bytes().map(|b| b.to_string()).collect();
    [value.to_string(), stored, numbers.join(",")]
}

/// Files under the node's directory holding `value` in any of its forms.
fn node_files_holding(node: &str, value: &str) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for form in disk_forms(value) {
        found.extend(files_holding(&lab_dir().join(node), &form)?);
    }
    Ok(found)
}

#[test]
fn lab_10_secrets_and_configs_reach_every_node_and_no_disk() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let _t = Timer::start("issue 15: secrets and configs");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let value = format!("swl-secret-{}-{nanos}", std::process::id());
    let pw_file = PathBuf::from(format!("/tmp/swl-pw-{}", std::process::id()));
    let conf_file = PathBuf::from(format!("/tmp/swl-conf-{}", std::process::id()));
    std::fs::write(&pw_file, &value)?;
    std::fs::write(&conf_file, CONF)?;
    let _cleanup = Cleanup {
        lab: &lab,
        files: vec![pw_file.clone(), conf_file.clone()],
    };
    for (kind, name) in [("secret", "swl-pw"), ("config", "swl-conf")] {
        let _ = lab.ctl(&[kind, "rm", name]);
    }
    lab.show(&["secret", "create", "swl-pw", &pw_file.to_string_lossy()])?;
    lab.show(&["config", "create", "swl-conf", &conf_file.to_string_lossy()])?;
    // The data file is not the node's: remove it before looking for the bytes anywhere.
    std::fs::remove_file(&pw_file)?;
    lab.create_service(
        SERVICE,
        &[
            "--mode",
            "global",
            "--secret",
            "swl-pw",
            "--secret",
            "source=swl-pw,target=pw2,uid=1000,gid=1000,mode=0400",
            "--config",
            "source=swl-conf,target=/etc/app.conf",
            "swarmd/sleeper:latest",
        ],
    )?;
    let tasks = lab.wait_running(SERVICE, 3, CONVERGE)?;
    lab.show(&["service", "inspect", "--pretty", SERVICE])?;

    // Every node's task reads both, with the owners and modes asked.
    for t in &tasks {
        let pw = lab.exec_ok(t, &["cat", "/run/secrets/swl-pw"])?;
        let conf = lab.exec_ok(t, &["cat", "/etc/app.conf"])?;
        let modes = lab.exec_ok(
            t,
            &[
                "stat",
                "-c",
                "%n %a %u:%g",
                "/run/secrets/swl-pw",
                "/run/secrets/pw2",
                "/etc/app.conf",
            ],
        )?;
        println!("{} on {}:\n{modes}", t.name, t.node);
        ensure!(pw == value, "{}: /run/secrets/swl-pw is {pw:?}", t.name);
        ensure!(conf == CONF, "{}: /etc/app.conf is {conf:?}", t.name);
        for want in [
            "/run/secrets/swl-pw 444 0:0",
            "/run/secrets/pw2 400 1000:1000",
            "/etc/app.conf 444 0:0",
        ] {
            ensure!(
                modes.contains(want),
                "{}: want `{want}` in\n{modes}",
                t.name
            );
        }
        let write = lab.exec_in(t, &["sh", "-c", "echo x > /run/secrets/swl-pw"])?;
        ensure!(!write.ok(), "{}: the secret file is writable", t.name);
    }

    // Not on any node's disk, not in any log: the Raft log and snapshots hold it sealed.
    for (node, _) in NODES {
        let found = node_files_holding(node, &value)?;
        println!(
            "$ find {}/{node} -xdev -type f | xargs grep -l SECRET (plain, stored, numbers)   -> {found:?}",
            lab_dir().display()
        );
        ensure!(
            found.is_empty(),
            "the secret's bytes are on {node}'s disk: {found:?}"
        );
    }

    // The same look finds what is stored in plain: a config's text in the Raft log.
    // (The whole text, as the store encodes it: base64 matches only whole values.)
    let [_, stored, _] = disk_forms(CONF);
    let control = files_holding(&lab_dir().join("manager"), &stored)?;
    println!("$ find .../manager -xdev -type f | xargs grep -l {stored}   (the config, as stored) -> {control:?}");
    ensure!(
        control.iter().any(|f| f.ends_with(".redb")),
        "the search does not see the Raft store: {control:?}"
    );

    // In use: refused, naming the service.
    let refused = lab.ctl(&["secret", "rm", "swl-pw"]);
    match &refused {
        Ok(out) => println!("$ swarmctl secret rm swl-pw   -> ACCEPTED {out}"),
        Err(e) => println!("$ swarmctl secret rm swl-pw   -> {e:#}"),
    }
    ensure!(
        refused
            .as_ref()
            .is_err_and(|e| format!("{e:#}").contains(SERVICE)),
        "secret rm while in use: {refused:?}"
    );

    // A restarted swarmd adopts the container, whose files stay as they are.
    let worker = tasks
        .iter()
        .find(|t| t.node == "worker1")
        .context("no task on worker1")?
        .clone();
    let before = lab.container_of(&worker)?;
    let daemons =
        daemons::Lab::new(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/lab.sh"));
    let down = daemons
        .restart_swarmd("worker1")
        .map_err(|e| anyhow::anyhow!("restarting worker1's swarmd: {e}"))?;
    println!(
        "swarmd on worker1 restarted ({:.1} s down)",
        down.as_secs_f64()
    );
    lab.wait_running(SERVICE, 3, CONVERGE)?;
    ensure!(
        lab.container_of(&worker)? == before,
        "the restart replaced the container"
    );
    ensure!(
        lab.exec_ok(&worker, &["cat", "/run/secrets/swl-pw"])? == value,
        "the secret file changed with the restart"
    );

    // The service goes: its files leave every node's tmpfs.
    lab.remove_service(SERVICE)?;
    for (node, _) in NODES {
        let files = lab_dir().join(node).join("swarmd/files");
        wait_for(
            &format!("no task files left in {}", files.display()),
            Duration::from_secs(30),
            || {
                let left: Vec<_> = std::fs::read_dir(&files)
                    .map(|d| d.flatten().map(|e| e.file_name()).collect())
                    .unwrap_or_default();
                Ok(if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{left:?}"))
                })
            },
        )?;
    }
    lab.show(&["secret", "rm", "swl-pw"])?;
    lab.show(&["config", "rm", "swl-conf"])?;
    Ok(())
}
