//! Sparse, memory-mapped index files: `.index` and `.timeindex`.
//!
//! Both use Kafka's layout (big-endian, fixed-size entries):
//!
//! ```text
//! .index      entry = relativeOffset:u32 position:u32          (8 bytes)
//! .timeindex  entry = timestamp:i64      relativeOffset:u32    (12 bytes)
//! ```
//!
//! An index file holds its entries followed by zeroed room for more; the
//! whole file is mapped. A valid entry is never all zero (the first
//! offset-index entry is written only after `index.interval.bytes` of data, so
//! its position is > 0; time-index entries with a non-positive timestamp are
//! not written), so the entry count is the length of the non-zero prefix.
//!
//! Full disks: the room is reserved by writing it ([`crate::mmap::allocate`])
//! in growing steps (4 KiB, doubling, up to `segment.index.bytes`) when an
//! entry does not fit, never by a sparse `set_len`, so no mapped page is ever
//! a hole that would have to be allocated on access (a `SIGBUS` on a full file
//! system). Opening counts the entries with `pread` and cuts the file back to
//! them before mapping it (files written by older versions were preallocated
//! sparse to the maximum size), so opening needs no space at all and a broker
//! starts on a full disk. When the room cannot be grown, the entry is skipped
//! and logged: the index is sparse by design, lookups then scan a little
//! further, and nothing is lost. When a segment rolls, its index files are
//! trimmed to their entries.
//!
//! This module does not know about batches; [`crate::segment`] decides when to
//! add entries.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::os::unix::fs::FileExt;

use tracing::warn;

use crate::error::{LogError, Result};
use crate::mmap::IndexMap;

