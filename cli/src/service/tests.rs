//! `service create/update/scale` flags → specs, and the `ls`/`ps` layouts.

use clap::Parser;
use types::{PortProtocol, PublishMode, Service, ServiceMode, ServiceSpec, Task, TaskState};

use super::list::{ls_rows, ps_order, ps_row};
use super::*;

#[derive(Parser)]
struct Probe {
    #[command(subcommand)]
    command: ServiceCommand,
}

fn parse(args: &[&str]) -> Result<ServiceCommand, clap::Error> {
    Probe::try_parse_from(std::iter::once("service").chain(args.iter().copied())).map(|p| p.command)
}

fn create_spec(args: &[&str]) -> Result<ServiceSpec> {
    match parse(args)? {
        ServiceCommand::Create(c) => spec_from_create(&c),
        other => panic!("parsed as {other:?}"),
    }
}

/// `service update ARGS… NAME` applied to `stored`; `networks` resolves `--network-rm`.
pub(super) fn update_spec(
    stored: &ServiceSpec,
    networks: &[types::Network],
    args: &[&str],
) -> Result<ServiceSpec> {
    let mut all = vec!["update"];
    all.extend_from_slice(args);
    all.push(&stored.name);
    let ServiceCommand::Update(a) = parse(&all).unwrap() else {
        panic!("not an update")
    };
    spec_from_update(&a, stored, networks)
}

#[test]
fn create_builds_the_whole_spec() {
    let spec = create_spec(&[
        "create",
        "--name=web",
        "--replicas=3",
        "--publish=8080:80",
        "--publish",
        "mode=host,published=53,target=53,protocol=udp",
        "--constraint=node.role==worker",
        "--placement-pref=spread=node.labels.zone",
        "--env=A=1",
        "--label=team=a",
        "--container-label=c=d",
        "--reserve-cpu=0.25",
        "--reserve-memory=64M",
        "--update-parallelism=2",
        "--update-delay=10s",
        "-d",
        "nginx:1.27",
        "nginx",
        "-g",
        "daemon off;",
    ])
    .unwrap();
    assert_eq!(spec.name, "web");
    assert_eq!(spec.mode, ServiceMode::Replicated { replicas: 3 });
    assert_eq!(spec.endpoint.ports.len(), 2);
    assert_eq!(spec.endpoint.ports[1].publish_mode, PublishMode::Host);
    assert_eq!(spec.endpoint.ports[1].protocol, PortProtocol::Udp);
    assert_eq!(spec.task.placement.constraints, ["node.role==worker"]);
    assert_eq!(spec.task.container.args, ["nginx", "-g", "daemon off;"]);
    assert_eq!(spec.task.container.env, ["A=1"]);
    assert_eq!(spec.labels["team"], "a");
    assert_eq!(spec.task.container.labels["c"], "d");
    assert_eq!(spec.task.resources.reservations.nano_cpus, 250_000_000);
    assert_eq!(spec.update.parallelism, 2);
    assert_eq!(spec.update.delay_ms, 10_000);
}

#[test]
fn bad_create_flags_name_the_flag_and_the_fix() {
    let err = |args: &[&str]| match create_spec(args) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("accepted {s:?}"),
    };
    let e = err(&["create", "--publish=8080:80/sctp", "nginx"]);
    assert!(e.contains("--publish") && e.contains("tcp or udp"), "{e}");
    let e = err(&["create", "--reserve-memory=lots", "nginx"]);
    assert!(e.contains("--reserve-memory") && e.contains("64M"), "{e}");
    let e = err(&["create", "--mode=global", "--replicas=2", "nginx"]);
    assert!(e.contains("--replicas") && e.contains("replicated"), "{e}");
    let e = err(&["create", "--name=web.1", "nginx"]);
    assert!(e.starts_with("invalid --name:"), "{e}");
    let e = err(&["create", "--constraint=node.rol==x", "nginx"]);
    assert!(e.starts_with("invalid --constraint:"), "{e}");
    let e = err(&["create", "--update-order=sideways", "nginx"]);
    assert!(
        e.contains("--update-order") && e.contains("stop-first"),
        "{e}"
    );
    let e = err(&["create", "--name=web", "NGINX"]);
    assert!(e.starts_with("invalid IMAGE:"), "{e}");
}

