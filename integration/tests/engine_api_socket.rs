//! The Docker Engine API socket of real `swarmd` processes: every node, manager or worker,
//! serves `STATE_DIR/docker.sock` (mode 0660) and answers `/_ping` as docker does; managers
//! answer swarm routes, workers refuse them until promoted; a node without a container engine
//! says so for container routes; a stopped node leaves no socket behind.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use integration::{wait_until, Cluster};

/// An answer: status, the head (status line and headers) and the body as sent.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// A header's value (names are case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// One HTTP/1.1 request on a new connection, as `curl --unix-socket` would send it.
fn http(socket: &Path, path: &str) -> Result<Answer, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", socket.display());
    let mut stream = UnixStream::connect(socket).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"
    )
    .map_err(fail)?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).map_err(fail)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP answer: {raw:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

#[test]
fn every_node_serves_the_docker_engine_api_on_a_0660_socket_in_its_state_dir() {
    let mut cluster = Cluster::start(1, 1);
    let sockets: Vec<_> = cluster
        .nodes
        .iter()
        .map(|n| n.state_dir.join("docker.sock"))
        .collect();
    for socket in &sockets {
        let ping = wait_until("the Engine API to answer", Duration::from_secs(10), || {
            http(socket, "/_ping")
        });
        assert_eq!(ping.status, 200, "{}", ping.head);
        assert_eq!(ping.header("api-version"), Some("1.50"), "{}", ping.head);
        assert_eq!(ping.body, "OK");
        let mode = std::fs::metadata(socket).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o660, "{}", socket.display());
    }
    let (manager, worker) = (&sockets[0], &sockets[1]);

    // The manager resolves services through its control API; the worker has none.
    let logs = http(manager, "/v1.50/services/nope/logs?stdout=1").unwrap();
    assert_eq!(logs.status, 404, "{}{}", logs.head, logs.body);
    let logs = http(worker, "/v1.50/services/nope/logs?stdout=1").unwrap();
    assert_eq!(logs.status, 503, "{}{}", logs.head, logs.body);
    assert!(logs.body.contains("not a swarm manager"), "{}", logs.body);

    // `--executor test`: no container engine behind the socket.
    let ps = http(worker, "/v1.50/containers/json").unwrap();
    assert_eq!(ps.status, 503, "{}{}", ps.head, ps.body);
    assert!(
        ps.body.contains("no container engine configured"),
        "{}",
        ps.body
    );

    // A promotion rebuilds the servers: the same socket now has the control API behind it.
    cluster.ctl(&["node", "promote", "w1"]).expect_ok();
    wait_until(
        "the promoted node to answer swarm routes",
        Duration::from_secs(30),
        || match http(worker, "/v1.50/services/nope/logs?stdout=1")? {
            a if a.status == 404 => Ok(()),
            a => Err(format!("{}{}", a.head, a.body)),
        },
    );

    let worker_node = &mut cluster.nodes[1];
    assert!(
        worker_node.terminate(Duration::from_secs(10)).is_some(),
        "the worker stops on SIGTERM"
    );
    assert!(!worker.exists(), "a stopped node removes its socket");
}
