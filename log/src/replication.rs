//! What a follower replica does to its log: append batches fetched from the
//! partition leader as they are ([`Log::append_as_follower`]), cut a
//! divergent tail ([`Log::truncate_to`], KIP-101 / KIP-279) and start over
//! above the leader's log start ([`Log::truncate_fully_and_start_at`]); and
//! the leader epoch cache both roles keep ([`crate::epoch`]).
//!
//! This module does not fetch, choose truncation points or track high
//! watermarks: the broker's replica code decides, the log only applies.
//! The leader's own append is [`Log::append`] (`log.rs`).

use std::fs;

use tracing::{info, warn};

use crate::batch::{BatchHeader, Batches};
use crate::cleaner;
use crate::error::{LogError, Result};
use crate::log::{AppendInfo, Log, START_CHECKPOINT};
use crate::producer_state::ProducerStateManager;
use crate::segment::Segment;
use crate::txn::{self, ControlType};

/// Removes `path`; a missing file is fine.
fn remove_if_present(path: &std::path::Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

impl Log {
    /// Appends batches fetched from the partition leader, unchanged: their
    /// offsets and partition leader epochs were assigned by the leader.
    ///
    /// `batches` is one or more RecordBatch v2 back to back; a trailing
    /// incomplete batch (a fetch response cut mid-batch) is ignored, and
    /// `Ok(None)` means there was no whole batch. Every whole batch is
    /// checked (header, magic 2, CRC32C; records are not walked), and its
    /// base offset must be at least the log end offset and above the
    /// previous batch's last offset (gaps are allowed: the leader's log may
    /// be compacted); otherwise [`LogError::OffsetOutOfOrder`] (or the
    /// batch's error) and nothing is written.
    ///
    /// The effects are the leader's own: segment roll (at the first batch's
    /// offset), indexes, producer state (updated without any check: the
    /// leader checked), open transactions and aborted-transaction entries,
    /// the leader epoch cache, and the `flush.messages` count
    /// ([`AppendInfo::flush_needed`]). The log end offset becomes the last
    /// batch's last offset + 1.
    pub fn append_as_follower(&mut self, batches: &[u8]) -> Result<Option<AppendInfo>> {
        let mut expected = self.log_end_offset();
        let mut headers: Vec<BatchHeader> = Vec::new();
        let mut kinds: Vec<(usize, Option<(ControlType, i32)>)> = Vec::new();
        let mut whole = 0usize;
        let mut records = 0u64;
        for item in Batches::new(batches) {
            let (_, range) = item?;
            let bytes = &batches[range.clone()];
            let h = BatchHeader::validate(bytes)?;
            if h.base_offset < expected {
                return Err(LogError::OffsetOutOfOrder {
                    expected_at_least: expected,
                    got: h.base_offset,
                });
            }
            expected = h.last_offset() + 1;
            if h.is_control() {
                // The leader appended it, so it parsed there; a marker that
                // does not parse here is kept and ends nothing.
                let kind = txn::control_type(&h, bytes).unwrap_or_else(|e| {
                    warn!(dir = %self.dir.display(), offset = h.base_offset, error = %e, "unreadable replicated control batch");
                    None
                });
                kinds.push((headers.len(), kind));
            }
            records += h.records_count.max(0) as u64;
            whole = range.end;
            headers.push(h);
        }
        let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
            return Ok(None);
        };
        let (base_offset, last_offset) = (first.base_offset, last.last_offset());
        self.maybe_roll(whole as u64, base_offset, last_offset)?;
        self.active_mut().append(&batches[..whole])?;
        let flush_needed = self.note_written(&headers, &kinds, records);
        Ok(Some(AppendInfo {
            base_offset,
            last_offset,
            log_start_offset: self.log_start_offset,
            flush_needed,
        }))
    }

    /// Removes every record at or above `offset` (a follower's divergent
    /// tail). `offset` is a batch boundary in practice; inside a batch, the
    /// cut is before that batch, so the log end offset afterwards is at most
    /// `offset`. A no-op when `offset` is at or past the log end offset;
    /// below the first segment it is [`Log::truncate_fully_and_start_at`]
    /// (as Kafka does).
    ///
    /// Later segments are deleted, the one holding `offset` is cut and its
    /// indexes trimmed, producer and transaction state are rebuilt as of the
    /// new end (newest producer snapshot at or below it plus a replay;
    /// snapshots above it deleted), leader epochs starting at or past the new
    /// end are dropped, a cleaner checkpoint past the active segment is cut
    /// back, and the log start offset moves down to `offset` if it was
    /// above. Everything changed is fsynced before returning: a crash
    /// afterwards does not bring the tail back.
    pub fn truncate_to(&mut self, offset: i64) -> Result<()> {
        if offset >= self.log_end_offset() {
            // No record to cut, but an epoch may start here: a replica that
            // took leadership (recording its epoch at the log end) and lost
            // it before appending. Left in the cache, it would be sent as
            // `last_fetched_epoch` forever and diverge forever.
            if self.epochs.truncate_from_end(offset) {
                self.epochs_dirty = true;
                self.store_epochs_if_dirty();
            }
            return Ok(());
        }
        let first_base = self.segments.keys().next().copied().unwrap_or(0);
        if offset < first_base {
            return self.truncate_fully_and_start_at(offset);
        }
        let old_end = self.log_end_offset();
        // Newest first: a crash part way leaves a shorter prefix of the log.
        let later: Vec<i64> = self.segments.range(offset + 1..).map(|(b, _)| *b).collect();
        for base in later.into_iter().rev() {
            if let Some(seg) = self.segments.remove(&base) {
                seg.delete_files()?;
            }
        }
        if self.segments.is_empty() {
            // Cannot happen (the first segment starts at or below offset);
            // keep the invariant of one segment anyway.
            let seg = self.new_segment(offset)?;
            self.segments.insert(offset, seg);
        }
        self.active_mut().truncate_to(offset)?;
        fs::File::open(&self.dir)?.sync_all()?;
        let end = self.log_end_offset();

        if self.log_start_offset > end {
            self.log_start_offset = end.max(first_base);
            self.store_start_offset()?;
        }
        self.dirty_txn_indexes.retain(|b| *b <= end);
        // Also deletes the producer snapshots past the new end.
        self.rebuild_producer_state()?;
        if self.epochs.truncate_from_end(end) {
            self.epochs_dirty = true;
        }
        self.store_epochs_if_dirty();
        self.cap_cleaner_checkpoint()?;
        self.flushed_records = self.appended_records;
        self.last_flush = std::time::Instant::now();
        info!(dir = %self.dir.display(), from = old_end, to = end, "truncated log tail");
        Ok(())
    }

    /// Drops every segment and starts an empty log at `offset` (log start
    /// = log end = `offset`): the follower is below the leader's log start.
    /// Producer and transaction state, snapshots, the cleaner checkpoint and
    /// the leader epoch cache are cleared.
    pub fn truncate_fully_and_start_at(&mut self, offset: i64) -> Result<()> {
        if offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                start: self.log_start_offset,
                end: self.log_end_offset(),
            });
        }
        // The start checkpoint goes first: with it gone, a crash part way
        // opens whatever segments remain from their first offset.
        remove_if_present(&self.dir.join(START_CHECKPOINT))?;
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        for base in bases.into_iter().rev() {
            if let Some(seg) = self.segments.remove(&base) {
                seg.delete_files()?;
            }
        }
        for snapshot in self.snapshot_offsets()? {
            remove_if_present(&self.snapshot_path(snapshot))?;
        }
        remove_if_present(&self.dir.join(cleaner::CHECKPOINT_FILE))?;
        let seg = self.new_segment(offset)?;
        self.segments.insert(offset, seg);
        fs::File::open(&self.dir)?.sync_all()?;
        self.log_start_offset = offset;
        self.producers = ProducerStateManager::default();
        self.aborted.clear();
        self.dirty_txn_indexes.clear();
        self.epochs.clear();
        self.epochs_dirty = true;
        self.store_epochs_if_dirty();
        self.flushed_records = self.appended_records;
        self.last_flush = std::time::Instant::now();
        info!(dir = %self.dir.display(), offset, "log emptied and restarted");
        Ok(())
    }

    /// The newest leader epoch in the log's epoch cache.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// OffsetsForLeaderEpoch: Kafka's `endOffsetFor(epoch, logEndOffset)`
    /// (see [`crate::epoch::EpochCache::end_offset_for`]); None is
    /// UNDEFINED (answer epoch -1, end offset -1).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// The leader epoch cache as `(epoch, start offset)`, oldest first.
    pub fn epoch_entries(&self) -> Vec<(i32, i64)> {
        self.epochs.entries().to_vec()
    }

    /// Records that leader epoch `epoch` starts at the log end offset (what
    /// Kafka's leader does on becoming leader, before any append of the
    /// epoch, so OffsetsForLeaderEpoch answers for it at once). Entries
    /// that would break monotonicity are dropped; the checkpoint is stored
    /// when it changed.
    pub fn assign_epoch_start(&mut self, epoch: i32) {
        let end = self.log_end_offset();
        if self.epochs.assign(epoch, end) {
            self.epochs_dirty = true;
        }
        self.store_epochs_if_dirty();
    }

    /// Opens a new, empty segment at `base` with this log's settings.
    fn new_segment(&self, base: i64) -> Result<Segment> {
        Segment::open(
            &self.dir,
            base,
            self.config.index_max_bytes,
            self.config.index_interval_bytes,
        )
    }

    /// Persists the log start offset (tmp + fsync + rename).
    fn store_start_offset(&self) -> Result<()> {
        let tmp = self.dir.join(format!("{START_CHECKPOINT}.tmp"));
        fs::write(&tmp, self.log_start_offset.to_string())?;
        fs::File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, self.dir.join(START_CHECKPOINT))?;
        Ok(())
    }
}
