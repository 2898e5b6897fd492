//! The state machine: committed writes applied to the shared [`MemoryStore`], plus the
//! snapshots that let a restarted or new manager skip replaying the whole log.

// openraft's trait signatures fix the (large) storage error type; helpers share it.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, StorageError, StorageIOError,
    StoredMembership,
};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::db::{
    read_err, write_err, RaftDb, StorageResult, Sync, KEY_SNAPSHOT_DATA, KEY_SNAPSHOT_META, META,
};
use super::{ManagerNode, NodeId, Response, TypeConfig};
use crate::memory::MemoryStore;
use crate::tables::Tables;

type Membership = StoredMembership<NodeId, ManagerNode>;
type Meta = SnapshotMeta<NodeId, ManagerNode>;

/// The bytes of a snapshot: the whole state plus the Raft position it reflects, so the file
/// describes itself even without its metadata.
#[derive(Serialize, Deserialize)]
struct SnapshotPayload {
    tables: Tables,
    last_applied: Option<LogId<NodeId>>,
    membership: Membership,
}

/// Applies committed entries to memory and keeps the membership they carry.
pub struct StateMachine {
    memory: Arc<MemoryStore>,
    db: Arc<RaftDb>,
    last_applied: Option<LogId<NodeId>>,
    membership: Membership,
    /// Makes snapshot IDs unique when two snapshots cover the same log position; it counts
    /// the snapshots this process built.
    snapshot_seq: Arc<AtomicU64>,
}

impl StateMachine {
    /// Loads the latest stored snapshot (if any) into `memory`, which this state machine then
    /// owns: openraft replays the committed log after it.
    pub fn open(db: Arc<RaftDb>, memory: Arc<MemoryStore>) -> StorageResult<Self> {
        let mut sm = StateMachine {
            memory,
            db,
            last_applied: None,
            membership: Membership::default(),
            snapshot_seq: Arc::new(AtomicU64::new(0)),
        };
        match sm.stored_snapshot()? {
            Some((meta, data)) => sm.load(&meta, &data)?,
            // Memory may hold state from before; the log replays from the start.
            None => sm.memory.restore(Tables::default(), 0),
        }
        Ok(sm)
    }

    /// How many snapshots this state machine has built, read while openraft owns it.
    pub(super) fn snapshots_built(&self) -> Arc<AtomicU64> {
        self.snapshot_seq.clone()
    }

    fn stored_snapshot(&self) -> StorageResult<Option<(Meta, Vec<u8>)>> {
        let Some(meta) = self.db.get::<Meta>(KEY_SNAPSHOT_META)? else {
            return Ok(None);
        };
        let data = self.db.get_bytes(KEY_SNAPSHOT_DATA)?.ok_or_else(|| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                openraft::AnyError::error("snapshot metadata without data"),
            ))
        })?;
        Ok(Some((meta, data)))
    }

    /// Replaces the state with a snapshot's.
    fn load(&mut self, meta: &Meta, data: &[u8]) -> StorageResult<()> {
        let payload: SnapshotPayload = serde_json::from_slice(data).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(
                Some(meta.signature()),
                openraft::AnyError::new(&e),
            ))
        })?;
        let index = meta.last_log_id.map_or(0, |l| l.index);
        self.memory.restore(payload.tables, index);
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        Ok(())
    }
}

/// Stores a snapshot unless a newer one is already stored (a snapshot being built may finish
/// after a newer one was installed from the leader).
async fn store_snapshot(db: &Arc<RaftDb>, meta: &Meta, data: Vec<u8>) -> StorageResult<()> {
    let meta_bytes = serde_json::to_vec(meta).map_err(write_err)?;
    let last = meta.last_log_id;
    db.write_blocking(Sync::Durable, move |tx| {
        let mut table = tx.open_table(META)?;
        if let Some(stored) = table.get(KEY_SNAPSHOT_META)? {
            let stored: Meta = serde_json::from_slice(stored.value())?;
            if stored.last_log_id > last {
                return Ok(());
            }
        }
        table.insert(KEY_SNAPSHOT_META, meta_bytes.as_slice())?;
        table.insert(KEY_SNAPSHOT_DATA, data.as_slice())?;
        Ok(())
    })
    .await
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<NodeId>>, Membership)> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Response>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => Vec::new(),
                // Writes of one entry share its index: each object version is still unique
                // per object, since no write in a batch could have read another's result.
                EntryPayload::Normal(request) => self
                    .memory
                    .apply_writes(entry.log_id.index, request.0.iter().map(Vec::as_slice)),
                EntryPayload::Membership(m) => {
                    self.membership = Membership::new(Some(entry.log_id), m);
                    Vec::new()
                }
            };
            responses.push(Response(outcome));
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        // Copied here, between two applies, so the snapshot is one consistent point; the
        // slow part (encoding, writing) runs while applying continues.
        let (tables, _) = self.memory.snapshot();
        SnapshotBuilder {
            db: self.db.clone(),
            payload: Some(SnapshotPayload {
                tables,
                last_applied: self.last_applied,
                membership: self.membership.clone(),
            }),
            seq: self.snapshot_seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        // Decode before persisting: a snapshot that cannot load must not replace a good one.
        let payload: SnapshotPayload = serde_json::from_slice(&data).map_err(read_err)?;
        drop(payload);
        store_snapshot(&self.db, meta, data.clone()).await?;
        self.load(meta, &data)
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.stored_snapshot()?.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

/// Encodes and stores one snapshot taken by [`StateMachine::get_snapshot_builder`].
pub struct SnapshotBuilder {
    db: Arc<RaftDb>,
    payload: Option<SnapshotPayload>,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let payload = self.payload.take().ok_or_else(|| {
            StorageError::from(StorageIOError::write_snapshot(
                None,
                openraft::AnyError::error("snapshot builder used twice"),
            ))
        })?;
        let last = payload.last_applied;
        let meta = Meta {
            last_log_id: last,
            last_membership: payload.membership.clone(),
            snapshot_id: match last {
                Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, self.seq),
                None => format!("0-0-{}", self.seq),
            },
        };
        let data = tokio::task::spawn_blocking(move || serde_json::to_vec(&payload))
            .await
            .map_err(write_err)?
            .map_err(write_err)?;
        store_snapshot(&self.db, &meta, data.clone()).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