#[test]
fn update_changes_only_what_is_named() {
    let current = create_spec(&[
        "create",
        "--name=web",
        "--publish=8080:80",
        "--publish=9090:90",
        "--env=A=1",
        "--env=B=2",
        "--constraint=node.role==worker",
        "nginx:1.27",
    ])
    .unwrap();
    let ServiceCommand::Update(args) = parse(&[
        "update",
        "--image=nginx:1.28",
        "--replicas=5",
        "--publish-rm=9090",
        "--publish-add=8080:81",
        "--env-add=B=3",
        "--env-rm=A",
        "--constraint-rm=node.role==worker",
        "--constraint-add=node.labels.zone==b",
        "--label-add=x=y",
        "--force",
        "web",
    ])
    .unwrap() else {
        panic!("not an update")
    };
    let spec = spec_from_update(&args, &current, &[]).unwrap();
    assert_eq!(spec.task.container.image, "nginx:1.28");
    assert_eq!(spec.replicas(), Some(5));
    assert_eq!(spec.endpoint.ports.len(), 1);
    assert_eq!(spec.endpoint.ports[0].target_port, 81);
    assert_eq!(spec.task.container.env, ["B=3"]);
    assert_eq!(spec.task.placement.constraints, ["node.labels.zone==b"]);
    assert_eq!(spec.labels["x"], "y");
    assert_eq!(spec.task.force_update, current.task.force_update + 1);
    assert_eq!(spec.update, current.update, "untouched settings stay");
}

#[test]
fn scale_pairs_parse() {
    let ServiceCommand::Scale(args) = parse(&["scale", "web=3", "db=0"]).unwrap() else {
        panic!("not a scale")
    };
    assert_eq!(args.pairs, [("web".to_string(), 3), ("db".to_string(), 0)]);
    let e = parse(&["scale", "web"]).err().unwrap().to_string();
    assert!(e.contains("SERVICE=REPLICAS"), "{e}");
}

fn task(id: &str, slot: u64, created: i64, desired: TaskState, state: TaskState) -> Task {
    let mut t = Task {
        id: id.into(),
        service_id: "s1".into(),
        service_name: "web".into(),
        slot,
        node_id: "n1".into(),
        desired_state: desired,
        ..Default::default()
    };
    t.spec.container.image = "nginx:1.27".into();
    t.status.state = state;
    t.status.timestamp_ms = 1_000;
    t.meta.created_at_ms = created;
    t
}

#[test]
fn ps_shows_history_under_the_current_task() {
    let mut failed = task(
        "old1aaaaaaaaaaaa",
        1,
        1,
        TaskState::Shutdown,
        TaskState::Failed,
    );
    failed.status.err = "task: non-zero exit (1)".into();
    let tasks = vec![
        task(
            "slot2aaaaaaaaaaa",
            2,
            5,
            TaskState::Running,
            TaskState::Running,
        ),
        failed,
        task(
            "new1aaaaaaaaaaaa",
            1,
            9,
            TaskState::Running,
            TaskState::Running,
        ),
    ];
    let mut nodes = std::collections::BTreeMap::new();
    let mut n = types::Node {
        id: "n1".into(),
        ..Default::default()
    };
    n.description.hostname = "worker1".into();
    nodes.insert("n1".to_string(), n);
    let rows: Vec<Vec<String>> = ps_order(&tasks)
        .into_iter()
        .map(|(t, history)| ps_row(t, history, &nodes, false, 6_000))
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, ["web.1", " \\_ web.1", "web.2"]);
    assert_eq!(rows[0][0], "new1aaaaaaaa");
    assert_eq!(rows[0][3], "worker1");
    assert_eq!(rows[0][4], "Running");
    assert_eq!(rows[0][5], "Running 5 seconds ago");
    assert_eq!(rows[1][6], "\"task: non-zero exit (1)\"");
}

