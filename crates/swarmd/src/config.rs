//! swarmd's flags. The node identity they become lives in [`crate::identity`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Parser, ValueEnum};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub use crate::identity::{prepare_state_dir, Identity};

pub const DEFAULT_PORT: u16 = 2377;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum ExecutorKind {
    /// Containers through the Docker Engine API.
    Docker,
    /// In-memory containers, for tests without an engine.
    Test,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum MeshChoice {
    /// IPVS when the kernel has it, nftables otherwise.
    Auto,
    Ipvs,
    Nftables,
    /// No data plane: the node runs tasks but programs no overlay or mesh (tests).
    None,
}

/// `swarmd`: the node daemon. On an empty state directory without `--join-addr` it creates a
/// new cluster with this node as its first manager.
#[derive(Debug, Parser)]
#[command(name = "swarmd", version, about)]
pub struct Flags {
    /// Where the node keeps its identity, Raft log and state.
    #[arg(long, default_value = "/var/lib/swarmd")]
    pub state_dir: PathBuf,
    /// The node's name in `node ls` (default: the machine's hostname).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Where the node's gRPC (control, raft, dispatcher, agent) listens.
    #[arg(long)]
    pub listen_addr: Option<SocketAddr>,
    /// The address other nodes reach this one at; its IP is also the VXLAN underlay address.
    #[arg(long)]
    pub advertise_addr: Option<SocketAddr>,
    /// A manager of the cluster to join.
    #[arg(long, requires = "join_token")]
    pub join_addr: Option<SocketAddr>,
    /// The worker or manager join token (`swarmctl cluster join-token worker|manager`).
    #[arg(long, requires = "join_addr")]
    pub join_token: Option<String>,
    /// The container engine's socket (`unix:///var/run/docker.sock`). The node runs without
    /// it and connects when it answers.
    #[arg(long, value_parser = parse_docker_host)]
    pub docker_host: Option<String>,
    #[arg(long, value_enum)]
    pub executor: Option<ExecutorKind>,
    #[arg(long, value_enum)]
    pub mesh_backend: Option<MeshChoice>,
    /// Agent heartbeat period for a new cluster (`500ms`, `1s`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub heartbeat_period: Option<Duration>,
    /// Raft log entries between snapshots.
    #[arg(long)]
    pub snapshot_interval: Option<u64>,
    /// Subnet of the ingress overlay for a new cluster.
    #[arg(long)]
    pub ingress_subnet: Option<String>,
    /// Where user networks' subnets come from, for a new cluster (repeatable; Docker's
    /// default: 10.0.0.0/8).
    #[arg(long = "default-addr-pool")]
    pub default_addr_pool: Vec<String>,
    /// Prefix length of the subnets cut from the default pools, for a new cluster (24).
    #[arg(long)]
    pub default_addr_pool_mask_len: Option<u32>,
    /// Lifetime of node certificates for a new cluster (`90d`, `1h`, `20s`); nodes renew them
    /// automatically in the second half of it.
    #[arg(long, value_parser = parse_cert_validity)]
    pub cert_validity: Option<Duration>,
    /// How long a node may stay down before its tasks are orphaned and reaped, for a new
    /// cluster (`24h`, the default as in Swarm; `30s`).
    #[arg(long, value_parser = parse_orphan_after)]
    pub orphan_after: Option<Duration>,
    /// Name prefix of the node's network links, so several nodes can share one kernel in tests.
    #[arg(long, default_value = "swarm")]
    pub link_prefix: String,
    /// This node's gateway bridge subnet (Docker's `docker_gwbridge`): the egress of tasks not
    /// on the ingress network. Node-local; kept from the node's creation or join on.
    #[arg(long, value_parser = parse_gateway_subnet)]
    pub gateway_subnet: Option<Ipv4Net>,
    /// Where the Docker Engine API listens for the `docker` CLI (mode 0660), or `none`.
    /// Default: `STATE_DIR/docker.sock`, on managers and workers alike.
    #[arg(long, value_name = "unix:///PATH|none", value_parser = crate::engine_api::parse_flag)]
    pub engine_api: Option<crate::engine_api::EngineApiFlag>,
    /// Where `GET /metrics` answers in the Prometheus text format (`0.0.0.0:9323`), on
    /// managers and workers alike. Off unless set; read-only.
    #[arg(long, value_name = "IP:PORT")]
    pub metrics_addr: Option<SocketAddr>,
    /// Where managers serve the live visualizer (`0.0.0.0:8081`): a page of the nodes, their
    /// tasks and mesh tables, read-only. Off unless set; workers serve it once promoted.
    #[arg(long, value_name = "IP:PORT")]
    pub web_addr: Option<SocketAddr>,
}

fn parse_gateway_subnet(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s
        .parse()
        .map_err(|_| format!("`{s}` is not an IPv4 subnet in CIDR form (172.18.0.0/16)"))?;
    if net.trunc() != net {
        return Err(format!(
            "`{s}` has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    if net.prefix_len() > 28 {
        return Err(format!(
            "`{s}` is too small: at most a /28 (the node takes one address, tasks the rest)"
        ));
    }
    Ok(net)
}

/// A certificate lifetime: long enough for a renewal round trip.
fn parse_docker_host(s: &str) -> Result<String, String> {
    docker::socket_path(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn parse_cert_validity(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(10) {
        return Err(format!(
            "{s} is too short; certificates need at least 10s to be renewed in time"
        ));
    }
    Ok(d)
}

/// A grace of at least a millisecond: with none, a node's tasks would be orphaned the moment
/// it is marked down, before it had any chance to come back.
fn parse_orphan_after(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e}; expected a duration such as 24h, 30m or 30s"))?;
    if d.as_millis() == 0 {
        return Err(format!(
            "{s} is no grace; give a positive duration such as 24h or 30s"
        ));
    }
    Ok(d)
}

impl Flags {
    /// The orphan grace a new cluster gets, in milliseconds.
    pub fn orphan_after_ms(&self) -> u64 {
        self.orphan_after
            .map_or(types::cluster::DEFAULT_ORPHAN_AFTER_MS, |d| {
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
            })
    }
}

/// The system hostname, for nodes started without `--hostname`.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// Listen and advertise addresses for a new node: the advertise address must be one other
/// nodes can reach, so an unspecified listen IP needs an explicit advertise address.
pub fn resolve_addrs(flags: &Flags) -> Result<(SocketAddr, SocketAddr)> {
    let listen = flags
        .listen_addr
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)));
    let advertise = match flags.advertise_addr {
        Some(a) => a,
        None if !listen.ip().is_unspecified() => listen,
        None => bail!(
            "--advertise-addr is required when --listen-addr is {listen}: other nodes need an address they can reach (e.g. --advertise-addr 192.168.56.10:2377)"
        ),
    };
    if advertise.ip().is_unspecified() {
        bail!("--advertise-addr {advertise} is not reachable by other nodes; give this node's IP");
    }
    Ok((listen, advertise))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("swarmd").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn advertise_defaults_to_a_specific_listen_address() {
        let f = flags(&["--listen-addr", "127.0.0.1:4000"]);
        let (l, a) = resolve_addrs(&f).unwrap();
        assert_eq!(l, a);
        let f = flags(&[]);
        let err = resolve_addrs(&f).unwrap_err().to_string();
        assert!(err.contains("--advertise-addr is required"), "{err}");
    }

    #[test]
    fn cert_validity_has_a_floor() {
        let f = flags(&["--cert-validity", "20s"]);
        assert_eq!(f.cert_validity, Some(Duration::from_secs(20)));
        let e = Flags::try_parse_from(["swarmd", "--cert-validity", "1s"]).unwrap_err();
        assert!(e.to_string().contains("too short"), "{e}");
    }

    #[test]
    fn orphan_after_must_be_a_positive_duration() {
        assert_eq!(flags(&[]).orphan_after_ms(), 24 * 3600 * 1000);
        assert_eq!(flags(&["--orphan-after", "30s"]).orphan_after_ms(), 30_000);
        for (bad, why) in [
            ("0s", "no grace"),
            ("0", "no grace"),
            ("-5s", "expected a duration"),
            ("soon", "expected a duration"),
        ] {
            let arg = format!("--orphan-after={bad}");
            let e = Flags::try_parse_from(["swarmd", arg.as_str()]).unwrap_err();
            let text = e.to_string();
            assert!(text.contains("--orphan-after"), "{bad}: {text}");
            assert!(text.contains(why), "{bad}: {text}");
        }
    }

    #[test]
    fn join_addr_needs_a_token() {
        let e = Flags::try_parse_from(["swarmd", "--join-addr", "10.0.0.1:2377"]).unwrap_err();
        assert!(e.to_string().contains("--join-token"), "{e}");
    }

    #[test]
    fn identity_round_trips_and_corruption_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Identity::load(dir.path()).unwrap().is_none());
        let id = Identity {
            node_id: "n".into(),
            cluster_id: "c".into(),
            raft_id: 7,
            hostname: "h".into(),
            listen_addr: "127.0.0.1:1".parse().unwrap(),
            advertise_addr: "127.0.0.1:1".parse().unwrap(),
            managers: vec!["127.0.0.1:1".into()],
            docker_host: "unix:///var/run/docker.sock".into(),
            executor: ExecutorKind::Test,
            mesh_backend: MeshChoice::None,
            link_prefix: "swarm".into(),
            gateway_subnet: network::config::DEFAULT_GATEWAY_SUBNET,
        };
        id.save(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap().unwrap(), id);
        std::fs::write(Identity::path(dir.path()), b"{not json").unwrap();
        let err = format!("{:#}", Identity::load(dir.path()).unwrap_err());
        assert!(err.contains("corrupted"), "{err}");
    }
}
