//! Issue 2, bad input to `swarmd`: each refused start exits non-zero, says on stderr what is
//! wrong, and leaves the state dir as it was (absent, or byte for byte unchanged).

use std::path::Path;
use std::time::Duration;

use integration::ctl::swarmd;
use integration::ports::free_addr;
use integration::tree::read_tree;
use integration::{Cluster, CtlOutput};

/// Asserts a refusal: non-zero exit and every word of `names` (case-insensitive) on stderr.
#[track_caller]
fn assert_refused(out: &CtlOutput, names: &[&str]) {
    assert!(
        out.status.is_some(),
        "swarmd did not exit on bad input: {out}"
    );
    assert!(!out.success(), "swarmd accepted bad input: {out}");
    let stderr = out.stderr.to_lowercase();
    for name in names {
        assert!(
            stderr.contains(&name.to_lowercase()),
            "stderr does not name `{name}`: {out}"
        );
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Flags of a fresh node in `dir` (test executor, no data plane, a free port).
fn fresh(dir: &Path) -> Vec<String> {
    [
        "--state-dir",
        &path(dir),
        "--hostname",
        "bad",
        "--listen-addr",
        &free_addr().to_string(),
        "--executor",
        "test",
        "--mesh-backend",
        "none",
    ]
    .map(String::from)
    .to_vec()
}

fn run(args: &[String]) -> CtlOutput {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    swarmd(&args)
}

#[test]
fn an_unknown_flag_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("node");
    let mut args = fresh(&dir);
    args.push("--bogus".into());
    let out = run(&args);
    assert_refused(&out, &["--bogus"]);
    assert!(!dir.exists(), "an unknown flag created the state dir");
}

#[test]
fn a_bad_ingress_subnet_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m1");
    let mut args = fresh(&dir);
    args.extend(["--ingress-subnet".into(), "10.300.0.0/16".into()]);
    let out = run(&args);
    assert_refused(&out, &["--ingress-subnet", "10.300.0.0/16"]);
    assert!(
        !dir.exists(),
        "a refused cluster creation left {}",
        dir.display()
    );
}

