//! Issue 19, part 1 on the three-node lab: the live visualizer that the manager's swarmd serves
//! (`--web-addr`, which lab.sh gives it on port 8081), loaded in a real headless Chromium from
//! the lab's client. The page shows the 3 nodes and a service's cards, follows a scale to 6
//! and a drain without being reloaded, and its screenshot becomes docs/visualizer.png.
//!
//! Root only, one lab test at a time (`cargo nextest run -p integration --test
//! lab_visualizer`); the browser needs Debian's chromium and node (README command 2).

#[path = "support_browser/mod.rs"]
mod support_browser;
#[path = "support_lab/mod.rs"]
mod support_lab;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use serde_json::json;
use support_browser::{now_ms, visualizer_up, Browser, Cards};
use support_lab::*;

const WEB: &str = "http://192.168.56.10:8081/";
/// The bound for a change to show without reload.
const LIVE: Duration = Duration::from_secs(2);
const CONVERGE: Duration = Duration::from_secs(60);

/// Puts a drained node back, whatever happened to the test.
struct Undrain<'a>(&'a Lab, &'static str);

impl Drop for Undrain<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .ctl(&["node", "update", "--availability", "active", self.1]);
    }
}

#[test]
fn lab_visualizer_shows_the_cluster_live_in_a_browser() -> Result<()> {
    let Some(lab) = ensure_lab() else {
        return Ok(());
    };
    let Some(mut browser) = Browser::start()? else {
        return Ok(());
    };
    let _t = Timer::start("issue 19: the visualizer in headless Chromium");
    visualizer_up(&lab, WEB)?;
    lab.create_service(
        "web",
        &[
            "--replicas",
            "3",
            "--publish",
            "8080:80",
            "swarmd/whoami:latest",
        ],
    )?;
    lab.wait_running("web", 3, CONVERGE)?;

    browser.call(json!({"cmd": "open", "url": WEB}))?;
    browser.call(json!({"cmd": "mark"}))?;
    let cols = browser.columns()?;
    let hostnames: Vec<String> = cols
        .iter()
        .map(|c| str_field(c, "hostname"))
        .collect::<Result<_>>()?;
    ensure!(
        hostnames == ["manager", "worker1", "worker2"],
        "node columns: {hostnames:?}"
    );
    ensure!(
        cols[0]["leader"] == json!(true),
        "no leader star on the manager: {cols:?}"
    );
    for c in &cols {
        let facts = c["facts"].to_string();
        ensure!(
            facts.contains("\"Ready\"") && facts.contains("engine "),
            "column facts: {facts}"
        );
    }
    browser.wait_cards(Cards::of("web", 3), Duration::from_secs(5))?;
    // Each node's mesh table, read back from its kernel, lists 8080 with 3 backends.
    wait_for("8080 in every node's mesh column", CONVERGE, || {
        let cols = browser.columns()?;
        let missing: Vec<String> = cols
            .iter()
            .filter(|c| {
                let mesh = c["mesh"].as_str().unwrap_or("");
                !(mesh.contains("8080/tcp") && mesh.matches(":80").count() >= 3)
            })
            .map(|c| c["mesh"].to_string())
            .collect();
        Ok(if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("{missing:?}"))
        })
    })?;

    browser.arm(Cards::of("web", 6), LIVE)?;
    let t0 = now_ms();
    lab.ctl(&["service", "scale", "web=6"])?;
    let shown = browser.settle()?;
    println!(
        "scale web=6 → 6 cards painted in {} ms ({} ms after the newest task's creation; the \
         manager rendered that document {} ms before the paint)",
        shown.at - t0,
        shown.at - shown.newest_created,
        shown.at - shown.rendered_at
    );
    ensure!(
        browser.call(json!({"cmd": "marked"}))?["marked"] == json!(true),
        "the page was reloaded"
    );
    lab.wait_running("web", 6, CONVERGE)?;
    wait_for("6 running cards", CONVERGE, || {
        let running = browser.running_cards("web")?;
        Ok(if running == 6 {
            Ok(())
        } else {
            Err(format!("{running} running"))
        })
    })?;
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/visualizer.png");
    browser.call(json!({"cmd": "screenshot", "path": shot}))?;
    println!("screenshot: {}", shot.display());

    // Drain worker1: its cards leave its column and as many appear on the other nodes.
    let before = browser.cards_per_node("web")?;
    ensure!(
        before.iter().any(|(n, _)| n == "worker1"),
        "no web card on worker1 to move: {before:?}"
    );
    let _undrain = Undrain(&lab, "worker1");
    let gone = Cards {
        node: Some("worker1"),
        ..Cards::of("web", 0)
    };
    browser.arm(gone, LIVE)?;
    let t0 = Instant::now();
    lab.ctl(&["node", "update", "--availability", "drain", "worker1"])?;
    browser.settle()?;
    browser.wait_cards(Cards::of("web", 6), Duration::from_secs(10))?;
    let stopped = Cards {
        leaving: true,
        ..gone
    };
    browser.wait_cards(stopped, CONVERGE)?;
    let after = browser.cards_per_node("web")?;
    println!(
        "drain worker1: cards moved in {:.2} s: {before:?} → {after:?}",
        t0.elapsed().as_secs_f64()
    );
    ensure!(
        after.len() == 6 && after.iter().all(|(n, _)| n != "worker1"),
        "after the drain: {after:?}"
    );
    let facts = browser.columns()?[1]["facts"].to_string();
    ensure!(facts.contains("Drain"), "worker1's column: {facts}");
    ensure!(
        browser.call(json!({"cmd": "marked"}))?["marked"] == json!(true),
        "the page was reloaded"
    );
    Ok(())
}
