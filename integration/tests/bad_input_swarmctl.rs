//! Issues 2/3/8, a table of malformed `swarmctl` invocations against a live cluster (1 manager
//! `m1` + 1 worker `w1`, services `web` publishing 8080 and `other` on network `back` using
//! secret `pw`): each must exit non-zero,
//! name the offending flag or field on stderr, and leave the cluster state unchanged (read back
//! with `service ls`, `service inspect`, `node ls`, `cluster inspect`, the networks, secrets
//! and configs before and after).

use std::path::Path;
use std::time::Duration;

use integration::{wait_until, Cluster};

/// One malformed invocation and the words its error must contain (case-insensitive).
struct Case {
    args: Vec<String>,
    names: Vec<&'static str>,
}

fn case(args: &[&str], names: &[&'static str]) -> Case {
    Case {
        args: args.iter().map(|a| a.to_string()).collect(),
        names: names.to_vec(),
    }
}

/// `service create -d EXTRA... IMAGE`.
fn create(extra: &[&str], names: &[&'static str]) -> Case {
    let mut args = vec!["service", "create", "-d"];
    args.extend_from_slice(extra);
    if !extra.iter().any(|a| a.contains("nginx") || a.is_empty()) {
        args.push("nginx");
    }
    case(&args, names)
}

/// `files` holds `data` (a few bytes), `empty` and `big` (600 KiB), and no `missing`.
fn table(files: &Path) -> Vec<Case> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let long_name = leak("a".repeat(300));
    let file = |name: &str| leak(files.join(name).display().to_string());
    let (data, empty, big, missing) = (file("data"), file("empty"), file("big"), file("missing"));
    vec![
        // Published ports.
        create(&["--publish", "70000:80"], &["--publish", "70000"]),
        create(&["--publish", "65536:80"], &["--publish", "65536"]),
        create(&["--publish", "abc"], &["--publish", "abc"]),
        create(&["--publish", "80:0"], &["--publish", "target port"]),
        create(&["--publish", "80:80/sctp"], &["--publish", "sctp"]),
        create(
            &["--publish", "mode=bridge,published=9100,target=80"],
            &["--publish", "bridge"],
        ),
        create(
            &["--publish", "mode=host,target=80"],
            &["--publish", "published"],
        ),
        create(
            &["--publish", "9000:80", "--publish", "9000:81"],
            &["9000", "twice"],
        ),
        create(
            &["--name", "clash", "--publish", "8080:81"],
            &["8080", "already published"],
        ),
        case(
            &["service", "update", "--publish-add", "8080:90", "other"],
            &["8080", "already published"],
        ),
        case(
            &["service", "update", "--publish-add", "70000:80", "web"],
            &["--publish-add", "70000"],
        ),
        // Constraints and placement.
        create(
            &["--constraint", "node.colour==red"],
            &["--constraint", "node.colour"],
        ),
        create(
            &["--constraint", "node.role=manager"],
            &["--constraint", "=="],
        ),
        create(
            &["--constraint", "node.labels.==x"],
            &["--constraint", "label name"],
        ),
        case(
            &[
                "service",
                "update",
                "--constraint-add",
                "node.rol==manager",
                "web",
            ],
            &["--constraint", "node.rol"],
        ),
        create(
            &["--placement-pref", "spread=node.colour"],
            &["--placement-pref"],
        ),
        // Replicas and mode.
        create(&["--replicas", "-1"], &["--replicas"]),
        create(&["--replicas=-1"], &["--replicas", "-1"]),
        create(&["--replicas", "three"], &["--replicas", "three"]),
        create(&["--replicas", "100001"], &["--replicas", "100000"]),
        create(&["--mode", "bogus"], &["--mode", "bogus"]),
        create(
            &["--mode", "global", "--replicas", "3"],
            &["--replicas", "replicated"],
        ),
        case(
            &["service", "update", "--replicas", "-1", "web"],
            &["--replicas"],
        ),
        case(&["service", "scale", "web=-1"], &["web=-1"]),
        case(&["service", "scale", "web"], &["web", "SERVICE=REPLICAS"]),
        case(&["service", "scale", "web=abc"], &["abc"]),
        case(&["service", "scale", "web=100001"], &["replicas", "100000"]),
        case(&["service", "scale", "nosuch=3"], &["nosuch", "not found"]),
        // Names and images.
        create(&["--name", "web"], &["web", "already exists"]),
        create(&["--name", "WEB"], &["WEB", "already exists"]),
        create(&["--name", long_name], &["--name", "63"]),
        create(&["--name", "bad.name"], &["--name", "bad.name"]),
        create(&["--name", "_name"], &["--name", "starts or ends"]),
        create(&[""], &["image", "empty"]),
        create(&["UPPER/Case:tag"], &["image", "uppercase"]),
        create(&["nginx:bad tag"], &["image", "whitespace"]),
        create(&["nginx@sha256:zz"], &["image", "digest"]),
        case(
            &["service", "update", "--image", "", "web"],
            &["image", "empty"],
        ),
        // Durations, sizes, policies, key=value lists.
        create(&["--update-delay", "5x"], &["--update-delay", "5x"]),
        create(&["--update-delay", "48h"], &["--update-delay", "day"]),
        create(
            &["--stop-grace-period", "forever"],
            &["--stop-grace-period", "forever"],
        ),
        create(&["--reserve-memory", "12Q"], &["--reserve-memory", "12Q"]),
        create(&["--reserve-cpu", "abc"], &["--reserve-cpu", "abc"]),
        create(
            &["--restart-condition", "sometimes"],
            &["--restart-condition", "sometimes"],
        ),
        create(
            &["--update-order", "sideways"],
            &["--update-order", "sideways"],
        ),
        create(
            &["--update-max-failure-ratio", "2"],
            &["--update-max-failure-ratio"],
        ),
        create(&["--env", "=novalue"], &["--env", "empty name"]),
        create(&["--label", "=x"], &["--label", "empty key"]),
        case(&["service", "rollback", "web"], &["web", "previous"]),
        // Unknown objects.
        case(&["service", "inspect", "nosuch"], &["nosuch", "not found"]),
        case(&["service", "rm", "nosuch"], &["nosuch", "not found"]),
        case(&["service", "ps", "nosuch"], &["nosuch", "not found"]),
        case(
            &["node", "inspect", "nosuchnode"],
            &["nosuchnode", "not found"],
        ),
        case(
            &["node", "update", "--label-add", "zone=b", "nosuchnode"],
            &["nosuchnode", "not found"],
        ),
        case(
            &["node", "promote", "nosuchnode"],
            &["nosuchnode", "not found"],
        ),
        case(&["node", "rm", "nosuchnode"], &["nosuchnode", "not found"]),
        // Nodes.
        case(
            &["node", "update", "--availability", "sleepy", "w1"],
            &["--availability", "sleepy"],
        ),
        case(
            &["node", "update", "--role", "boss", "w1"],
            &["--role", "boss"],
        ),
        case(
            &["node", "update", "--label-add", "=x", "w1"],
            &["--label-add", "empty key"],
        ),
        case(&["node", "demote", "m1"], &["m1", "last manager"]),
        case(&["node", "rm", "w1"], &["w1", "--force"]),
        // Networks.
        net(
            &["--driver", "bridge", "x"],
            &["--driver", "bridge", "overlay"],
        ),
        net(
            &["--subnet", "10.0.9.0", "x"],
            &["--subnet", "10.0.9.0", "CIDR"],
        ),
        net(
            &["--subnet", "10.0.9.7/24", "x"],
            &["--subnet", "10.0.9.0/24"],
        ),
        net(
            &["--subnet", "10.0.9.0/24", "--gateway", "10.0.8.1", "x"],
            &["--gateway", "10.0.8.1"],
        ),
        net(&["--gateway", "10.0.8.1", "x"], &["--gateway", "--subnet"]),
        net(&["bad/name"], &["NAME", "bad/name"]),
        net(&["ingress"], &["NAME", "ingress"]),
        net(&["back"], &["back", "already exists"]),
        net(
            &["--subnet", "10.255.1.0/24", "x"],
            &["subnet", "10.255.1.0/24", "ingress"],
        ),
        net(&["--label", "=v", "x"], &["--label", "empty key"]),
        case(
            &["network", "rm", "ingress"],
            &["ingress", "cannot be removed"],
        ),
        case(
            &["network", "rm", "back"],
            &["back", "other", "--network-rm"],
        ),
        case(&["network", "rm", "nosuchnet"], &["nosuchnet", "not found"]),
        create(
            &["--network", "nosuchnet"],
            &["networks[0]", "nosuchnet", "network create"],
        ),
        create(&["--network", "ingress"], &["--network", "--publish"]),
        create(
            &["--network", "name=back,alias=bad_alias"],
            &["--network", "bad_alias"],
        ),
        create(
            &["--network", "name=back,colour=red"],
            &["--network", "colour"],
        ),
        create(
            &["--endpoint-mode", "dnsrr", "--publish", "9100:80"],
            &["--endpoint-mode vip"],
        ),
        create(
            &["--endpoint-mode", "anycast"],
            &["--endpoint-mode", "anycast"],
        ),
        create(
            &["--mount", "type=bind,source=/srv,target=/d,colour=red"],
            &["--mount", "colour"],
        ),
        create(
            &["--mount", "type=volume,source=data,target=relative"],
            &["--mount", "relative", "absolute"],
        ),
        create(
            &["--mount", "type=bind,target=/d"],
            &["--mount", "source", "missing"],
        ),
        create(
            &["--mount", "type=tmpfs,source=x,target=/d"],
            &["--mount", "tmpfs has no source"],
        ),
        case(
            &["service", "update", "--mount-rm", "/nope", "web"],
            &["--mount-rm", "/nope"],
        ),
        case(
            &["service", "update", "--network-rm", "nosuchnet", "web"],
            &["--network-rm", "nosuchnet"],
        ),
        case(
            &["service", "update", "--network-add", "back", "other"],
            &["--network-add", "back", "already"],
        ),
        // Secrets and configs.
        case(
            &["secret", "create", "bad/name", data],
            &["NAME", "bad/name"],
        ),
        case(&["secret", "create", "x", empty], &["FILE", empty, "empty"]),
        case(&["config", "create", "x", big], &["FILE", big, "500 KiB"]),
        case(&["secret", "create", "x", missing], &["FILE", missing]),
        case(&["secret", "create", "pw", data], &["pw", "already exists"]),
        case(
            &["secret", "create", "--label", "=v", "x", data],
            &["--label", "empty key"],
        ),
        create(
            &["--secret", "nosuch"],
            &["--secret", "nosuch", "swarmctl secret create"],
        ),
        create(
            &["--config", "nosuchconf"],
            &["--config", "nosuchconf", "swarmctl config create"],
        ),
        create(
            &["--secret", "source=pw,colour=red"],
            &["--secret", "colour"],
        ),
        create(&["--secret", "source=pw,target=../x"], &["--secret", ".."]),
        create(
            &["--secret", "source=pw,mode=999"],
            &["--secret", "mode", "999"],
        ),
        case(&["secret", "rm", "pw"], &["pw", "in use", "other"]),
        case(&["config", "rm", "nosuch"], &["nosuch", "not found"]),
        case(&["secret", "inspect", "nosuch"], &["nosuch", "not found"]),
        case(
            &["service", "update", "--secret-rm", "nosuch", "web"],
            &["--secret-rm", "nosuch"],
        ),
        case(
            &["service", "update", "--secret-add", "pw", "other"],
            &["--secret-add", "pw", "already"],
        ),
    ]
}

/// `network create EXTRA...`.
fn net(extra: &[&str], names: &[&'static str]) -> Case {
    let mut args = vec!["network", "create"];
    args.extend_from_slice(extra);
    case(&args, names)
}

/// Everything a refused command must not change, as `swarmctl` reads it back.
fn state(cluster: &mut Cluster) -> String {
    let mut out = String::new();
    for args in [
        &["service", "ls", "--format", "json"][..],
        &["service", "inspect", "web", "other"],
        &["node", "ls", "--format", "json"],
        &["cluster", "inspect"],
        &["network", "ls", "--format", "json"],
        &["network", "inspect", "back"],
        &["secret", "ls", "-q"],
        &["config", "ls", "-q"],
        &["secret", "inspect", "pw"],
    ] {
        out.push_str(&cluster.ctl(args).expect_ok().stdout);
    }
    out
}

/// The state once two reads in a row agree.
fn settled_state(cluster: &mut Cluster) -> String {
    let mut last = String::new();
    wait_until("the state to settle", Duration::from_secs(10), || {
        let now = state(cluster);
        if now == last {
            Ok(now)
        } else {
            last = now;
            Err("still changing".to_string())
        }
    })
}

#[test]
fn malformed_invocations_are_refused_by_name_and_change_nothing() {
    let mut cluster = Cluster::start(1, 1);
    let files = cluster.root().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("data"), "hunter2").unwrap();
    std::fs::write(files.join("empty"), "").unwrap();
    std::fs::write(files.join("big"), vec![b'x'; 600 * 1024]).unwrap();
    cluster.create_service("web", &["--replicas", "2", "--publish", "8080:80", "nginx"]);
    cluster.ctl(&["network", "create", "back"]).expect_ok();
    let data = files.join("data").display().to_string();
    cluster.ctl(&["secret", "create", "pw", &data]).expect_ok();
    cluster.create_service("other", &["--network", "back", "--secret", "pw", "nginx"]);
    cluster.wait_running("web", 2, Duration::from_secs(20));
    cluster.wait_running("other", 1, Duration::from_secs(20));
    let mut before = settled_state(&mut cluster);

    let cases = table(&files);
    assert!(cases.len() >= 30, "the table needs at least 30 cases");
    let mut failures = Vec::new();
    for case in &cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let out = cluster.ctl(&args);
        let stderr = out.stderr.to_lowercase();
        let missing: Vec<&&str> = case
            .names
            .iter()
            .filter(|n| !stderr.contains(&n.to_lowercase()))
            .collect();
        if out.success() || out.status.is_none() {
            failures.push(format!("ACCEPTED (or hung): {out}"));
        } else if !missing.is_empty() {
            failures.push(format!("error does not name {missing:?}: {out}"));
        }
        let after = state(&mut cluster);
        if after != before {
            failures.push(format!("STATE CHANGED by `swarmctl {}`", args.join(" ")));
            // Let what it started finish, so the next case is judged on its own.
            before = settled_state(&mut cluster);
        }
    }
    println!(
        "{} malformed invocations, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