#[test]
fn a_bad_default_address_pool_is_refused_before_anything_is_written() {
    for (pool, mask_len, names) in [
        (
            "10.0.0.0",
            "24",
            &["--default-addr-pool", "10.0.0.0", "CIDR"][..],
        ),
        (
            "10.0.0.0/16",
            "8",
            &["--default-addr-pool-mask-len", "10.0.0.0/16"],
        ),
        ("10.0.0.0/8", "30", &["--default-addr-pool-mask-len", "/29"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m1");
        let mut args = fresh(&dir);
        args.extend(
            [
                "--default-addr-pool",
                pool,
                "--default-addr-pool-mask-len",
                mask_len,
            ]
            .map(String::from),
        );
        let out = run(&args);
        assert_refused(&out, names);
        assert!(
            !dir.exists(),
            "a refused cluster creation left {}",
            dir.display()
        );
    }
}

#[test]
fn networks_get_their_subnets_from_the_pool_given_at_creation() {
    let flags = [
        "--default-addr-pool",
        "172.30.0.0/16",
        "--default-addr-pool-mask-len",
        "26",
    ]
    .map(String::from);
    let mut cluster = Cluster::start_with_flags(1, 0, &flags);
    let out = cluster.ctl(&["network", "create", "back"]).expect_ok();
    let id = out.stdout.trim().to_string();
    let inspect = cluster
        .ctl(&["network", "inspect", "back"])
        .expect_ok()
        .stdout;
    let json: serde_json::Value = serde_json::from_str(&inspect).expect("inspect is JSON");
    assert_eq!(json[0]["id"], id.as_str());
    assert_eq!(json[0]["spec"]["subnet"], "172.30.0.0/26");
    assert_eq!(json[0]["spec"]["gateway"], "172.30.0.1");
    assert_eq!(json[0]["spec"]["vni"], 4097);
    let pool = cluster.ctl(&["cluster", "inspect"]).expect_ok().stdout;
    assert!(pool.contains("172.30.0.0/16"), "{pool}");
}

#[test]
fn an_unreachable_join_address_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("node");
    let nobody = free_addr().to_string();
    let mut args = fresh(&dir);
    args.extend(["--join-addr", &nobody, "--join-token", "SWMTKN-1-abc-def"].map(String::from));
    let out = run(&args);
    assert_refused(&out, &[&nobody]);
    assert!(
        read_tree(&dir).is_empty(),
        "a failed join left files: {:?}",
        read_tree(&dir).keys()
    );
}

#[test]
fn wrong_and_rotated_tokens_are_refused_and_nothing_is_written() {
    let mut cluster = Cluster::start(1, 0);
    let worker = cluster
        .ctl(&["cluster", "join-token", "worker", "-q"])
        .expect_ok()
        .text()
        .to_string();
    let mut forged = worker.clone();
    let last = forged.pop().expect("a token");
    forged.push(if last == 'a' { 'b' } else { 'a' });
    cluster
        .ctl(&["cluster", "join-token", "worker", "--rotate", "-q"])
        .expect_ok();
    let nodes_before = cluster.try_node_ls().expect("node ls").len();
    let join = cluster.nodes[0].addr.to_string();

    for (what, token) in [
        ("garbage", "not-a-token".to_string()),
        ("forged secret", forged),
        ("rotated out", worker),
    ] {
        let dir = cluster
            .root()
            .join(format!("bad-{}", what.replace(' ', "-")));
        let mut args = fresh(&dir);
        args.extend([
            "--join-addr".into(),
            join.clone(),
            "--join-token".into(),
            token,
        ]);
        let out = run(&args);
        println!("{what} token: {}", out.stderr.trim());
        assert_refused(&out, &["token"]);
        assert!(
            read_tree(&dir).is_empty(),
            "a refused join ({what}) left files: {:?}",
            read_tree(&dir).keys()
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        cluster.try_node_ls().expect("node ls").len(),
        nodes_before,
        "a refused join added a node"
    );
}

#[test]
fn a_corrupted_identity_is_refused_and_left_untouched() {
    let root = tempfile::tempdir().expect("tempdir");
    for (what, contents) in [("garbage", &b"garbage{"[..]), ("empty", &b""[..])] {
        let dir = root.path().join(what);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("node.json"), contents).expect("write node.json");
        let before = read_tree(&dir);
        let out = run(&["--state-dir".into(), path(&dir)]);
        assert_refused(&out, &["node.json", "corrupt"]);
        assert_eq!(
            read_tree(&dir),
            before,
            "a refused start ({what}) changed the state dir"
        );
    }
}

#[test]
fn a_corrupted_raft_database_is_refused_and_left_untouched() {
    let mut cluster = Cluster::start(1, 0);
    cluster.create_service("kept", &["nginx"]);
    let node = &mut cluster.nodes[0];
    node.terminate(Duration::from_secs(10))
        .expect("m1 stops on SIGTERM");
    let db = node.state_dir.join("raft").join("raft.redb");
    assert!(db.is_file(), "no raft database at {}", db.display());
    std::fs::write(&db, vec![0x5a; 8192]).expect("overwrite the raft db");
    let before = read_tree(&node.state_dir);
    let out = run(&["--state-dir".into(), path(&node.state_dir)]);
    assert_refused(&out, &["raft.redb"]);
    assert_eq!(
        read_tree(&node.state_dir),
        before,
        "a refused start changed the state dir"
    );
}

#[test]
fn an_unwritable_state_dir_is_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let file = root.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    for dir in [file.clone(), file.join("below-a-file")] {
        let out = run(&fresh(&dir));
        assert_refused(&out, &["state directory", &path(&dir)]);
        assert_eq!(
            std::fs::read(&file).expect("read"),
            b"not a directory",
            "the file in the way was changed"
        );
    }
    // Permissions bind only non-root users; as root a read-only dir is still writable.
    if !nix::unistd::Uid::effective().is_root() {
        use std::os::unix::fs::PermissionsExt;
        let dir = root.path().join("read-only");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let out = run(&fresh(&dir));
        assert_refused(&out, &[&path(&dir)]);
        assert!(
            read_tree(&dir).is_empty(),
            "files written into a read-only dir"
        );
    }
}
