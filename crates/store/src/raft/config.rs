//! [`RaftConfig`]: how a manager takes part in consensus, with LAN-fast defaults.

use std::path::PathBuf;
use std::time::Duration;

use super::error::RaftNodeError;
use super::network::{Dial, CONNECT_TIMEOUT};
use super::NodeId;

/// Everything a manager needs to run Raft. Built by the daemon from its flags.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    /// This manager's Raft ID; unique in the cluster, never reused for another manager.
    pub id: NodeId,
    /// `host:port` where this manager's gRPC server (with [`RaftService`](super::RaftService))
    /// listens, as peers must dial it.
    pub addr: String,
    /// The state directory; Raft keeps `raft.redb` in it.
    pub dir: PathBuf,
    /// How often the leader heartbeats; also the deadline of one AppendEntries RPC.
    pub heartbeat_interval: Duration,
    /// A follower that hears nothing from the leader for a random time between these two
    /// starts an election. Kept a few heartbeats long so one late packet causes no election.
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// Build a snapshot every this many applied entries (and purge the log behind it).
    pub snapshot_interval: u64,
    /// Entries already in a snapshot that are kept anyway, so a follower that is a little
    /// behind catches up from the log instead of receiving a whole snapshot.
    pub logs_kept_after_snapshot: u64,
    /// A follower further behind than this is sent a snapshot instead of log entries.
    /// Raised to 1.5 × `snapshot_interval` when lower: below the interval, a snapshot could
    /// leave a follower still too far behind to be fed from the log (openraft's rule).
    pub replication_lag_threshold: u64,
    /// How long a write may wait for a leader (elections, forwarding) before it fails with
    /// `NoLeader`.
    pub write_timeout: Duration,
    /// How long adding a manager may wait for it to catch up before becoming a voter.
    pub catch_up_timeout: Duration,
    /// Deadline for sending and installing one snapshot.
    pub snapshot_timeout: Duration,
    /// How to reach peers (the daemon's mutual TLS; plaintext by default).
    pub dial: Dial,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            id: 0,
            addr: String::new(),
            dir: PathBuf::new(),
            heartbeat_interval: Duration::from_millis(100),
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            snapshot_interval: 1000,
            logs_kept_after_snapshot: 500,
            replication_lag_threshold: 1500,
            write_timeout: Duration::from_secs(4),
            catch_up_timeout: Duration::from_secs(60),
            snapshot_timeout: Duration::from_secs(30),
            dial: Dial::plaintext(CONNECT_TIMEOUT),
        }
    }
}

impl RaftConfig {
    /// A config with default timings for manager `id` listening on `addr`, state in `dir`.
    pub fn new(id: NodeId, addr: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        RaftConfig {
            id,
            addr: addr.into(),
            dir: dir.into(),
            ..Default::default()
        }
    }

    /// Rejects configurations that would make Raft misbehave, with a reason a user can act on.
    pub fn validate(&self) -> Result<(), RaftNodeError> {
        let bad = |why: String| Err(RaftNodeError::Config(why));
        if self.id == 0 {
            return bad("raft id must not be 0".into());
        }
        if self.addr.is_empty() || !self.addr.contains(':') {
            return bad(format!("raft address `{}` is not host:port", self.addr));
        }
        if self.dir.as_os_str().is_empty() {
            return bad("raft state directory is empty".into());
        }
        if self.heartbeat_interval.is_zero() {
            return bad("heartbeat interval must be positive".into());
        }
        if self.election_timeout_min <= self.heartbeat_interval * 2 {
            return bad(format!(
                "election timeout {:?} must exceed two heartbeats ({:?})",
                self.election_timeout_min,
                self.heartbeat_interval * 2
            ));
        }
        if self.election_timeout_max <= self.election_timeout_min {
            return bad("election timeout max must exceed min".into());
        }
        if self.snapshot_interval == 0 {
            return bad("snapshot interval must be positive".into());
        }
        Ok(())
    }

    fn lag_threshold(&self) -> u64 {
        let floor = self
            .snapshot_interval
            .saturating_add(self.snapshot_interval / 2);
        self.replication_lag_threshold.max(floor)
    }

    /// The path of the Raft database in the state directory.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("raft.redb")
    }

    /// The openraft configuration these settings stand for.
    pub(crate) fn openraft(&self) -> Result<openraft::Config, RaftNodeError> {
        let ms = |d: Duration| d.as_millis() as u64;
        let config = openraft::Config {
            cluster_name: "swarmd".into(),
            heartbeat_interval: ms(self.heartbeat_interval),
            election_timeout_min: ms(self.election_timeout_min),
            election_timeout_max: ms(self.election_timeout_max),
            install_snapshot_timeout: ms(self.snapshot_timeout),
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_interval),
            max_in_snapshot_log_to_keep: self.logs_kept_after_snapshot,
            replication_lag_threshold: self.lag_threshold(),
            // Purge in batches: each purge is a durable redb commit.
            purge_batch_size: (self.snapshot_interval / 4).max(1),
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| RaftNodeError::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_once_identity_is_set() {
        let c = RaftConfig::new(1, "127.0.0.1:2377", "/tmp/x");
        c.validate().unwrap();
        let o = c.openraft().unwrap();
        assert_eq!(o.heartbeat_interval, 100);
        assert!(o.election_timeout_max <= 1000, "LAN-fast elections");
    }

    #[test]
    fn lag_threshold_follows_a_large_snapshot_interval() {
        let mut c = RaftConfig::new(1, "127.0.0.1:2377", "/tmp/x");
        c.snapshot_interval = 10_000;
        c.validate().unwrap();
        assert_eq!(c.openraft().unwrap().replication_lag_threshold, 15_000);
    }

    #[test]
    fn rejects_unsafe_settings() {
        let base = RaftConfig::new(1, "127.0.0.1:2377", "/tmp/x");
        let cases: Vec<(RaftConfig, &str)> = vec![
            (
                RaftConfig {
                    id: 0,
                    ..base.clone()
                },
                "id",
            ),
            (
                RaftConfig {
                    addr: "nohost".into(),
                    ..base.clone()
                },
                "host:port",
            ),
            (
                RaftConfig {
                    election_timeout_min: Duration::from_millis(150),
                    ..base.clone()
                },
                "two heartbeats",
            ),
            (
                RaftConfig {
                    snapshot_interval: 0,
                    ..base.clone()
                },
                "snapshot",
            ),
        ];
        for (c, want) in cases {
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
    }
}
