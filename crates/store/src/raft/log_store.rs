//! The Raft log, the vote and the committed index, in redb.

// openraft's trait signatures fix the (large) storage error type; helpers share it.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, LogId, OptionalSend, RaftLogId, Vote};
use redb::ReadableTable;

use super::db::{
    read_err, RaftDb, StorageResult, Sync, KEY_COMMITTED, KEY_PURGED, KEY_VOTE, LOGS, META,
};
use super::recent::{RecentEntries, RECENT_BYTES};
use super::{NodeId, TypeConfig};

/// The log side of a manager's Raft storage. Clones share the database and the recent entries
/// (openraft takes a clone as a reader for replication).
#[derive(Clone)]
pub struct LogStore {
    db: Arc<RaftDb>,
    /// The newest entries, decoded: what openraft reads back right after appending.
    recent: Arc<Mutex<RecentEntries>>,
}

impl LogStore {
    pub fn new(db: Arc<RaftDb>) -> Self {
        LogStore {
            db,
            recent: Arc::new(Mutex::new(RecentEntries::new(RECENT_BYTES))),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, RecentEntries> {
        self.recent.lock().expect("recent entries lock poisoned")
    }

    fn last_entry_id(&self) -> StorageResult<Option<LogId<NodeId>>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(LOGS).map_err(read_err)?;
        let Some((_, v)) = table.last().map_err(read_err)? else {
            return Ok(None);
        };
        let entry: Entry<TypeConfig> = serde_json::from_slice(v.value()).map_err(read_err)?;
        Ok(Some(*entry.get_log_id()))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        if let Some(entries) = self.recent().get(&range) {
            return Ok(entries);
        }
        let tx = self.db.begin_read()?;
        let table = tx.open_table(LOGS).map_err(read_err)?;
        let mut entries = Vec::new();
        for item in table.range(range).map_err(read_err)? {
            let (_, v) = item.map_err(read_err)?;
            entries.push(serde_json::from_slice(v.value()).map_err(read_err)?);
        }
        Ok(entries)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId<NodeId>> = self.db.get(KEY_PURGED)?;
        // Everything may be purged: then the last log ID is the purge point.
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        self.db.put(KEY_VOTE, vote, Sync::Durable).await
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        self.db.get(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> StorageResult<()> {
        // Only saves replay work at startup (entries up to it are re-applied from the log),
        // so it rides on the next durable commit instead of costing an fsync per write.
        self.db.put(KEY_COMMITTED, &committed, Sync::Lazy).await
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<NodeId>>> {
        Ok(self
            .db
            .get::<Option<LogId<NodeId>>>(KEY_COMMITTED)?
            .flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        let mut decoded = Vec::new();
        for e in entries {
            let bytes = serde_json::to_vec(&e).map_err(super::db::write_err)?;
            encoded.push((e.log_id.index, bytes));
            decoded.push(e);
        }
        // Readable from memory before the write lands, so no read can find an entry in redb but
        // not here; should the write fail, openraft stops this manager anyway.
        {
            let mut recent = self.recent();
            for (e, (index, bytes)) in decoded.into_iter().zip(&encoded) {
                recent.appended(*index, e, bytes.len());
            }
        }
        let res = self
            .db
            .write_blocking(Sync::Durable, move |tx| {
                let mut table = tx.open_table(LOGS)?;
                for (index, bytes) in &encoded {
                    table.insert(*index, bytes.as_slice())?;
                }
                Ok(())
            })
            .await;
        // openraft counts the entries as persisted only once this is called.
        callback.log_io_completed(
            res.as_ref()
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string())),
        );
        res
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let since = log_id.index;
        self.recent().truncated(since);
        self.db
            .write_blocking(Sync::Durable, move |tx| {
                tx.open_table(LOGS)?.retain_in(since.., |_, _| false)?;
                Ok(())
            })
            .await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let upto = log_id.index;
        self.recent().purged(upto);
        let record = serde_json::to_vec(&log_id).map_err(super::db::write_err)?;
        // The purge point and the removal commit together, so a crash leaves no gap between
        // what the log says it purged and what it holds.
        self.db
            .write_blocking(Sync::Durable, move |tx| {
                tx.open_table(META)?.insert(KEY_PURGED, record.as_slice())?;
                tx.open_table(LOGS)?.retain_in(..=upto, |_, _| false)?;
                Ok(())
            })
            .await
    }
}
