//! The leader epoch cache: which leader epoch began at which offset
//! (Kafka's `LeaderEpochFileCache`, KIP-101 / KIP-279), persisted as
//! `leader-epoch-checkpoint` in the partition directory in Kafka's text
//! format:
//!
//! ```text
//! 0                 version
//! 2                 number of entries
//! 0 0               epoch start_offset
//! 3 1200
//! ```
//!
//! The cache answers OffsetsForLeaderEpoch ([`EpochCache::end_offset_for`])
//! and is cut when the log is truncated from either end. It is pure data
//! plus its file: the log ([`crate::Log`]) decides when entries are added
//! (a batch whose partition leader epoch is newer than the latest) and
//! calls [`EpochCache::store`] when the cache changed. It knows nothing of
//! segments or batches.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{LogError, Result};

/// File name of the checkpoint in a partition directory.
pub const EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";
/// Version line of the checkpoint format.
const VERSION: i32 = 0;

/// Ordered `(epoch, start_offset)` entries: epochs and start offsets both
/// strictly increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpochCache {
    entries: Vec<(i32, i64)>,
}

impl EpochCache {
    /// A cache holding `entries` (assumed ordered).
    pub fn from_entries(entries: Vec<(i32, i64)>) -> Self {
        EpochCache { entries }
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }

