//! A fleet of [`SimNode`]s in this process: joined concurrently through the managers in turn
//! (each join is a CSR signed by the manager and a node written through Raft; a few in flight
//! keep the leader's group commits full), then each run as its own session.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::simnode::{Counters, Handle, SimNode};

/// Joins in flight at once: enough to batch the leader's commits, few enough that a join
/// does not time out behind the others on this 2-core machine.
const JOINS_IN_FLIGHT: usize = 32;

pub struct Fleet {
    pub counters: Arc<Counters>,
    pub nodes: Vec<Handle>,
    /// From the first join request to the last certificate received.
    pub join_time: Duration,
    shutdown: CancellationToken,
}

impl Fleet {
    /// Admits `count` nodes named `PREFIX-00000`… with the worker `token` and starts them.
    pub async fn join(
        managers: &[String],
        token: &str,
        count: usize,
        prefix: &str,
    ) -> Result<Fleet> {
        let start = Instant::now();
        let joined: Vec<SimNode> = futures::stream::iter(0..count)
            .map(|i| join_one(managers, token, prefix, i))
            .buffer_unordered(JOINS_IN_FLIGHT)
            .try_collect()
            .await?;
        let join_time = start.elapsed();
        let counters = Arc::new(Counters::default());
        let shutdown = CancellationToken::new();
        let nodes = joined
            .into_iter()
            .map(|n| n.spawn(counters.clone(), shutdown.child_token()))
            .collect();
        Ok(Fleet {
            counters,
            nodes,
            join_time,
            shutdown,
        })
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn join_one(managers: &[String], token: &str, prefix: &str, i: usize) -> Result<SimNode> {
    let hostname = format!("{prefix}-{i:05}");
    // A distinct underlay address per node, as on a real network; nothing dials it.
    let advertise = format!("127.1.{}.{}:7946", i / 250, i % 250 + 1);
    let manager = managers[i % managers.len()].clone();
    let admitted = agent::join::join(agent::join::JoinRequest {
        manager,
        token: token.to_string(),
        hostname: hostname.clone(),
        advertise_addr: advertise.clone(),
        listen_addr: advertise,
    })
    .await
    .with_context(|| format!("joining {hostname}"))?;
    let dial = security::Dial::mutual_tls(
        admitted.credentials.client_config()?,
        security::MANAGER_NAME,
        Duration::from_secs(3),
    );
    Ok(SimNode {
        node_id: admitted.node_id,
        hostname,
        dial,
        managers: managers.to_vec(),
    })
}