#[test]
fn ls_counts_running_over_desired_and_shows_ingress_ports() {
    let mut s = Service {
        id: "s1".into(),
        ..Default::default()
    };
    s.spec.name = "web".into();
    s.spec.mode = ServiceMode::Replicated { replicas: 3 };
    s.spec.task.container.image = "nginx:1.27".into();
    s.endpoint_ports = vec![types::PortConfig {
        target_port: 80,
        published_port: 8080,
        ..Default::default()
    }];
    let tasks = vec![
        task("a", 1, 1, TaskState::Running, TaskState::Running),
        task("b", 2, 1, TaskState::Running, TaskState::Starting),
        task("c", 3, 1, TaskState::Shutdown, TaskState::Running),
    ];
    let rows = ls_rows(&[s], &tasks);
    assert_eq!(
        rows[0],
        [
            "s1",
            "web",
            "replicated",
            "1/3",
            "nginx:1.27",
            "*:8080->80/tcp"
        ]
    );
}

#[test]
fn networks_are_added_with_aliases_and_removed_by_name_or_id() {
    let current = create_spec(&[
        "create",
        "--name=web",
        "--network=front",
        "--network",
        "name=back,alias=www,alias=web2",
        "--endpoint-mode=dnsrr",
        "nginx",
    ])
    .unwrap();
    let targets: Vec<&str> = current
        .task
        .networks
        .iter()
        .map(|n| n.target.as_str())
        .collect();
    assert_eq!(targets, ["front", "back"]);
    assert_eq!(current.task.networks[1].aliases, ["www", "web2"]);
    assert_eq!(current.endpoint.mode, types::EndpointMode::Dnsrr);

    // As stored: IDs. `--network-rm` takes the name the user knows.
    let mut stored = current.clone();
    stored.task.networks[0].target = "id-front".into();
    stored.task.networks[1].target = "id-back".into();
    let nets: Vec<types::Network> = [("id-front", "front"), ("id-back", "back")]
        .iter()
        .map(|(id, name)| types::Network {
            id: id.to_string(),
            meta: Default::default(),
            spec: types::NetworkSpec::overlay(name),
        })
        .collect();
    let update = |args: &[&str]| update_spec(&stored, &nets, args);
    let spec = update(&["--network-rm=front", "--network-add=extra"]).unwrap();
    let targets: Vec<&str> = spec
        .task
        .networks
        .iter()
        .map(|n| n.target.as_str())
        .collect();
    assert_eq!(targets, ["id-back", "extra"]);
    let e = update(&["--network-rm=nope"]).unwrap_err().to_string();
    assert!(e.contains("--network-rm") && e.contains("nope"), "{e}");
    let e = update(&["--network-add=back"]).unwrap_err().to_string();
    assert!(e.contains("--network-add") && e.contains("already"), "{e}");
    let e = create_spec(&["create", "--network=name=x,alias=a_b", "nginx"])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("invalid --network:"), "{e}");
}

#[test]
fn mounts_on_create_and_update() {
    let spec = create_spec(&[
        "create",
        "--name=db",
        "--mount=type=volume,source=dbdata,target=/var/lib/db",
        "--mount",
        "type=tmpfs,target=/scratch,tmpfs-size=64m",
        "nginx",
    ])
    .unwrap();
    let targets = |s: &ServiceSpec| -> Vec<String> {
        s.task
            .container
            .mounts
            .iter()
            .map(|m| format!("{} {}", m.kind, m.target))
            .collect()
    };
    assert_eq!(targets(&spec), ["volume /var/lib/db", "tmpfs /scratch"]);
    let e = create_spec(&["create", "--mount=type=bind,target=/x", "nginx"])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid --mount:") && e.contains("source"),
        "{e}"
    );
    let e = parse(&[
        "create",
        "--mount=type=bind,source=/a,target=/b,size=1",
        "nginx",
    ])
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("--mount") && e.contains("`size`"), "{e}");

    let update = |args: &[&str]| update_spec(&spec, &[], args);
    let changed = update(&[
        "--mount-rm=/scratch",
        "--mount-add=type=bind,source=/srv,target=/var/lib/db,readonly",
    ])
    .unwrap();
    assert_eq!(
        targets(&changed),
        ["bind /var/lib/db"],
        "replaced on its target"
    );
    assert!(changed.task.container.mounts[0].readonly);
    let e = update(&["--mount-rm=/nope"]).unwrap_err().to_string();
    assert!(e.contains("--mount-rm") && e.contains("/nope"), "{e}");
}
