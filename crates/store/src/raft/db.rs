//! The one redb file holding a manager's Raft state: the log, the vote, the committed index,
//! the purge point and the latest snapshot. Every write is a durable (fsynced) commit unless
//! its caller says losing it is harmless.

// openraft's trait signatures fix the (large) storage error type; helpers share it.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::{AnyError, StorageError, StorageIOError};
use redb::{Database, Durability, ReadableDatabase, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::RaftNodeError;
use super::NodeId;

/// Log entries by index, each as JSON.
pub(crate) const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
/// Small named records (keys below), each as JSON, plus the snapshot bytes.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub(crate) const KEY_VOTE: &str = "vote";
pub(crate) const KEY_COMMITTED: &str = "committed";
pub(crate) const KEY_PURGED: &str = "last_purged";
pub(crate) const KEY_SNAPSHOT_META: &str = "snapshot_meta";
pub(crate) const KEY_SNAPSHOT_DATA: &str = "snapshot_data";

/// How a write must reach the disk before it counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sync {
    /// fsync before returning: the log, the vote, snapshots.
    Durable,
    /// May be lost in a crash (the next durable commit persists it): the committed index,
    /// which only saves replay work at startup.
    Lazy,
}

/// The open database, shared by the log store and the state machine.
pub struct RaftDb {
    db: Database,
    path: PathBuf,
    /// Dropped after `db` (fields drop in order), i.e. once the file is closed and unlocked:
    /// the signal that the state directory can be opened again.
    _closed: tokio::sync::watch::Sender<()>,
}

pub(crate) type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// A failure inside a write transaction.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error(transparent)]
    Redb(#[from] redb::Error),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
}

/// redb reports each stage (begin, open table, write, commit) with its own error type.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> Self {
                DbError::Redb(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TableError,
    redb::StorageError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Any redb or JSON failure as an openraft storage error (openraft then stops the node:
/// continuing on a store that cannot persist would break Raft's guarantees).
pub(crate) fn read_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read(AnyError::new(&e)).into()
}

pub(crate) fn write_err(e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write(AnyError::new(&e)).into()
}

impl RaftDb {
    /// Opens (or creates) `DIR/raft.redb`, creating `DIR` if needed.
    pub fn open(dir: &Path) -> Result<Arc<RaftDb>, RaftNodeError> {
        let path = dir.join("raft.redb");
        let fail = |reason: String| RaftNodeError::State {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create directory: {e}")))?;
        let db = Database::create(&path).map_err(|e| {
            fail(match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    "already in use by another swarmd on this state directory".into()
                }
                other => format!("cannot open (corrupted or not a raft database?): {other}"),
            })
        })?;
        // Create the tables up front so readers never meet a missing table.
        let tx = db.begin_write().map_err(|e| fail(e.to_string()))?;
        tx.open_table(LOGS).map_err(|e| fail(e.to_string()))?;
        tx.open_table(META).map_err(|e| fail(e.to_string()))?;
        tx.commit()
            .map_err(|e| fail(format!("cannot write (read-only or disk full?): {e}")))?;
        Ok(Arc::new(RaftDb {
            db,
            path,
            _closed: tokio::sync::watch::channel(()).0,
        }))
    }

    /// Resolves once the last handle to this database is dropped and the file is closed.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self._closed.subscribe();
        async move { while rx.changed().await.is_ok() {} }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads one JSON record from [`META`].
    pub(crate) fn get<T: DeserializeOwned>(&self, key: &str) -> StorageResult<Option<T>> {
        let tx = self.db.begin_read().map_err(read_err)?;
        let table = tx.open_table(META).map_err(read_err)?;
        match table.get(key).map_err(read_err)? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(read_err)?)),
            None => Ok(None),
        }
    }

    /// Reads raw bytes from [`META`].
    pub(crate) fn get_bytes(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let tx = self.db.begin_read().map_err(read_err)?;
        let table = tx.open_table(META).map_err(read_err)?;
        Ok(table
            .get(key)
            .map_err(read_err)?
            .map(|v| v.value().to_vec()))
    }

    /// Runs `f` in one write transaction and commits it. Blocking: call it from
    /// [`RaftDb::write_blocking`] in async code.
    pub(crate) fn write<R>(
        &self,
        sync: Sync,
        f: impl FnOnce(&WriteTransaction) -> Result<R, DbError>,
    ) -> Result<R, DbError> {
        let mut tx = self.db.begin_write()?;
        if sync == Sync::Lazy {
            tx.set_durability(Durability::None)?;
        }
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// [`RaftDb::write`] on a blocking thread, so an fsync never stalls the async runtime.
    pub(crate) async fn write_blocking<R: Send + 'static>(
        self: &Arc<Self>,
        sync: Sync,
        f: impl FnOnce(&WriteTransaction) -> Result<R, DbError> + Send + 'static,
    ) -> StorageResult<R> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.write(sync, f))
            .await
            .map_err(write_err)?
            .map_err(write_err)
    }

    /// Stores one JSON record in [`META`], durably.
    pub(crate) async fn put<T: Serialize>(
        self: &Arc<Self>,
        key: &'static str,
        value: &T,
        sync: Sync,
    ) -> StorageResult<()> {
        let bytes = serde_json::to_vec(value).map_err(write_err)?;
        self.write_blocking(sync, move |tx| {
            tx.open_table(META)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
        .await
    }

    pub(crate) fn begin_read(&self) -> StorageResult<redb::ReadTransaction> {
        self.db.begin_read().map_err(read_err)
    }
}