/// Number of entries in an index file of `len` bytes: the length of its
/// non-zero prefix, found with `pread` (a binary search; one read when the
/// file is full, as sealed segments' are) so that no hole is ever mapped.
fn count_entries(file: &File, len: u64, entry_size: usize) -> Result<usize> {
    let cap = (len / entry_size as u64) as usize;
    let mut buf = vec![0u8; entry_size];
    let mut zero_at = |i: usize| -> Result<bool> {
        file.read_exact_at(&mut buf, (i * entry_size) as u64)?;
        Ok(buf.iter().all(|b| *b == 0))
    };
    if cap == 0 || !zero_at(cap - 1)? {
        return Ok(cap);
    }
    let (mut lo, mut hi) = (0usize, cap - 1);
    // Invariant: entries [0, lo) are non-zero, entries [hi, cap) are zero.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if zero_at(mid)? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

/// First step by which an index file grows.
const GROW_MIN: u64 = 4096;

/// One memory-mapped index file of fixed-size entries.
pub struct Index {
    path: PathBuf,
    file: Arc<File>,
    map: IndexMap,
    entry_size: usize,
    entries: usize,
    /// Most entries the file may hold (`segment.index.bytes`).
    max_entries: usize,
}

impl Index {
    /// Opens (creating if needed) an index file that may grow to
    /// `max_bytes`. Needs no free space (see the module docs).
    pub fn open(path: &Path, entry_size: usize, max_bytes: u64) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len();
        let entries = count_entries(&file, len, entry_size)?;
        let used = (entries * entry_size) as u64;
        if len > used {
            // Drop the (possibly sparse) room past the entries: shrinking
            // needs no space, and what stays mapped is all written data.
            file.set_len(used)?;
        }
        let map = IndexMap::map(&file)?;
        Ok(Index {
            path: path.to_path_buf(),
            file: Arc::new(file),
            map,
            entry_size,
            entries,
            max_entries: (max_bytes / entry_size as u64).max(1) as usize,
        })
    }

    /// Room for entries in the mapped file.
    fn capacity(&self) -> usize {
        self.map.bytes().len() / self.entry_size
    }

    fn raw(&self, i: usize) -> &[u8] {
        let at = i * self.entry_size;
        &self.map.bytes()[at..at + self.entry_size]
    }

    /// Makes room for at least one more entry by writing zeros past the
    /// mapped length (doubling, up to the maximum) and remapping.
    fn grow(&mut self) -> Result<()> {
        let step = self.entry_size as u64;
        let cur = self.map.bytes().len() as u64;
        let max = self.max_entries as u64 * step;
        let want = (cur.saturating_mul(2).max(GROW_MIN).min(max) / step) * step;
        let needed = (self.entries as u64 + 1) * step;
        let to = want.max(needed);
        // Unmapping keeps dirty pages in the page cache: no flush needed.
        self.map.unmap();
        let grown = crate::mmap::allocate(&self.file, cur, to);
        self.map = IndexMap::map(&self.file)?;
        grown?;
        Ok(())
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// True when no further entry fits (`segment.index.bytes` reached).
    pub fn is_full(&self) -> bool {
        self.entries >= self.max_entries
    }

    /// Appends one encoded entry; returns false when the index is full or
    /// cannot grow (a full disk, logged; the entry is skipped).
    fn push(&mut self, entry: &[u8]) -> bool {
        if self.is_full() {
            return false;
        }
        if self.entries >= self.capacity() {
            if let Err(e) = self.grow() {
                match &e {
                    LogError::Io(io) if crate::error::is_no_space(io) => {
                        crate::error::note_write_error(&self.path, "index entry", io)
                    }
                    _ => {
                        warn!(path = %self.path.display(), error = %e, "cannot grow index; entry skipped")
                    }
                }
                return false;
            }
            if self.entries >= self.capacity() {
                return false;
            }
        }
        let at = self.entries * self.entry_size;
        self.map.bytes_mut()[at..at + self.entry_size].copy_from_slice(entry);
        self.entries += 1;
        true
    }

    /// Drops every entry from `n` on (zeroing them in the file).
    pub fn truncate_entries(&mut self, n: usize) {
        if n >= self.entries {
            return;
        }
        let from = n * self.entry_size;
        let to = self.entries * self.entry_size;
        self.map.bytes_mut()[from..to].fill(0);
        self.entries = n;
    }

    /// Shrinks the file to exactly its entries (used when a segment rolls).
    pub fn trim(&mut self) -> Result<()> {
        self.map.flush()?;
        self.map.unmap();
        self.file.set_len((self.entries * self.entry_size) as u64)?;
        self.map = IndexMap::map(&self.file)?;
        Ok(())
    }

    /// Writes dirty pages to disk.
    pub fn flush(&self) -> Result<()> {
        self.map.flush()?;
        Ok(())
    }

    /// The open file (for an fsync without the segment's lock).
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Binary search: index of the last entry whose key is <= `target`.
    fn floor(&self, target: i64, key: impl Fn(&[u8]) -> i64) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.entries);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if key(self.raw(mid)) <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.checked_sub(1)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The `.index` file: relative offset → file position.
pub struct OffsetIndex(pub Index);

impl OffsetIndex {
    /// Size of one entry.
    pub const ENTRY: usize = 8;

    /// Opens the offset index at `path`.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self> {
        Ok(OffsetIndex(Index::open(path, Self::ENTRY, max_bytes)?))
    }

    /// Entry `i` as (relative offset, position).
    pub fn entry(&self, i: usize) -> (u32, u32) {
        let e = self.0.raw(i);
        (u32_at(e, 0), u32_at(e, 4))
    }

    /// Appends an entry; false when full.
    pub fn append(&mut self, relative_offset: u32, position: u32) -> bool {
        let mut e = [0u8; 8];
        e[0..4].copy_from_slice(&relative_offset.to_be_bytes());
        e[4..8].copy_from_slice(&position.to_be_bytes());
        self.0.push(&e)
    }

    /// The entry with the largest relative offset <= `relative_offset`,
    /// or `(0, 0)` (the segment start) when there is none.
    pub fn lookup(&self, relative_offset: u32) -> (u32, u32) {
        self.0
            .floor(i64::from(relative_offset), |e| i64::from(u32_at(e, 0)))
            .map(|i| self.entry(i))
            .unwrap_or((0, 0))
    }

    /// Drops entries that point at or past `size` bytes of log, or that are
    /// not strictly increasing (both can only come from a torn write).
    pub fn sanitize(&mut self, size: u64) {
        let mut keep = 0;
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..self.0.len() {
            let (rel, pos) = self.entry(i);
            let increasing = prev.is_none_or(|(pr, pp)| rel > pr && pos > pp);
            if u64::from(pos) >= size || !increasing {
                break;
            }
            prev = Some((rel, pos));
            keep = i + 1;
        }
        self.0.truncate_entries(keep);
    }
}

