//! The daemon's glue: the traits the libraries define, implemented over the real parts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::dispatcher::agent_client::AgentClient;
use futures::future::BoxFuture;
use manager::controlapi::NodeConnector;
use manager::dispatcher::service::LeaderHint;
use manager::leader::StepDown;
use manager::membership::{RaftMember, RaftMembership};
use store::raft::{RaftNode, Reachability};
use tonic::transport::Channel;
use tonic::Status;
use types::Node;

/// Where the leader is, for agents redirected by a follower's dispatcher.
pub struct RaftLeaderHint(pub Arc<RaftNode>);

impl LeaderHint for RaftLeaderHint {
    fn leader_addr(&self) -> Option<String> {
        self.0.leader().map(|(_, addr)| addr)
    }
}

/// Raft membership for the role manager.
pub struct RaftGroup(pub Arc<RaftNode>);

impl RaftMembership for RaftGroup {
    fn raft_id(&self) -> u64 {
        self.0.id()
    }

    fn leader_id(&self) -> Option<u64> {
        self.0.leader().map(|(id, _)| id)
    }

    fn members(&self) -> BoxFuture<'_, Vec<RaftMember>> {
        Box::pin(async move {
            self.0
                .members()
                .await
                .into_iter()
                .map(|m| RaftMember {
                    raft_id: m.id,
                    addr: m.addr,
                    voter: m.voter,
                    reachable: m.reachability == Reachability::Reachable,
                })
                .collect()
        })
    }

    fn add_voter(&self, raft_id: u64, addr: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0
                .add_voter(raft_id, addr)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn remove(&self, raft_id: u64) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.remove_node(raft_id).await.map_err(|e| e.to_string()) })
    }
}

/// Stepping down: this manager leaves the Raft group and the next leader adds it back.
impl StepDown for RaftGroup {
    fn step_down(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.step_down().await.map_err(|e| e.to_string()) })
    }
}

/// Mutual-TLS channels to other nodes' agents, by their advertise address, kept for reuse. The
/// agent must present the certificate of the node the store says is at that address.
pub struct AgentConnector {
    tls: Arc<rustls::ClientConfig>,
    channels: Mutex<HashMap<String, Channel>>,
}

impl AgentConnector {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        AgentConnector {
            tls,
            channels: Mutex::default(),
        }
    }
}

impl NodeConnector for AgentConnector {
    fn agent(&self, node: &Node) -> BoxFuture<'static, Result<AgentClient<Channel>, Status>> {
        let addr = node.status.addr.clone();
        let hostname = node.description.hostname.clone();
        // Keyed by node too: an address reused by another node must not reuse the channel.
        let key = format!("{}@{addr}", node.id);
        let cached = self.channels.lock().expect("lock").get(&key).cloned();
        if let Some(ch) = cached {
            return Box::pin(async move { Ok(AgentClient::new(ch)) });
        }
        let channel =
            security::lazy_channel(self.tls.clone(), &addr, &node.id, Duration::from_secs(2));
        match channel {
            Ok(ch) => {
                self.channels.lock().expect("lock").insert(key, ch.clone());
                Box::pin(async move { Ok(AgentClient::new(ch)) })
            }
            Err(e) => Box::pin(async move {
                Err(Status::unavailable(format!(
                    "node {hostname} has no usable address ({e})"
                )))
            }),
        }
    }
}
