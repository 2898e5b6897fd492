//! What travels inside `RaftBytes` between managers: openraft's own serde types as JSON,
//! plus the few messages of ours (forwarded writes, membership requests, snapshot framing).

use openraft::raft::{InstallSnapshotRequest, SnapshotResponse};
use openraft::{SnapshotMeta, Vote};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::RaftNodeError;
use super::membership::Member;
use super::{ManagerNode, NodeId, TypeConfig};
use crate::error::StoreError;
use api::raft::RaftBytes;

pub fn encode<T: Serialize>(value: &T) -> Result<RaftBytes, tonic::Status> {
    serde_json::to_vec(value)
        .map(|data| RaftBytes { data })
        .map_err(|e| tonic::Status::internal(format!("encoding raft message: {e}")))
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, tonic::Status> {
    serde_json::from_slice(bytes)
        .map_err(|e| tonic::Status::invalid_argument(format!("malformed raft message: {e}")))
}

/// Why a manager did not handle a forwarded request itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Refusal {
    /// Only the leader handles it; this is who this manager believes leads, if anyone.
    NotLeader {
        leader: Option<(NodeId, String)>,
    },
    Failed(RaftNodeError),
}

/// A forwarded write, committed and applied on the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// The entry's log index: the forwarding manager waits to have applied it, so a
    /// writer reads its own write there.
    pub index: u64,
    /// The outcome of applying it (a version conflict is an answer, not a failure).
    pub outcome: Result<(), StoreError>,
}

pub type ProposeReply = Result<Committed, Refusal>;

/// A membership request forwarded to the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MembershipRequest {
    AddVoter {
        id: NodeId,
        addr: String,
    },
    Remove {
        id: NodeId,
    },
    /// The leader's view of the managers and whether it reaches them.
    List,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MembershipAnswer {
    Changed,
    Members(Vec<Member>),
}

pub type MembershipReply = Result<MembershipAnswer, Refusal>;

/// The header of an InstallSnapshot message; the snapshot bytes follow it raw rather than
/// as a JSON array of numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum SnapshotHeader {
    /// The whole snapshot in one message (what openraft's replication sends).
    Full {
        vote: Vote<NodeId>,
        meta: SnapshotMeta<NodeId, ManagerNode>,
    },
    /// One chunk of openraft's chunked protocol.
    Chunk {
        vote: Vote<NodeId>,
        meta: SnapshotMeta<NodeId, ManagerNode>,
        offset: u64,
        done: bool,
    },
}

pub type FullSnapshotReply = Result<SnapshotResponse<NodeId>, openraft::error::Fatal<NodeId>>;

impl SnapshotHeader {
    pub fn chunk(req: &InstallSnapshotRequest<TypeConfig>) -> Self {
        SnapshotHeader::Chunk {
            vote: req.vote,
            meta: req.meta.clone(),
            offset: req.offset,
            done: req.done,
        }
    }
}

/// `[u32 big-endian header length][header JSON][snapshot bytes]`.
pub fn frame_snapshot(header: &SnapshotHeader, data: &[u8]) -> Result<Vec<u8>, String> {
    let head = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let len = u32::try_from(head.len()).map_err(|_| "snapshot header too large".to_string())?;
    let mut out = Vec::with_capacity(4 + head.len() + data.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(data);
    Ok(out)
}

pub fn unframe_snapshot(bytes: &[u8]) -> Result<(SnapshotHeader, &[u8]), tonic::Status> {
    let bad = |why: &str| tonic::Status::invalid_argument(format!("malformed snapshot: {why}"));
    let len_bytes: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("shorter than its header length"))?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let head = bytes
        .get(4..4 + len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = serde_json::from_slice(head).map_err(|e| bad(&e.to_string()))?;
    Ok((header, &bytes[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_frame_round_trips_and_rejects_garbage() {
        let header = SnapshotHeader::Full {
            vote: Vote::new(3, 1),
            meta: SnapshotMeta::default(),
        };
        let framed = frame_snapshot(&header, b"\x00\x01state").unwrap();
        let (back, data) = unframe_snapshot(&framed).unwrap();
        assert!(matches!(back, SnapshotHeader::Full { vote, .. } if vote == Vote::new(3, 1)));
        assert_eq!(data, b"\x00\x01state");

        assert!(unframe_snapshot(b"\x00\x00").is_err());
        assert!(unframe_snapshot(b"\x00\x00\x00\xffxx").is_err());
        assert!(unframe_snapshot(b"\x00\x00\x00\x02{]").is_err());
    }
}
