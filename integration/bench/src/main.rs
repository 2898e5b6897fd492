//! `swarm-bench`: issue 8's instrument, one command measuring swarmd against its targets and
//! against Docker's own swarm mode on this machine. Prints a markdown table and writes
//! `DIR/bench.json` and `DIR/latency.png`.
//!
//! Sections (the letters of issue 8):
//! - [`raft`] a. commit latency/throughput on 3 loopback managers; e. leader kill → write.
//! - [`scheduler`] b. 10,000 tasks onto 1,000 nodes (the `scheduler_bench` example).
//! - [`control_plane`] c. 3 managers + 100 in-process agents, replicas=1000; g. memory.
//! - [`convergence`] d. 30 real replicas on the lab vs Docker swarm mode ([`docker_swarm`]).
//! - [`lab_failover`] e. worker kill on the lab.
//! - [`mesh`] f. mesh vs direct, 1,000 services, propagation; [`propagation`] f. propagation
//!   on the lab with 1,000 published services.
//! - [`resolver`] n. the embedded DNS's answer latency at 5,000 queries/s; [`overlay`] v. on
//!   the lab: VIP vs direct from a client container, task RUNNING → its name on every node.
//! - [`scrape`] m. `GET /metrics` on a leader holding 10,000 tasks.
//! - [`engine_api`] x. the real docker CLI against swarmd's Engine API and Docker's swarm mode.
//! - [`scale`] h. swarm2k/3k-style scale: 3 managers + thousands of [`simnode`]s ([`fleet`]),
//!   up to 100,000 tasks, and [`scale_faults`] under that load. Long: only with `--only h`.
//!
//! [`managers`] and [`lab`] drive processes and the lab; [`control`] is the Control API;
//! [`report`], [`plot`] and [`scale_plot`] are the outputs; [`rss`] samples memory.

mod control;
mod control_plane;
mod convergence;
mod dnsload;
mod docker_names;
mod docker_swarm;
mod engine_api;
mod examples;
mod fleet;
#[allow(dead_code)] // shared with the fault tests: each binary uses a part of it
mod lab;
mod lab_failover;
mod managers;
mod mesh;
mod overlay;
mod plot;
mod propagation;
mod raft;
mod report;
mod resolver;
mod rss;
mod scale;
mod scale_faults;
mod scale_ops;
mod scale_plot;
mod scheduler;
mod scrape;
mod secrets;
mod simnode;
mod stacks;

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

use crate::report::Report;

#[derive(Parser)]
#[command(about = "Benchmarks swarmd (and Docker's swarm mode, as root) on this machine")]
struct Flags {
    /// Fewer samples everywhere: a full run in under ~5 minutes.
    #[arg(long)]
    quick: bool,
    /// Where bench.json and latency.png go.
    #[arg(long, default_value = "bench-out")]
    out: PathBuf,
    /// Run only these sections (letters of issue 8, e.g. `a,b,c`); default: all but h.
    #[arg(long, value_delimiter = ',')]
    only: Vec<char>,
    /// h: simulated agent counts of the curve, one cluster each.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,5000")]
    scale_agents: Vec<usize>,
    /// h: task counts of the curve (100 services each), created from zero in turn.
    #[arg(long, value_delimiter = ',', default_value = "10000,50000,100000")]
    scale_tasks: Vec<usize>,
    /// h: the limit of each point (joins, all RUNNING, removal), in seconds.
    #[arg(long, default_value_t = 300)]
    scale_limit: u64,
}

impl Flags {
    /// Every section but h, unless named: h takes many minutes.
    fn wants(&self, letter: char) -> bool {
        if self.only.is_empty() {
            letter != 'h'
        } else {
            self.only.contains(&letter)
        }
    }

    fn scale_plan(&self) -> anyhow::Result<scale::Plan> {
        let bad = |what: &str| anyhow::anyhow!("--{what}: give at least one count, e.g. 1000,5000");
        anyhow::ensure!(!self.scale_agents.is_empty(), bad("scale-agents"));
        anyhow::ensure!(!self.scale_tasks.is_empty(), bad("scale-tasks"));
        if let Some(t) = self.scale_tasks.iter().find(|t| *t % scale::SERVICES != 0) {
            anyhow::bail!(
                "--scale-tasks: {t} is not a multiple of {} (the tasks are spread over {} services)",
                scale::SERVICES,
                scale::SERVICES
            );
        }
        Ok(scale::Plan {
            agents: self.scale_agents.clone(),
            tasks: self.scale_tasks.clone(),
            limit: std::time::Duration::from_secs(self.scale_limit.max(1)),
        })
    }
}

const NEEDS_ROOT: &str = "skipped: needs root";

