//! Issue 12: a manager whose container engine does not answer still serves its control socket
//! and Raft; its node shows the engine as unavailable and gets no task.

use std::time::Duration;

use integration::{wait_until, NodeProcess};

#[test]
fn a_manager_without_its_engine_serves_the_control_api_and_gets_no_task() {
    let root = tempfile::Builder::new()
        .prefix("swarmd-noengine")
        .tempdir()
        .unwrap();
    let missing = root.path().join("no-dockerd-here.sock");
    let args: Vec<String> = [
        "--executor",
        "docker",
        "--docker-host",
        &format!("unix://{}", missing.display()),
        "--mesh-backend",
        "none",
    ]
    .map(String::from)
    .to_vec();
    let node = NodeProcess::spawn_with_engine(root.path(), "m1", true, &args, &[]);

    let ls = wait_until("node ls to answer", Duration::from_secs(30), || {
        let out = node.ctl(&["node", "ls"]);
        if out.success() && out.text().contains("(no engine)") {
            Ok(out.text().to_string())
        } else {
            Err(format!("{}{}", out.text(), out.stderr))
        }
    });
    assert!(ls.contains("Ready (no engine)"), "{ls}");
    assert!(
        ls.contains("Leader"),
        "the manager leads its Raft group: {ls}"
    );

    let inspect = node
        .ctl(&["node", "inspect", "--pretty", "self"])
        .expect_ok();
    assert!(
        inspect.text().contains("unavailable, no new tasks here"),
        "{}",
        inspect.text()
    );
    assert!(
        inspect.text().contains("no-dockerd-here.sock"),
        "the reason names the socket: {}",
        inspect.text()
    );

    // Raft writes work: the service is stored, and its task waits for a node with an engine.
    node.ctl(&[
        "service",
        "create",
        "--name",
        "web",
        "--detach",
        "swarmd/whoami",
    ])
    .expect_ok();
    let ps = wait_until("the task to be explained", Duration::from_secs(10), || {
        let out = node.ctl(&["service", "ps", "--no-trunc", "web"]);
        if out.text().contains("not available for new tasks") {
            Ok(out.text().to_string())
        } else {
            Err(out.text().to_string())
        }
    });
    assert!(ps.contains("Pending"), "{ps}");
    // And the node stays Ready while it waits.
    std::thread::sleep(Duration::from_secs(2));
    let ls = node.ctl(&["node", "ls"]).expect_ok();
    assert!(ls.text().contains("Ready (no engine)"), "{}", ls.text());
}
