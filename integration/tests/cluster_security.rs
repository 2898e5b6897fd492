//! Issue 7, cluster security, against real `swarmd` processes: joins that must be refused,
//! callers that mutual TLS and the per-service authorization must turn away, certificate
//! renewal with a short validity, and a promoted node serving the control API.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use api::control::control_client::ControlClient;
use api::dispatcher::dispatcher_client::DispatcherClient;
use api::dispatcher::membership_client::MembershipClient;
use api::raft::raft_client::RaftClient;
use integration::binaries::binaries;
use integration::ctl::{run, swarmd};
use integration::ports::free_addr;
use integration::tree::read_tree;
use integration::{wait_until, Cluster, CtlOutput, NodeProcess};
use security::{NodeCredentials, MANAGER_NAME};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The credentials a node holds in its state directory.
fn creds_of(node: &NodeProcess) -> Arc<NodeCredentials> {
    let files = security::CredentialFiles::new(node.state_dir.join("certificates"), "node");
    let stored = files.load().expect("readable").expect("a node certificate");
    NodeCredentials::new(&stored.ca_pem, &stored.cert_pem, &stored.key_pem).expect("usable")
}

fn node_id_of(node: &NodeProcess) -> String {
    let text = std::fs::read_to_string(node.state_dir.join("node.json")).expect("node.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    v["node_id"].as_str().expect("node_id").to_string()
}

/// A mutual-TLS channel to `node` presenting `creds`.
fn tls_channel(creds: &Arc<NodeCredentials>, node: &NodeProcess) -> Channel {
    security::lazy_channel(
        creds.client_config().expect("client config"),
        &node.addr.to_string(),
        MANAGER_NAME,
        Duration::from_secs(2),
    )
    .expect("a channel")
}

/// `swarmctl --tls-dir DIR -H ADDR ARGS`.
fn remote_ctl(tls_dir: &Path, addr: &str, args: &[&str]) -> CtlOutput {
    let mut command = Command::new(&binaries().swarmctl);
    command
        .arg("--tls-dir")
        .arg(tls_dir)
        .args(["-H", addr])
        .args(args);
    run(command, args)
}

#[test]
fn a_token_whose_ca_digest_does_not_match_is_refused_before_the_secret_is_sent() {
    let ours = Cluster::start(1, 0);
    let mut theirs = Cluster::start(1, 0);
    let foreign = theirs
        .ctl(&["cluster", "join-token", "worker", "-q"])
        .expect_ok()
        .text()
        .to_string();
    let before = ours.try_node_ls().expect("node ls").len();
    let dir = ours.root().join("foreign-token");
    let (addr, join) = (free_addr().to_string(), ours.nodes[0].addr.to_string());
    let state = dir.display().to_string();
    let out = swarmd(&[
        "--state-dir",
        &state,
        "--hostname",
        "intruder",
        "--listen-addr",
        &addr,
        "--executor",
        "test",
        "--mesh-backend",
        "none",
        "--join-addr",
        &join,
        "--join-token",
        &foreign,
    ]);
    assert!(!out.success(), "a foreign token was accepted: {out}");
    assert!(
        out.stderr
            .contains("does not match the CA digest in the join token")
            && out.stderr.contains("the token was not sent"),
        "{out}"
    );
    let secret = foreign.rsplit('-').next().expect("a secret");
    assert!(
        !out.stderr.contains(secret),
        "the secret was printed: {out}"
    );
    assert!(read_tree(&dir).is_empty(), "a refused join left files");
    assert_eq!(ours.try_node_ls().expect("node ls").len(), before);
}

#[test]
fn plaintext_clients_and_certificates_without_the_role_are_refused() {
    let cluster = Cluster::start(1, 1);
    let (m1, w1) = (&cluster.nodes[0], &cluster.nodes[1]);
    let (worker, manager) = (creds_of(w1), creds_of(m1));
    runtime().block_on(async {
        // Plaintext HTTP/2 to a TLS port never reaches a service.
        let plain = async {
            let channel = Endpoint::from_shared(format!("http://{}", m1.addr))?
                .connect_timeout(Duration::from_secs(2))
                .connect()
                .await?;
            let mut control = ControlClient::new(channel);
            control
                .list_nodes(api::control::ListNodesRequest {})
                .await
                .map_err(|s| anyhow::anyhow!("{s}"))?;
            anyhow::Ok(())
        };
        assert!(plain.await.is_err(), "a plaintext client was served");

        let raft = RaftClient::new(tls_channel(&worker, m1))
            .vote(api::raft::RaftBytes {
                data: b"{}".to_vec(),
            })
            .await
            .expect_err("a worker called raft");
        assert_eq!(raft.code(), Code::PermissionDenied, "{raft}");
        assert!(raft.message().contains("swarm-worker"), "{raft}");

        let control = ControlClient::new(tls_channel(&worker, m1))
            .list_nodes(api::control::ListNodesRequest {})
            .await
            .expect_err("a worker called the control API");
        assert_eq!(control.code(), Code::PermissionDenied, "{control}");

        let other = DispatcherClient::new(tls_channel(&worker, m1))
            .heartbeat(api::dispatcher::HeartbeatRequest {
                node_id: node_id_of(m1),
                session_id: String::new(),
            })
            .await
            .expect_err("a worker spoke for another node");
        assert_eq!(other.code(), Code::PermissionDenied, "{other}");
        assert!(other.message().contains("cannot speak for"), "{other}");

        // The same calls with a manager's certificate get through the authorization.
        let nodes = ControlClient::new(tls_channel(&manager, m1))
            .list_nodes(api::control::ListNodesRequest {})
            .await
            .expect("a manager lists nodes")
            .into_inner();
        assert_eq!(nodes.nodes.len(), 2);
    });
}

#[test]
fn a_removed_node_is_refused() {
    let mut cluster = Cluster::start(1, 1);
    let w1 = cluster.index("w1");
    let (worker, id) = (creds_of(&cluster.nodes[w1]), node_id_of(&cluster.nodes[w1]));
    cluster.nodes[w1].kill9();
    wait_until("w1 to be removed", Duration::from_secs(20), || {
        let out = cluster.nodes[0].ctl(&["node", "rm", "--force", "w1"]);
        if out.success() {
            Ok(())
        } else {
            Err(out.to_string())
        }
    });
    let m1 = &cluster.nodes[0];
    runtime().block_on(async {
        let session = DispatcherClient::new(tls_channel(&worker, m1))
            .heartbeat(api::dispatcher::HeartbeatRequest {
                node_id: id.clone(),
                session_id: String::new(),
            })
            .await
            .expect_err("a removed node reached the dispatcher");
        assert_eq!(session.code(), Code::PermissionDenied, "{session}");
        assert!(session.message().contains("not a member"), "{session}");

        let (_key, csr) = security::new_key_and_csr().expect("csr");
        let renew = MembershipClient::new(tls_channel(&worker, m1))
            .renew_certificate(api::dispatcher::RenewCertificateRequest { csr })
            .await
            .expect_err("a removed node renewed its certificate");
        assert_eq!(renew.code(), Code::PermissionDenied, "{renew}");
    });
}

#[test]
fn certificates_renew_with_a_short_validity_and_the_cluster_keeps_working() {
    let flags = ["--cert-validity".to_string(), "20s".to_string()];
    let mut cluster = Cluster::start_with_flags(2, 1, &flags);
    let w1 = cluster.index("w1");
    let first = creds_of(&cluster.nodes[w1]).identity();
    let life = first
        .not_after
        .duration_since(first.not_before)
        .expect("ordered");
    assert!(
        life < Duration::from_secs(30),
        "validity not applied: {life:?}"
    );
    // Two full lifetimes: every certificate the cluster started with has expired.
    std::thread::sleep(Duration::from_secs(45));
    for node in &cluster.nodes {
        let now = creds_of(node).identity();
        assert!(
            now.not_after > SystemTime::now(),
            "{} holds an expired certificate",
            node.name
        );
        assert!(
            now.not_before > first.not_after - life,
            "{} never renewed",
            node.name
        );
        assert!(
            node.log_text().contains("node certificate renewed"),
            "{}",
            node.name
        );
    }
    let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    cluster.wait_joined(&names);
    // New connections (a restarted manager, a new node) need the renewed certificates.
    let m2 = cluster.index("m2");
    cluster.nodes[m2].terminate(Duration::from_secs(10));
    cluster.nodes[m2].restart();
    cluster.spawn_node("w2", false, &[]);
    let names: Vec<String> = cluster.nodes.iter().map(|n| n.name.clone()).collect();
    cluster.wait_joined(&names);
    cluster
        .ctl(&[
            "service",
            "create",
            "--name",
            "web",
            "--replicas",
            "4",
            "--detach",
            "swarmd/whoami",
        ])
        .expect_ok();
    cluster.wait_running("web", 4, Duration::from_secs(30));
}

#[test]
fn a_promoted_worker_serves_the_control_api_to_a_client_certificate() {
    let mut cluster = Cluster::start(1, 1);
    let tls_dir: PathBuf = cluster.root().join("admin-tls");
    let dir = tls_dir.display().to_string();
    cluster
        .ctl(&["cluster", "client-cert", "--out", &dir])
        .expect_ok();
    let w1 = cluster.index("w1");
    let w1_addr = cluster.nodes[w1].addr.to_string();
    let m1_addr = cluster.nodes[0].addr.to_string();

    let out = remote_ctl(&tls_dir, &m1_addr, &["node", "ls"]);
    assert!(out.success() && out.stdout.contains("w1"), "{out}");
    let no_cert = run(
        {
            let mut c = Command::new(&binaries().swarmctl);
            c.args(["-H", &m1_addr, "node", "ls"]);
            c
        },
        &["node", "ls"],
    );
    assert!(
        !no_cert.success() && no_cert.stderr.contains("client-cert"),
        "{no_cert}"
    );
    let before = remote_ctl(&tls_dir, &w1_addr, &["node", "ls"]);
    assert!(
        !before.success(),
        "a worker served the control API: {before}"
    );

    cluster.ctl(&["node", "promote", "w1"]).expect_ok();
    cluster.nodes[w1].manager = true;
    cluster.wait_joined(&["w1".to_string()]);
    wait_until(
        "w1 to serve the control API",
        Duration::from_secs(20),
        || {
            let out = remote_ctl(&tls_dir, &w1_addr, &["node", "ls"]);
            if out.success() && out.stdout.contains("m1") {
                Ok(())
            } else {
                Err(out.to_string())
            }
        },
    );
    assert_eq!(
        creds_of(&cluster.nodes[w1]).identity().role,
        security::CertRole::Manager,
        "promotion did not reissue the certificate"
    );
}
