use super::*;

fn task(id: &str, name: &str, node: &str, addrs: &[&str]) -> TaskBackend {
    TaskBackend {
        task_id: id.into(),
        name: name.into(),
        node: node.into(),
        addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
    }
}

fn conn(client: &str, published: &str, backend: &str, state: &str) -> MeshConn {
    MeshConn {
        protocol: "tcp".into(),
        client: client.into(),
        published: published.into(),
        backend: backend.into(),
        state: state.into(),
        timeout_secs: 431_999,
        age_secs: 0,
    }
}

/// (client, via, port, task name, task node, task addr, state) of each row.
fn summary(rows: &[ServiceConn]) -> Vec<(&str, &str, u32, &str, &str, &str, &str)> {
    rows.iter()
        .map(|r| {
            (
                r.client.as_str(),
                r.via_node.as_str(),
                r.published_port,
                r.task_name.as_str(),
                r.task_node.as_str(),
                r.task_addr.as_str(),
                r.state.as_str(),
            )
        })
        .collect()
}

#[test]
fn connections_are_matched_to_the_task_behind_the_backend_address() {
    let tasks = [
        task("t1", "web.1", "worker1", &["10.255.0.5"]),
        task("t2", "web.2", "worker2", &["10.255.0.6", "10.0.1.3"]),
    ];
    let nodes = [
        NodeConns {
            hostname: "worker2".into(),
            conns: vec![
                conn(
                    "192.168.56.100:40522",
                    "192.168.56.12:8080",
                    "10.255.0.5:80",
                    "ESTABLISHED",
                ),
                // Another service's task: not ours.
                conn(
                    "192.168.56.100:40600",
                    "192.168.56.12:9090",
                    "10.255.0.9:80",
                    "ESTABLISHED",
                ),
            ],
        },
        NodeConns {
            hostname: "manager1".into(),
            conns: vec![conn(
                "192.168.56.100:40530",
                "192.168.56.11:8080",
                "10.255.0.6:80",
                "TIME_WAIT",
            )],
        },
    ];
    let rows = match_conns(&tasks, &nodes);
    assert_eq!(
        summary(&rows),
        vec![
            (
                "192.168.56.100:40530",
                "manager1",
                8080,
                "web.2",
                "worker2",
                "10.255.0.6:80",
                "TIME_WAIT"
            ),
            (
                "192.168.56.100:40522",
                "worker2",
                8080,
                "web.1",
                "worker1",
                "10.255.0.5:80",
                "ESTABLISHED"
            ),
        ]
    );
    assert_eq!(rows[1].task_id, "t1");
    assert_eq!(rows[1].timeout_secs, 431_999);
}

#[test]
fn unparsable_entries_and_services_without_tasks_give_no_rows() {
    let nodes = [NodeConns {
        hostname: "worker1".into(),
        conns: vec![
            conn(
                "192.168.56.100:1",
                "not-an-addr",
                "10.255.0.5:80",
                "ESTABLISHED",
            ),
            conn(
                "192.168.56.100:2",
                "192.168.56.11:8080",
                "10.255.0.5",
                "ESTABLISHED",
            ),
        ],
    }];
    let tasks = [task("t1", "web.1", "worker1", &["10.255.0.5"])];
    assert!(match_conns(&tasks, &nodes).is_empty());
    assert!(match_conns(&[], &nodes).is_empty());
}
