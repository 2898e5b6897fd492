//! The client side of the manager ⇄ manager transport: one lazily connected tonic channel per
//! peer address, short deadlines, and openraft's [`RaftNetwork`] on top.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::raft::raft_client::RaftClient;
use api::raft::RaftBytes;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed,
    StreamingError, Timeout, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RPCTypes, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, Snapshot, Vote};
pub use security::Dial;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::Channel;

use super::peers::PeerHealth;
use super::wire::{self, SnapshotHeader};
use super::{ManagerNode, NodeId, TypeConfig};

/// Snapshots and large append batches exceed tonic's 4 MiB default.
pub(crate) const MAX_MESSAGE_BYTES: usize = 512 * 1024 * 1024;

/// The RPCs of `raft.proto`.
#[derive(Debug, Clone, Copy)]
pub enum Rpc {
    AppendEntries,
    Vote,
    InstallSnapshot,
    Propose,
    ChangeMembership,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing was delivered (cannot connect): safe to retry elsewhere.
    #[error("cannot reach manager at {addr}: {why}")]
    Unreachable { addr: String, why: String },
    /// Sent, but no answer in time: the request may or may not have taken effect.
    #[error("manager at {addr} did not answer within {after:?}")]
    Timeout { addr: String, after: Duration },
    #[error("manager at {addr}: {why}")]
    Failed { addr: String, why: String },
}

/// A dead peer must not hold up an election: dialing gives up quickly on a LAN.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Channels to peers, shared by Raft replication, forwarded writes and membership requests.
#[derive(Clone)]
pub struct Transport {
    /// The daemon's mutual-TLS dialer, or plaintext in in-process tests.
    dial: Dial,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Transport {
    pub fn new(dial: Dial) -> Transport {
        Transport {
            dial,
            channels: Arc::default(),
        }
    }

    fn client(&self, addr: &str) -> Result<RaftClient<Channel>, CallError> {
        let mut channels = self.channels.lock().expect("channel lock");
        let channel = match channels.get(addr) {
            Some(c) => c.clone(),
            None => {
                let c = self
                    .dial
                    .channel(addr)
                    .map_err(|why| CallError::Unreachable {
                        addr: addr.into(),
                        why,
                    })?;
                channels.insert(addr.to_string(), c.clone());
                c
            }
        };
        Ok(RaftClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// Sends one request and waits at most `ttl` for the answer.
    pub async fn call(
        &self,
        addr: &str,
        rpc: Rpc,
        data: Vec<u8>,
        ttl: Duration,
    ) -> Result<Vec<u8>, CallError> {
        let mut client = self.client(addr)?;
        let req = RaftBytes { data };
        let exchange = async move {
            match rpc {
                Rpc::AppendEntries => client.append_entries(req).await,
                Rpc::Vote => client.vote(req).await,
                Rpc::InstallSnapshot => client.install_snapshot(req).await,
                Rpc::Propose => client.propose(req).await,
                Rpc::ChangeMembership => client.change_membership(req).await,
            }
        };
        match tokio::time::timeout(ttl, exchange).await {
            Err(_) => Err(CallError::Timeout {
                addr: addr.into(),
                after: ttl,
            }),
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                Err(CallError::Unreachable {
                    addr: addr.into(),
                    why: status.message().to_string(),
                })
            }
            Ok(Err(status)) => Err(CallError::Failed {
                addr: addr.into(),
                why: format!("{}: {}", status.code(), status.message()),
            }),
            Ok(Ok(reply)) => Ok(reply.into_inner().data),
        }
    }

    /// [`Transport::call`] with JSON in and out.
    pub async fn exchange<Req: Serialize, Reply: DeserializeOwned>(
        &self,
        addr: &str,
        rpc: Rpc,
        req: &Req,
        ttl: Duration,
    ) -> Result<Reply, CallError> {
        let failed = |why: String| CallError::Failed {
            addr: addr.into(),
            why,
        };
        let data = serde_json::to_vec(req).map_err(|e| failed(format!("encoding: {e}")))?;
        let reply = self.call(addr, rpc, data, ttl).await?;
        serde_json::from_slice(&reply).map_err(|e| failed(format!("malformed reply: {e}")))
    }
}

/// Makes openraft's per-peer clients.
pub struct NetworkFactory {
    pub(crate) id: NodeId,
    pub(crate) transport: Transport,
    pub(crate) peers: Arc<PeerHealth>,
    /// Pause after a peer was unreachable before openraft tries it again.
    pub(crate) backoff: Duration,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &ManagerNode) -> PeerClient {
        PeerClient {
            from: self.id,
            target,
            addr: node.addr.clone(),
            transport: self.transport.clone(),
            peers: self.peers.clone(),
            backoff: self.backoff,
        }
    }
}

/// openraft's connection to one peer.
pub struct PeerClient {
    from: NodeId,
    target: NodeId,
    addr: String,
    transport: Transport,
    peers: Arc<PeerHealth>,
    backoff: Duration,
}

impl PeerClient {
    async fn exchange<Req: Serialize, Reply: DeserializeOwned>(
        &self,
        rpc: Rpc,
        req: &Req,
        ttl: Duration,
    ) -> Result<Reply, CallError> {
        self.note(self.transport.exchange(&self.addr, rpc, req, ttl).await)
    }