#[tokio::main]
async fn main() -> Result<()> {
    let flags = Flags::parse();
    std::fs::create_dir_all(&flags.out)?;
    let root = nix::unistd::Uid::effective().is_root();
    let mut report = Report {
        machine: report::machine(),
        quick: flags.quick,
        load_start: report::load_average(),
        ..Default::default()
    };
    println!(
        "swarm-bench on {} (load {})",
        report.machine, report.load_start
    );
    let bins = managers::Binaries::locate();

    if flags.wants('a') {
        section("a. Raft + e. leader failover (3 managers on loopback)");
        let r = raft::run(&mut report, &bins, flags.quick).await;
        record(&mut report, "a. raft", r);
        if examples::exists("store", "raft_bench") {
            let r = raft::example(&mut report);
            record(&mut report, "a. raft (raft_bench)", r);
        }
    }
    if flags.wants('b') {
        section("b. scheduler");
        let r = scheduler::run(&mut report);
        record(&mut report, "b. scheduler", r);
    }
    if flags.wants('c') || flags.wants('g') {
        section("c. control plane + g. memory");
        let r = control_plane::run(&mut report, &bins).await;
        record(&mut report, "c. control plane", r);
    }

    if flags.wants('n') {
        section("n. embedded DNS");
        let r = resolver::run(&mut report, flags.quick);
        record(&mut report, "n. resolver", r);
    }
    if flags.wants('m') {
        section("m. GET /metrics on a leader with 10,000 tasks");
        let r = scrape::run(&mut report, &bins).await;
        record(&mut report, "m. metrics scrape", r);
    }
    if flags.wants('x') {
        if root {
            section("x. Engine API vs Docker swarm mode");
            let r = engine_api::run(&mut report, &bins, flags.quick).await;
            record(&mut report, "x. Engine API", r);
        } else {
            report.missing("x. Engine API", "all", NEEDS_ROOT);
        }
    }
    if flags.wants('h') {
        section(scale::SECTION);
        let plan = flags.scale_plan()?;
        let r = scale::run(&mut report, &bins, &plan).await;
        record(&mut report, "h. scale", r);
    }

    let lab = lab::Lab::new(examples::repo_root().join("integration/lab/lab.sh"));
    let lab_parts = ['d', 'e', 'f', 'k', 's', 'v']
        .into_iter()
        .any(|s| flags.wants(s));
    if root && lab_parts {
        section("the lab");
        match lab.ensure_up() {
            Ok(brought_up) => {
                println!(
                    "  lab {}",
                    if brought_up {
                        "brought up"
                    } else {
                        "already up"
                    }
                );
                if flags.wants('d') {
                    section("d. convergence vs Docker swarm mode");
                    let r = convergence::run(&mut report, &lab).await;
                    record(&mut report, "d. convergence", r);
                }
                if flags.wants('f') {
                    section("f. mesh on the lab");
                    let r = mesh::lab(&mut report, &lab, flags.quick).await;
                    record(&mut report, "f. mesh (lab)", r);
                    let r = propagation::lab(&mut report, &lab, flags.quick).await;
                    record(&mut report, "f. propagation (lab)", r);
                }
                if flags.wants('k') {
                    section("k. stack deploy vs docker stack deploy");
                    let r = stacks::run(&mut report, &lab).await;
                    record(&mut report, "k. stacks (lab)", r);
                }
                if flags.wants('s') {
                    section("s. secrets and configs on the lab");
                    let r = secrets::run(&mut report, &lab, flags.quick).await;
                    record(&mut report, "s. secrets (lab)", r);
                }
                if flags.wants('v') {
                    section("v. user network on the lab");
                    let r = overlay::lab(&mut report, &lab, flags.quick).await;
                    record(&mut report, "v. user network (lab)", r);
                }
                if flags.wants('e') {
                    section("e. worker failover on the lab");
                    let r = lab_failover::run(&mut report, &lab).await;
                    record(&mut report, "e. failover (lab)", r);
                }
                if brought_up {
                    lab.run(&["down"]);
                }
            }
            Err(e) => report.missing("lab", "d, e, f on the lab", &format!("failed: {e}")),
        }
        if flags.wants('f') {
            section("f. mesh_bench");
            let r = mesh::example(&mut report);
            record(&mut report, "f. mesh (mesh_bench)", r);
        }
    } else if lab_parts {
        for s in [
            "d. convergence",
            "e. failover (lab)",
            "f. mesh",
            "k. stacks (lab)",
            "s. secrets (lab)",
            "v. user network (lab)",
        ] {
            report.missing(s, "all", NEEDS_ROOT);
        }
    }

    report.load_end = report::load_average();
    let png = flags.out.join("latency.png");
    if let Err(e) = plot::draw(&report.samples, &png) {
        report.missing("plot", "latency.png", &format!("failed: {e:#}"));
    }
    if !report.scale.is_empty() {
        let png = flags.out.join("scale.png");
        if let Err(e) = scale_plot::draw(&report.scale, &png) {
            report.missing("plot", "scale.png", &format!("failed: {e:#}"));
        }
    }
    std::fs::write(
        flags.out.join("bench.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!("\n{}", report.markdown());
    println!(
        "wrote {} and {}",
        flags.out.join("bench.json").display(),
        png.display()
    );
    Ok(())
}

fn section(name: &str) {
    println!("\n== {name} (load {})", report::load_average());
}

/// A failed section becomes a row saying so; the run goes on with the next one.
fn record(report: &mut Report, section: &str, result: Result<()>) {
    if let Err(e) = result {
        eprintln!("  {section} failed: {e:#}");
        report.missing(section, "—", &format!("failed: {e:#}"));
    }
}
