//! The server side of the manager ⇄ manager transport: [`RaftService`] answers `raft.proto`
//! by handing openraft's messages to the local Raft, and runs forwarded writes and membership
//! requests when this manager leads.

use std::io::Cursor;
use std::sync::Arc;

use api::raft::raft_server::{Raft as RaftRpc, RaftServer};
use api::raft::RaftBytes;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use openraft::Snapshot;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::core::NodeCore;
use super::network::MAX_MESSAGE_BYTES;
use super::wire::{self, decode, encode, MembershipRequest, SnapshotHeader};
use super::{NodeId, TypeConfig};
use crate::action::StoreAction;

/// `raft.proto`'s service for one manager. Add it to the manager's gRPC server with
/// [`RaftService::into_server`] (or [`RaftNode::service`](super::RaftNode::service)).
#[derive(Clone)]
pub struct RaftService {
    core: Arc<NodeCore>,
}

impl RaftService {
    pub(crate) fn new(core: Arc<NodeCore>) -> Self {
        RaftService { core }
    }

    /// The tonic service, accepting messages as large as snapshots get.
    pub fn into_server(self) -> RaftServer<RaftService> {
        RaftServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    fn check_running(&self) -> Result<(), Status> {
        if self.core.stopped.is_cancelled() {
            return Err(Status::unavailable("manager is shutting down"));
        }
        Ok(())
    }

    /// A message from a leader proves it reaches us (and we it, as we answer).
    fn heard_from_leader(&self, leader: Option<NodeId>) {
        if let Some(id) = leader {
            self.core.peers.heard_from(id);
        }
    }
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        request: Request<RaftBytes>,
    ) -> Result<Response<RaftBytes>, Status> {
        self.check_running()?;
        let rpc: AppendEntriesRequest<TypeConfig> = decode(&request.into_inner().data)?;
        if rpc.vote.is_committed() {
            self.heard_from_leader(rpc.vote.leader_id().voted_for());
        }
        let reply = self.core.raft.append_entries(rpc).await;
        Ok(Response::new(encode(&reply)?))
    }

    async fn vote(&self, request: Request<RaftBytes>) -> Result<Response<RaftBytes>, Status> {
        self.check_running()?;
        let rpc: VoteRequest<NodeId> = decode(&request.into_inner().data)?;
        let reply = self.core.raft.vote(rpc).await;
        Ok(Response::new(encode(&reply)?))
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftBytes>,
    ) -> Result<Response<RaftBytes>, Status> {
        self.check_running()?;
        let bytes = request.into_inner().data;
        let (header, data) = wire::unframe_snapshot(&bytes)?;
        let reply = match header {
            SnapshotHeader::Full { vote, meta } => {
                self.heard_from_leader(vote.leader_id().voted_for());
                let snapshot = Snapshot {
                    meta,
                    snapshot: Box::new(Cursor::new(data.to_vec())),
                };
                encode(&self.core.raft.install_full_snapshot(vote, snapshot).await)?
            }
            SnapshotHeader::Chunk {
                vote,
                meta,
                offset,
                done,
            } => {
                let req = InstallSnapshotRequest {
                    vote,
                    meta,
                    offset,
                    data: data.to_vec(),
                    done,
                };
                encode(&self.core.raft.install_snapshot(req).await)?
            }
        };
        Ok(Response::new(reply))
    }

    async fn propose(&self, request: Request<RaftBytes>) -> Result<Response<RaftBytes>, Status> {
        self.check_running()?;
        let actions: Vec<StoreAction> = decode(&request.into_inner().data)?;
        let reply = self.core.write_here(actions).await;
        Ok(Response::new(encode(&reply)?))
    }

    async fn change_membership(
        &self,
        request: Request<RaftBytes>,
    ) -> Result<Response<RaftBytes>, Status> {
        self.check_running()?;
        let req: MembershipRequest = decode(&request.into_inner().data)?;
        let reply = self.core.membership_here(req).await;
        Ok(Response::new(encode(&reply)?))
    }
}

/// Serves `service` alone on `listener` until `shutdown` is cancelled, then closes every
/// connection (peers reconnect to whatever listens there next). For tests and tools; the
/// daemon adds the service to its own server instead.
pub fn serve(
    listener: TcpListener,
    service: RaftServer<RaftService>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<Result<(), tonic::transport::Error>> {
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                shutdown.cancelled_owned(),
            ),
    )
}
