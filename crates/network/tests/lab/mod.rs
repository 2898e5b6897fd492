//! A lab of network namespaces on one machine: node namespaces (each running a real
//! `Dataplane` on its own thread) and a client namespace on a shared underlay bridge in the
//! root namespace, plus "task" namespaces standing in for containers. Everything is named
//! `sw-nt-<tag>…` and removed on drop, by name and PID, also when a test fails.
#![allow(dead_code)] // each test binary uses a different part of the lab

pub mod cluster;
pub mod http;
pub mod node;
pub mod view;

use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub use node::NodeHandle;

/// Underlay subnet inside the lab (only ever configured inside our namespaces).
pub const UNDERLAY_PREFIX: &str = "192.168.77";

pub fn underlay_ip(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, 77, host)
}

/// True when this process can build a lab. Outside CI a test without root skips with a
/// message; under `CI=true` it fails, so a broken runner never looks green.
pub fn can_run() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let nft = Command::new("nft")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if root && ip && nft {
        return true;
    }
    let why = format!("netns lab needs root, `ip` and `nft` (root={root}, ip={ip}, nft={nft})");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("SKIPPED: {why}");
    false
}

pub fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("spawn");
    assert!(
        out.status.success(),
        "`{}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Like `sh`, but for cleanup: failures (already gone) are ignored.
fn sh_quiet(args: &[&str]) {
    let _ = Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub struct Lab {
    pub tag: String,
    bridge: String,
    namespaces: Vec<String>,
    root_links: Vec<String>,
    holders: Vec<Child>,
    next_host: AtomicU32,
}

impl Lab {
    /// `tag`: 2-3 characters unique among the tests running at the same time (interface names
    /// are limited to 15 bytes).
    pub fn new(tag: &str) -> Lab {
        let bridge = format!("sw-nt-{tag}br");
        let mut lab = Lab {
            tag: tag.to_string(),
            bridge: bridge.clone(),
            namespaces: Vec::new(),
            root_links: Vec::new(),
            holders: Vec::new(),
            next_host: AtomicU32::new(1),
        };
        lab.cleanup_leftovers();
        sh(&["ip", "link", "add", &bridge, "type", "bridge"]);
        lab.root_links.push(bridge.clone());
        sh(&["ip", "link", "set", &bridge, "up"]);
        lab
    }

    /// A previous run killed before its drop ran may have left the same names behind.
    fn cleanup_leftovers(&self) {
        let prefix = format!("sw-nt-{}-", self.tag);
        if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let name = line.split_whitespace().next().unwrap_or_default();
                if name.starts_with(&prefix) {
                    sh_quiet(&["ip", "netns", "del", name]);
                }
            }
        }
        sh_quiet(&["ip", "link", "del", &self.bridge]);
    }

    pub fn ns_name(&self, what: &str) -> String {
        format!("sw-nt-{}-{what}", self.tag)
    }

    pub fn ns_path(&self, what: &str) -> String {
        format!("/run/netns/{}", self.ns_name(what))
    }

    fn add_ns(&mut self, what: &str) -> String {
        let ns = self.ns_name(what);
        sh(&["ip", "netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// A namespace on the underlay bridge with `192.168.77.<host>/24` on `ul0`; returns its IP.
    pub fn add_underlay_ns(&mut self, what: &str) -> Ipv4Addr {
        let ns = self.add_ns(what);
        let host = self.next_host.fetch_add(1, Ordering::SeqCst) as u8;
        let root_end = format!("sw-nt-{}{}", self.tag, host);
        sh(&[
            "ip", "link", "add", &root_end, "type", "veth", "peer", "name", "ul0", "netns", &ns,
        ]);
        self.root_links.push(root_end.clone());
        sh(&["ip", "link", "set", &root_end, "master", &self.bridge, "up"]);
        let ip = underlay_ip(host);
        sh(&[
            "ip",
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "ul0",
        ]);
        sh(&["ip", "-n", &ns, "link", "set", "ul0", "up"]);
        ip
    }

    /// A "container": an empty namespace held by a `sleep` whose PID the data plane uses.
    pub fn add_task_ns(&mut self, what: &str) -> u32 {
        let ns = self.add_ns(what);
        let child = Command::new("ip")
            .args(["netns", "exec", &ns, "sleep", "3600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let pid = child.id();
        self.holders.push(child);
        // `ip netns exec` execs into sleep once it has entered the namespace.
        let ns_ino = std::fs::metadata(format!("/run/netns/{ns}"))
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap();
        for _ in 0..200 {
            let cur = std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m));
            if cur.is_ok_and(|ino| ino == ns_ino) {
                return pid;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("sleep never entered {ns}");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.holders {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            sh_quiet(&["ip", "netns", "del", ns]);
        }
        for link in &self.root_links {
            sh_quiet(&["ip", "link", "del", link]);
        }
    }
}