/// The `.timeindex` file: timestamp → relative offset.
pub struct TimeIndex(pub Index);

impl TimeIndex {
    /// Size of one entry.
    pub const ENTRY: usize = 12;

    /// Opens the time index at `path`.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self> {
        Ok(TimeIndex(Index::open(path, Self::ENTRY, max_bytes)?))
    }

    /// Entry `i` as (timestamp, relative offset).
    pub fn entry(&self, i: usize) -> (i64, u32) {
        let e = self.0.raw(i);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&e[0..8]);
        (i64::from_be_bytes(ts), u32_at(e, 8))
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<(i64, u32)> {
        self.0.len().checked_sub(1).map(|i| self.entry(i))
    }

    /// Appends an entry if its timestamp is larger than the last one's.
    /// Returns false only when the index is full.
    pub fn maybe_append(&mut self, timestamp: i64, relative_offset: u32) -> bool {
        if timestamp <= 0 || self.last().is_some_and(|(t, _)| timestamp <= t) {
            return true;
        }
        let mut e = [0u8; 12];
        e[0..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..12].copy_from_slice(&relative_offset.to_be_bytes());
        self.0.push(&e)
    }

    /// Relative offset to start scanning from for the first record with a
    /// timestamp >= `timestamp`: the entry with the largest timestamp strictly
    /// below it, or 0.
    pub fn lookup(&self, timestamp: i64) -> u32 {
        self.0
            .floor(timestamp.saturating_sub(1), |e| {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&e[0..8]);
                i64::from_be_bytes(ts)
            })
            .map(|i| self.entry(i).1)
            .unwrap_or(0)
    }

    /// Drops entries whose relative offset is >= `limit` or not increasing.
    pub fn sanitize(&mut self, limit: u32) {
        let mut keep = 0;
        let mut prev: Option<(i64, u32)> = None;
        for i in 0..self.0.len() {
            let (ts, rel) = self.entry(i);
            let increasing = prev.is_none_or(|(pt, pr)| ts > pt && rel >= pr);
            if rel >= limit || !increasing {
                break;
            }
            prev = Some((ts, rel));
            keep = i + 1;
        }
        self.0.truncate_entries(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("0.index");
        {
            let mut idx = OffsetIndex::open(&p, 1024).expect("open");
            assert!(idx.append(10, 100));
            assert!(idx.append(20, 250));
            assert!(idx.append(35, 400));
            assert_eq!(idx.lookup(5), (0, 0));
            assert_eq!(idx.lookup(10), (10, 100));
            assert_eq!(idx.lookup(34), (20, 250));
            assert_eq!(idx.lookup(1000), (35, 400));
        }
        let mut idx = OffsetIndex::open(&p, 1024).expect("reopen");
        assert_eq!(idx.0.len(), 3);
        idx.sanitize(300);
        assert_eq!(idx.0.len(), 2);
        idx.0.trim().expect("trim");
        let idx = OffsetIndex::open(&p, 8 * 2).expect("reopen trimmed");
        assert_eq!(idx.0.len(), 2);
        assert!(idx.0.is_full());
    }

    #[test]
    fn time_index_lookup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut idx = TimeIndex::open(&dir.path().join("0.timeindex"), 1200).expect("open");
        assert!(idx.maybe_append(100, 0));
        assert!(idx.maybe_append(90, 3)); // not larger: skipped
        assert!(idx.maybe_append(200, 10));
        assert_eq!(idx.0.len(), 2);
        assert_eq!(idx.lookup(50), 0);
        assert_eq!(idx.lookup(100), 0);
        assert_eq!(idx.lookup(150), 0);
        assert_eq!(idx.lookup(201), 10);
    }
}
