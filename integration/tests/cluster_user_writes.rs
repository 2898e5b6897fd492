//! A user's read-modify-write (`service scale`, `service update`) must not be refused because
//! the managers' own components wrote the service meanwhile: only a concurrent *user* change
//! is a conflict. Scaling right after creating is the everyday case (scripts, CI).

use std::time::Duration;

use integration::Cluster;

const ROUNDS: usize = 30;

#[test]
fn scaling_right_after_create_is_not_a_conflict() {
    let mut cluster = Cluster::start(1, 1);
    let mut refused = Vec::new();
    for i in 0..ROUNDS {
        let name = format!("s{i}");
        cluster.create_service(&name, &["nginx"]);
        let out = cluster.ctl(&["service", "scale", "-d", &format!("{name}=2")]);
        if !out.success() {
            refused.push(out.to_string());
        }
    }
    println!(
        "{} of {ROUNDS} scales right after create refused",
        refused.len()
    );
    assert!(
        refused.is_empty(),
        "{} of {ROUNDS} scales right after create were refused as conflicts:\n{}",
        refused.len(),
        refused.join("\n")
    );
    // And the scales that went through took effect.
    cluster.wait_running("s0", 2, Duration::from_secs(20));
}
