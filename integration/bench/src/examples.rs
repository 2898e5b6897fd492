//! The crates' own benchmark examples (scheduler_bench, mesh_bench, raft_bench), run as they
//! are documented (`cargo run --release -p CRATE --example NAME`), their figures read from
//! their output.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root (this crate lives in `integration/bench`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `crates/CRATE/examples/NAME.rs` is in the tree.
pub fn exists(krate: &str, name: &str) -> bool {
    repo_root()
        .join(format!("crates/{krate}/examples/{name}.rs"))
        .is_file()
}

/// Runs the example and returns its stdout lines (echoed, indented).
pub fn run(package: &str, name: &str, args: &[&str]) -> Result<Vec<String>> {
    println!(
        "  $ cargo run --release -p {package} --example {name} {}",
        args.join(" ")
    );
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(repo_root())
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            package,
            "--example",
            name,
            "--",
        ])
        .args(args)
        .output()
        .with_context(|| format!("running the {name} example"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in stdout.lines() {
        println!("    {line}");
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{name} failed ({}):\n{}", out.status, tail.join("\n"));
    }
    Ok(stdout.lines().map(str::to_string).collect())
}

/// The number right before `unit` on the first line containing `marker`
/// (`"... in 42.1 ms"` → 42.1 for unit `"ms"`).
pub fn figure(lines: &[String], marker: &str, unit: &str) -> Option<f64> {
    let line = lines.iter().find(|l| l.contains(marker))?;
    let tokens: Vec<&str> = line.split_whitespace().collect();
    tokens
        .windows(2)
        .find(|w| w[1].trim_end_matches([',', ')']) == unit && w[0].parse::<f64>().is_ok())
        .and_then(|w| w[0].parse().ok())
}

/// The number after `field` on the first line containing `marker`
/// (`"ratio mesh/direct: 0.93"`, field `"direct:"` → 0.93).
pub fn after(lines: &[String], marker: &str, field: &str) -> Option<f64> {
    let line = lines.iter().find(|l| l.contains(marker))?;
    let rest = &line[line.find(field)? + field.len()..];
    let token = rest.split_whitespace().next()?;
    token
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// The duration after `field` on the first line containing `marker`, in ms, whatever unit the
/// example printed (`"p50=992.15µs"` → 0.99215, `"p99= 2.46ms"` → 2.46).
pub fn duration_ms(lines: &[String], marker: &str, field: &str) -> Option<f64> {
    let line = lines.iter().find(|l| l.contains(marker))?;
    let rest = line[line.find(field)? + field.len()..].trim_start();
    let token = rest.split_whitespace().next()?;
    let split = token
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(token.len());
    let value: f64 = token[..split].parse().ok()?;
    let scale = match &token[split..] {
        "ns" => 1e-6,
        "µs" | "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        _ => return None,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_example_output() {
        let lines: Vec<String> = [
            "scheduler decision: 10000 tasks onto 1000 nodes in 41.7 ms (median of 5; target <= 100 ms)",
            "direct to task IP                      3120 req/s  p50   1.10 ms  p99   2.90 ms  errors 0",
            "throughput ratio mesh/direct: 0.931",
            "sequential writes on the leader        n=2000   p50= 1.78ms p99=35.48ms max=45.20ms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(figure(&lines, "scheduler decision", "ms"), Some(41.7));
        assert_eq!(figure(&lines, "direct to task IP", "req/s"), Some(3120.0));
        assert_eq!(after(&lines, "direct to task", "p99"), Some(2.90));
        assert_eq!(after(&lines, "throughput ratio", "direct:"), Some(0.931));
        assert_eq!(after(&lines, "on the leader", "p50="), Some(1.78));
        assert_eq!(after(&lines, "on the leader", "p99="), Some(35.48));
        assert_eq!(figure(&lines, "absent", "ms"), None);
        let raft: Vec<String> = vec![
            "sequential writes on the leader    n=2000  p50=992.15µs p90= 1.32ms p99= 2.46ms"
                .into(),
        ];
        assert_eq!(duration_ms(&raft, "on the leader", "p50="), Some(0.99215));
        assert_eq!(duration_ms(&raft, "on the leader", "p99="), Some(2.46));
        assert_eq!(duration_ms(&raft, "on the leader", "n="), None);
    }
}