    fn note<T>(&self, result: Result<T, CallError>) -> Result<T, CallError> {
        match &result {
            Ok(_) => self.peers.heard_from(self.target),
            Err(_) => self.peers.failed(self.target),
        }
        result
    }

    async fn send_snapshot<Reply: DeserializeOwned>(
        &self,
        header: &SnapshotHeader,
        data: &[u8],
        ttl: Duration,
    ) -> Result<Reply, CallError> {
        let framed = wire::frame_snapshot(header, data).map_err(|why| CallError::Failed {
            addr: self.addr.clone(),
            why,
        })?;
        let reply = self
            .transport
            .call(&self.addr, Rpc::InstallSnapshot, framed, ttl)
            .await;
        let reply = self.note(reply)?;
        serde_json::from_slice(&reply).map_err(|e| CallError::Failed {
            addr: self.addr.clone(),
            why: format!("malformed reply: {e}"),
        })
    }

    fn timeout(&self, action: RPCTypes, after: Duration) -> Timeout<NodeId> {
        Timeout {
            action,
            id: self.from,
            target: self.target,
            timeout: after,
        }
    }

    fn rpc_error<E: std::error::Error>(
        &self,
        action: RPCTypes,
        e: CallError,
    ) -> RPCError<NodeId, ManagerNode, E> {
        match e {
            CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
            CallError::Timeout { after, .. } => RPCError::Timeout(self.timeout(action, after)),
            CallError::Failed { .. } => RPCError::Network(NetworkError::new(&e)),
        }
    }
}

type RaftRpcError<E = openraft::error::Infallible> =
    RPCError<NodeId, ManagerNode, RaftError<NodeId, E>>;

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RaftRpcError> {
        let reply: Result<_, RaftError<NodeId>> = self
            .exchange(Rpc::AppendEntries, &rpc, option.hard_ttl())
            .await
            .map_err(|e| self.rpc_error(RPCTypes::AppendEntries, e))?;
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RaftRpcError> {
        let reply: Result<_, RaftError<NodeId>> = self
            .exchange(Rpc::Vote, &rpc, option.hard_ttl())
            .await
            .map_err(|e| self.rpc_error(RPCTypes::Vote, e))?;
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RaftRpcError<InstallSnapshotError>> {
        let reply: Result<_, RaftError<NodeId, InstallSnapshotError>> = self
            .send_snapshot(&SnapshotHeader::chunk(&rpc), &rpc.data, option.hard_ttl())
            .await
            .map_err(|e| self.rpc_error(RPCTypes::InstallSnapshot, e))?;
        reply.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// Sends the whole snapshot in one message instead of openraft's default chunking:
    /// one round trip, and the bytes travel raw.
    async fn full_snapshot(
        &mut self,
        vote: Vote<NodeId>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, openraft::error::Fatal<NodeId>>>
    {
        let header = SnapshotHeader::Full {
            vote,
            meta: snapshot.meta.clone(),
        };
        let data = snapshot.snapshot.into_inner();
        let send = self.send_snapshot::<wire::FullSnapshotReply>(&header, &data, option.hard_ttl());
        let reply = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            reply = send => reply,
        };
        let reply = reply.map_err(|e| match e {
            CallError::Unreachable { .. } => StreamingError::Unreachable(Unreachable::new(&e)),
            CallError::Timeout { after, .. } => {
                StreamingError::Timeout(self.timeout(RPCTypes::InstallSnapshot, after))
            }
            CallError::Failed { .. } => StreamingError::Network(NetworkError::new(&e)),
        })?;
        reply.map_err(|fatal| StreamingError::RemoteError(RemoteError::new(self.target, fatal)))
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.backoff))
    }
}