    /// True when no epoch is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The newest epoch.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.0)
    }

    /// Records that `epoch` starts at `start_offset` (Kafka's `assign`):
    /// no change when it is the latest epoch already starting at or before
    /// that offset; otherwise entries that would break monotonicity (an
    /// epoch >= `epoch` or a start >= `start_offset`) are dropped first.
    /// Negative epochs or offsets are ignored. Returns true on a change.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        if epoch < 0 || start_offset < 0 {
            return false;
        }
        if let Some(&(latest, start)) = self.entries.last() {
            if latest == epoch && start_offset >= start {
                return false;
            }
        }
        while let Some(&(e, s)) = self.entries.last() {
            if e >= epoch || s >= start_offset {
                self.entries.pop();
            } else {
                break;
            }
        }
        self.entries.push((epoch, start_offset));
        true
    }

    /// Kafka's `endOffsetFor(requestedEpoch, logEndOffset)`: the largest
    /// epoch <= `requested` and the offset where it ended (the start of the
    /// next higher epoch), or the log end offset when `requested` is the
    /// latest epoch. None is UNDEFINED (-1, -1): `requested` is -1, the
    /// cache is empty, or `requested` is above every epoch known. A
    /// `requested` below the earliest epoch answers `(requested, start of
    /// the earliest epoch)`, as Kafka does (the data before it is gone).
    pub fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested == -1 {
            return None;
        }
        if self.latest_epoch() == Some(requested) {
            return Some((requested, log_end_offset));
        }
        let higher = self.entries.iter().find(|(e, _)| *e > requested)?;
        match self.entries.iter().rev().find(|(e, _)| *e <= requested) {
            None => Some((requested, higher.1)),
            Some(&(floor, _)) => Some((floor, higher.1)),
        }
    }

    /// Removes entries starting at or after `end_offset` (the log was
    /// truncated to it). Returns true on a change.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        let before = self.entries.len();
        if end_offset >= 0 {
            self.entries.retain(|(_, s)| *s < end_offset);
        }
        self.entries.len() != before
    }

    /// Kafka's `truncateFromStart`: the log now starts at `start_offset`;
    /// entries starting at or before it are removed, and the latest of them
    /// is kept, moved to `start_offset`. Returns true on a change.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let removed = self
            .entries
            .iter()
            .take_while(|(_, s)| *s <= start_offset)
            .count();
        if removed == 0 {
            return false;
        }
        let (epoch, _) = self.entries[removed - 1];
        let changed = removed > 1 || self.entries[0].1 != start_offset;
        self.entries.drain(..removed);
        self.entries.insert(0, (epoch, start_offset));
        changed
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The checkpoint file's text.
    pub fn encode(&self) -> String {
        let mut out = format!("{VERSION}\n{}\n", self.entries.len());
        for (epoch, start) in &self.entries {
            out.push_str(&format!("{epoch} {start}\n"));
        }
        out
    }

    /// Parses a checkpoint file's text (`path` names it in errors).
    pub fn decode(text: &str, path: &Path) -> Result<Self> {
        let corrupt = |reason: String| LogError::Corrupt {
            path: path.display().to_string(),
            reason,
        };
        let mut lines = text.lines();
        let version = lines.next().map(str::trim);
        if version != Some("0") {
            return Err(corrupt(format!("unsupported version line {version:?}")));
        }
        let count: usize = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| corrupt("missing entry count".into()))?;
        let mut entries: Vec<(i32, i64)> = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let line = lines
                .next()
                .ok_or_else(|| corrupt(format!("expected {count} entries")))?;
            let mut parts = line.split_whitespace();
            let (Some(e), Some(s), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(corrupt(format!("bad entry line {line:?}")));
            };
            let (Ok(epoch), Ok(start)) = (e.parse::<i32>(), s.parse::<i64>()) else {
                return Err(corrupt(format!("bad entry line {line:?}")));
            };
            if entries
                .last()
                .is_some_and(|&(pe, ps)| epoch <= pe || start < ps)
            {
                return Err(corrupt(format!("entries not increasing at {line:?}")));
            }
            entries.push((epoch, start));
        }
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(corrupt(format!("more than {count} entries")));
        }
        Ok(EpochCache { entries })
    }

    /// Path of the checkpoint in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(EPOCH_CHECKPOINT)
    }

    /// Reads the checkpoint in `dir`: None when there is no file.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(dir);
        match fs::read_to_string(&path) {
            Ok(text) => Self::decode(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the checkpoint into `dir` durably: a temporary file, fsync,
    /// rename over the old one, fsync of the directory.
    pub fn store(&self, dir: &Path) -> Result<()> {
        let path = Self::path(dir);
        let tmp = dir.join(format!("{EPOCH_CHECKPOINT}.tmp"));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(self.encode().as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        EpochCache::from_entries(entries.to_vec())
    }

    #[test]
    fn end_offset_for_every_branch() {
        let c = cache(&[(1, 0), (3, 10), (6, 25)]);
        let leo = 40;
        // Undefined epoch asked.
        assert_eq!(c.end_offset_for(-1, leo), None);
        // The latest epoch: the log end offset.
        assert_eq!(c.end_offset_for(6, leo), Some((6, 40)));
        // Above every known epoch: undefined.
        assert_eq!(c.end_offset_for(7, leo), None);
        // An epoch present and not the latest: ends where the next begins.
        assert_eq!(c.end_offset_for(1, leo), Some((1, 10)));
        assert_eq!(c.end_offset_for(3, leo), Some((3, 25)));
        // An epoch between two known ones: the floor epoch, the next start.
        assert_eq!(c.end_offset_for(2, leo), Some((1, 10)));
        assert_eq!(c.end_offset_for(5, leo), Some((3, 25)));
        // Below the earliest epoch: the requested epoch, the first start.
        assert_eq!(c.end_offset_for(0, leo), Some((0, 0)));
        let later = cache(&[(4, 100), (5, 120)]);
        assert_eq!(later.end_offset_for(2, 130), Some((2, 100)));
        // Empty cache: undefined, whatever is asked.
        assert_eq!(EpochCache::default().end_offset_for(0, 5), None);
        assert_eq!(EpochCache::default().end_offset_for(3, 5), None);
        // A single entry asked for itself.
        assert_eq!(cache(&[(2, 7)]).end_offset_for(2, 9), Some((2, 9)));
    }

    #[test]
    fn assign_keeps_entries_monotonic() {
        let mut c = EpochCache::default();
        assert!(c.assign(0, 0));
        assert!(!c.assign(0, 5), "same epoch later: no change");
        assert!(c.assign(2, 10));
        assert!(!c.assign(-1, 12), "negative epoch ignored");
        assert_eq!(c.entries(), &[(0, 0), (2, 10)]);
        // The latest epoch at an earlier offset replaces it.
        assert!(c.assign(2, 8));
        assert_eq!(c.entries(), &[(0, 0), (2, 8)]);
        // A lower epoch drops the newer ones.
        assert!(c.assign(1, 9));
        assert_eq!(c.entries(), &[(0, 0), (1, 9)]);
        // A newer epoch starting before entries drops those.
        assert!(c.assign(5, 0));
        assert_eq!(c.entries(), &[(5, 0)]);
        assert_eq!(c.latest_epoch(), Some(5));
    }

    #[test]
    fn truncation_from_either_end() {
        let mut c = cache(&[(1, 0), (3, 10), (6, 25)]);
        assert!(!c.truncate_from_end(26));
        assert!(c.truncate_from_end(25));
        assert_eq!(c.entries(), &[(1, 0), (3, 10)]);
        assert!(c.truncate_from_end(0));
        assert!(c.is_empty());

        let mut c = cache(&[(1, 0), (3, 10), (6, 25)]);
        // Nothing at or before the new start: unchanged.
        let mut d = cache(&[(3, 10)]);
        assert!(!d.truncate_from_start(5));
        assert_eq!(d.entries(), &[(3, 10)]);
        // Exactly at an entry's start: that entry stays as it was.
        assert!(c.truncate_from_start(10));
        assert_eq!(c.entries(), &[(3, 10), (6, 25)]);
        assert!(!c.truncate_from_start(10));
        // Inside an epoch: its entry moves to the new start.
        assert!(c.truncate_from_start(30));
        assert_eq!(c.entries(), &[(6, 30)]);
    }

    #[test]
    fn checkpoint_text_round_trips_in_kafkas_format() {
        let c = cache(&[(0, 0), (4, 120), (7, 4096)]);
        let text = c.encode();
        assert_eq!(text, "0\n3\n0 0\n4 120\n7 4096\n");
        assert_eq!(EpochCache::decode(&text, Path::new("x")).expect("ok"), c);
        assert_eq!(
            EpochCache::decode("0\n0\n", Path::new("x")).expect("ok"),
            EpochCache::default()
        );
        for bad in [
            "",
            "1\n0\n",
            "0\n2\n0 0\n",
            "0\n1\n0\n",
            "0\n1\nx 0\n",
            "0\n2\n3 0\n2 5\n",
            "0\n1\n0 0\n1 1\n",
        ] {
            assert!(
                EpochCache::decode(bad, Path::new("x")).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn store_and_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(EpochCache::load(dir.path()).expect("load"), None);
        let c = cache(&[(2, 3), (9, 40)]);
        c.store(dir.path()).expect("store");
        assert_eq!(EpochCache::load(dir.path()).expect("load"), Some(c));
        assert!(!dir.path().join("leader-epoch-checkpoint.tmp").exists());
    }
}
