//! The newest log entries, kept decoded in memory. openraft reads each entry back from the log
//! store after appending it — on the leader once per follower to replicate it, on every manager
//! once to apply it — and each read from redb decoded its JSON again. Those reads are served
//! from here; older entries (a follower far behind, a restart) still come from redb.
//!
//! Entries share their writes behind an `Arc` ([`Request`](super::Request)), so keeping and
//! handing out copies costs no deep clone.

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};

use openraft::Entry;

use super::TypeConfig;

/// Encoded bytes of entries kept: a few seconds of writes at full speed.
pub(crate) const RECENT_BYTES: usize = 16 << 20;

/// A suffix of the log: for every index from the first one held, an entry is here exactly when
/// it is in the log. Every append, truncation and purge of the log is mirrored here; eviction
/// only drops the oldest entries.
pub(crate) struct RecentEntries {
    /// Entries by index, with their encoded size.
    entries: BTreeMap<u64, (Entry<TypeConfig>, usize)>,
    bytes: usize,
    limit: usize,
}

impl RecentEntries {
    pub fn new(limit: usize) -> Self {
        RecentEntries {
            entries: BTreeMap::new(),
            bytes: 0,
            limit,
        }
    }

    /// Adds an entry just appended to the log (`size`: its encoded length), dropping the oldest
    /// ones beyond the limit. The newest entry always stays.
    pub fn appended(&mut self, index: u64, entry: Entry<TypeConfig>, size: usize) {
        if let Some((_, old)) = self.entries.insert(index, (entry, size)) {
            self.bytes -= old;
        }
        self.bytes += size;
        while self.bytes > self.limit && self.entries.len() > 1 {
            if let Some((_, (_, size))) = self.entries.pop_first() {
                self.bytes -= size;
            }
        }
    }

    /// The log's entries in `range`, if all of them are held here.
    pub fn get(&self, range: &impl RangeBounds<u64>) -> Option<Vec<Entry<TypeConfig>>> {
        let first = *self.entries.keys().next()?;
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.checked_add(1)?,
            Bound::Unbounded => 0,
        };
        if start < first {
            return None;
        }
        let end = match range.end_bound() {
            Bound::Included(&i) => Bound::Included(i),
            Bound::Excluded(&i) => Bound::Excluded(i),
            Bound::Unbounded => Bound::Unbounded,
        };
        Some(
            self.entries
                .range((Bound::Included(start), end))
                .map(|(_, (e, _))| e.clone())
                .collect(),
        )
    }

    /// Mirrors the log losing every entry from `index` on.
    pub fn truncated(&mut self, index: u64) {
        for (_, (_, size)) in self.entries.split_off(&index) {
            self.bytes -= size;
        }
    }

    /// Mirrors the log losing every entry up to and including `index`.
    pub fn purged(&mut self, index: u64) {
        let kept = match index.checked_add(1) {
            Some(next) => self.entries.split_off(&next),
            None => BTreeMap::new(),
        };
        for (_, (_, size)) in std::mem::replace(&mut self.entries, kept) {
            self.bytes -= size;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::testing::log_id;
    use openraft::EntryPayload;

    fn entry(index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: log_id(1, 1, index),
            payload: EntryPayload::Blank,
        }
    }

    fn indexes(got: Option<Vec<Entry<TypeConfig>>>) -> Option<Vec<u64>> {
        got.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    fn filled(limit: usize, range: std::ops::RangeInclusive<u64>) -> RecentEntries {
        let mut r = RecentEntries::new(limit);
        for i in range {
            r.appended(i, entry(i), 10);
        }
        r
    }

    #[test]
    fn serves_ranges_it_holds_entirely_and_nothing_older() {
        let r = filled(1000, 5..=9);
        assert_eq!(indexes(r.get(&(6..8))), Some(vec![6, 7]));
        assert_eq!(indexes(r.get(&(7..))), Some(vec![7, 8, 9]));
        assert_eq!(indexes(r.get(&(5..=9))), Some(vec![5, 6, 7, 8, 9]));
        // Past the end of the log: nothing there, as in the log.
        assert_eq!(indexes(r.get(&(10..20))), Some(vec![]));
        // Starting before the first entry held: the log must answer.
        assert_eq!(indexes(r.get(&(4..7))), None);
        assert_eq!(indexes(r.get(&(..))), None);
        assert_eq!(indexes(RecentEntries::new(1000).get(&(1..))), None);
    }

    #[test]
    fn evicts_the_oldest_beyond_the_limit_but_keeps_the_newest() {
        let mut r = filled(30, 1..=5);
        assert_eq!(indexes(r.get(&(3..))), Some(vec![3, 4, 5]));
        assert_eq!(indexes(r.get(&(2..))), None);
        r.appended(6, entry(6), 100);
        assert_eq!(indexes(r.get(&(6..))), Some(vec![6]));
        assert_eq!(indexes(r.get(&(5..))), None);
    }

    #[test]
    fn mirrors_truncation_and_purge() {
        let mut r = filled(1000, 1..=9);
        r.truncated(7);
        assert_eq!(indexes(r.get(&(5..))), Some(vec![5, 6]));
        // A replaced entry after a truncation is the new one.
        r.appended(7, entry(7), 10);
        r.purged(3);
        assert_eq!(indexes(r.get(&(3..))), None);
        assert_eq!(indexes(r.get(&(4..))), Some(vec![4, 5, 6, 7]));
        r.purged(u64::MAX);
        assert_eq!(indexes(r.get(&(4..))), None);
        assert_eq!(r.bytes, 0);
    }
}
