//! A partition log: an ordered set of segments with one active segment.
//!
//! The log assigns offsets, rolls segments by size, age and index capacity,
//! checks idempotent-producer sequences and writes batches. It is
//! single-writer: callers serialise appends (`&mut self`), typically behind
//! a mutex (the "writer lock"). What can take long is done without that
//! lock: reads are planned under it and performed on the plan (`read.rs`),
//! fsyncs take the file handles under it and sync after
//! ([`Log::begin_flush`], [`FlushPlan::sync`], [`Log::complete_flush`]).
//! The one fsync still under the lock is the roll's: a sealed segment is
//! never recovered on open, so it must be durable before anything is
//! written after it.
//!
//! Opening a log (recovery) is in `recovery.rs`; retention (`take_expired`)
//! and DeleteRecords (`delete_records_before`) live here; compaction is in
//! the cleaner module; a follower's appends and truncations are in
//! `replication.rs`, the leader epoch cache in [`crate::epoch`] (both
//! appends feed it through `note_written`).
//!
//! Transactions: the log tracks open transactions through producer state,
//! which gives the last stable offset ([`Log::last_stable_offset`]), and
//! keeps the aborted-transaction index ([`crate::txn`]) that
//! `read_committed` fetches query with [`Log::aborted_transactions`].
//! Control batches are appended like any batch; the log reads their type.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::batch::{assign_offset, BatchHeader, Batches};
use crate::epoch::EpochCache;
use crate::error::{LogError, Result};
use crate::producer_state::{ProducerInfo, ProducerStateManager};
use crate::segment::{Segment, SegmentFiles};
use crate::txn::{self, AbortedTxn, ControlType};

/// File in a partition directory holding the log start offset when
/// DeleteRecords moved it inside a segment.
pub(crate) const START_CHECKPOINT: &str = "log-start-offset";

/// What retention, DeleteRecords or a compaction swap took out of the log,
/// to be disposed of without holding whatever lock guards the log (closing
/// and unlinking large files can take milliseconds).
#[derive(Default)]
pub struct Removed {
    /// Segments out of the log whose files are still under their names.
    pub segments: Vec<Segment>,
    /// Segments out of the log whose files are already renamed away.
    pub closed: Vec<Segment>,
    /// Retired files to unlink.
    pub files: Vec<PathBuf>,
}

impl Removed {
    /// Deletes the removed segments' files; returns how many segments went.
    pub fn delete_files(self) -> Result<usize> {
        let n = self.segments.len() + self.closed.len();
        for seg in self.segments {
            seg.delete_files()?;
        }
        drop(self.closed);
        for f in self.files {
            match fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(n)
    }
}

/// Settings of one log, with Kafka's defaults.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would exceed this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when the active segment is older than this.
    pub segment_ms: Option<Duration>,
    /// `index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u64,
    /// `segment.index.bytes`: maximum size of an index file.
    pub index_max_bytes: u64,
    /// `flush.messages`: fsync after this many appended records (None: leave
    /// it to the OS / the broker's periodic flusher).
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync unflushed records at least this often (checked by
    /// the broker's flush scheduler through [`Log::flush_due`]).
    pub flush_ms: Option<Duration>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            index_interval_bytes: 4096,
            index_max_bytes: 10 * 1024 * 1024,
            flush_messages: None,
            flush_ms: None,
        }
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset given to the first record.
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// Log start offset after the append.
    pub log_start_offset: i64,
    /// `flush.messages` is reached: the log did not fsync (it never does
    /// in an append, which runs under the writer lock); the caller must
    /// flush ([`Log::begin_flush`] under the lock, [`FlushPlan::sync`]
    /// without it, [`Log::complete_flush`]) before acknowledging the write.
    pub flush_needed: bool,
}

/// An fsync taken under the writer lock and performed without it: the
/// active segment's files as of [`Log::begin_flush`], and how many records
/// had been appended then (those the sync makes durable).
#[derive(Clone)]
pub struct FlushPlan {
    files: SegmentFiles,
    through: u64,
}

impl FlushPlan {
    /// fsyncs the files (no lock needed; appends go on meanwhile). Returns
    /// how long it took.
    pub fn sync(&self) -> Result<Duration> {
        let start = Instant::now();
        self.files.sync()?;
        Ok(start.elapsed())
    }
}

/// One partition's log.
pub struct Log {
    pub(crate) dir: PathBuf,
    pub(crate) config: LogConfig,
    pub(crate) segments: BTreeMap<i64, Segment>,
    pub(crate) log_start_offset: i64,
    /// Records appended since the log was opened.
    pub(crate) appended_records: u64,
    /// Of those, how many a completed flush made durable.
    pub(crate) flushed_records: u64,
    pub(crate) last_flush: Instant,
    pub(crate) producers: ProducerStateManager,
    /// Aborted transactions, by marker offset (ascending).
    pub(crate) aborted: Vec<AbortedTxn>,
    /// Segments whose `.txnindex` missed an entry (I/O error): rewritten
    /// from memory at the next roll; no snapshot is written until they are.
    pub(crate) dirty_txn_indexes: Vec<i64>,
    /// Leader epochs and where each began (`leader-epoch-checkpoint`).
    pub(crate) epochs: EpochCache,
    /// The epoch checkpoint failed to store: retried at the next change or
    /// roll.
    pub(crate) epochs_dirty: bool,
}

impl Log {
    pub(crate) fn snapshot_path(&self, offset: i64) -> PathBuf {
        self.dir
            .join(format!("{}.snapshot", crate::segment::file_stem(offset)))
    }

    /// Offsets of the snapshot files present, ascending.
    pub(crate) fn snapshot_offsets(&self) -> Result<Vec<i64>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".snapshot")) {
                if let Ok(o) = stem.parse::<i64>() {
                    out.push(o);
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Writes the producer state as of the log end offset (tmp + rename +
    /// fsync) and keeps only the two newest snapshots.
    pub(crate) fn write_snapshot(&self) -> Result<()> {
        let offset = self.log_end_offset();
        let path = self.snapshot_path(offset);
        let tmp = path.with_extension("snapshot.tmp");
        {
            let mut f = fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &self.producers.encode())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        let snapshots = self.snapshot_offsets()?;
        for old in snapshots.iter().rev().skip(2) {
            let _ = fs::remove_file(self.snapshot_path(*old));
        }
        Ok(())
    }

    pub(crate) fn active(&self) -> &Segment {
        // A log always has at least one segment (created in `open`).
        self.segments
            .values()
            .next_back()
            .unwrap_or_else(|| unreachable!("log without segments"))
    }

    pub(crate) fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .unwrap_or_else(|| unreachable!("log without segments"))
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset()
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Total bytes of `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(Segment::size).sum()
    }

    /// Appends validated batches (CRC already checked by the caller),
    /// assigning offsets in place and writing them in one call.
    ///
    /// Idempotent batches are checked against producer state first; a
    /// request whose single batch is a duplicate gets
    /// [`LogError::DuplicateSequence`] with the original offset and nothing
    /// is written. A produce request carries one batch per partition for
    /// idempotent producers (Kafka enforces the same), so a duplicate mixed
    /// with new batches is rejected as a layout error.
    pub fn append(&mut self, batches: &mut [u8], leader_epoch: i32) -> Result<AppendInfo> {
        self.append_inner(batches, leader_epoch, None)
    }

    /// Like [`Log::append`] for a client's or coordinator's transactional
    /// write: a transactional data batch whose producer has no open
    /// transaction here needs `token`, the verification begun with
    /// [`Log::begin_verification`] and still current (no marker since).
    pub fn append_verified(
        &mut self,
        batches: &mut [u8],
        leader_epoch: i32,
        token: Option<u64>,
    ) -> Result<AppendInfo> {
        self.append_inner(batches, leader_epoch, Some(token))
    }

    /// Starts a KIP-890 verification (see
    /// [`ProducerStateManager::begin_verification`]).
    pub fn begin_verification(&mut self, producer_id: i64) -> Option<u64> {
        self.producers.begin_verification(producer_id)
    }

    fn append_inner(
        &mut self,
        batches: &mut [u8],
        leader_epoch: i32,
        guard: Option<Option<u64>>,
    ) -> Result<AppendInfo> {
        let mut headers = Vec::new();
        let mut end = 0usize;
        for item in Batches::new(batches) {
            let (h, range) = item?;
            end = range.end;
            headers.push((h, range));
        }
        if headers.is_empty() || end != batches.len() {
            return Err(LogError::InvalidBatchLayout(
                "records are not whole batches",
            ));
        }
        // Control batches (rare: transaction markers) are read for their type.
        let mut kinds: Vec<(usize, Option<(ControlType, i32)>)> = Vec::new();
        for (i, (h, range)) in headers.iter().enumerate() {
            if h.is_control() {
                kinds.push((i, txn::control_type(h, &batches[range.clone()])?));
            }
            if let Err(e) = self.producers.check(h) {
                if headers.len() > 1 && matches!(e, LogError::DuplicateSequence { .. }) {
                    return Err(LogError::InvalidBatchLayout(
                        "duplicate idempotent batch among several batches",
                    ));
                }
                return Err(e);
            }
            if let Some(token) = guard {
                self.producers.check_verified(h, token)?;
            }
        }
        let end = self.log_end_offset();
        self.maybe_roll(batches.len() as u64, end, end)?;
        let base_offset = self.log_end_offset();
        let mut next = base_offset;
        let mut records = 0u64;
        for (h, range) in &mut headers {
            assign_offset(&mut batches[range.clone()], next, leader_epoch);
            h.base_offset = next;
            h.partition_leader_epoch = leader_epoch;
            next = h.last_offset() + 1;
            records += h.records_count.max(0) as u64;
        }
        self.active_mut().append(batches)?;
        let headers: Vec<BatchHeader> = headers.into_iter().map(|(h, _)| h).collect();
        let flush_needed = self.note_written(&headers, &kinds, records);
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_start_offset: self.log_start_offset,
            flush_needed,
        })
    }

    /// State updates after batches are written (by the leader's append or
    /// a follower's): producer state, transaction markers and the aborted
    /// index, the leader epoch cache and the `flush.messages` count.
    /// `kinds` are the control batches' types by index in `headers`.
    /// Returns whether `flush.messages` is reached.
    pub(crate) fn note_written(
        &mut self,
        headers: &[BatchHeader],
        kinds: &[(usize, Option<(ControlType, i32)>)],
        records: u64,
    ) -> bool {
        let mut new_epoch = false;
        for (i, h) in headers.iter().enumerate() {
            if h.partition_leader_epoch >= 0
                && self
                    .epochs
                    .latest_epoch()
                    .is_none_or(|latest| h.partition_leader_epoch > latest)
                && self.epochs.assign(h.partition_leader_epoch, h.base_offset)
            {
                self.epochs_dirty = true;
                new_epoch = true;
            }
            if !h.is_control() {
                self.producers.update(h);
                continue;
            }
            let kind = kinds.iter().find(|(k, _)| *k == i).and_then(|(_, k)| *k);
            if let Some(entry) = self.producers.apply_marker(h, kind) {
                self.aborted.push(entry);
                let base = self.active().base_offset();
                if let Err(e) = txn::append_index(&self.dir, base, &entry) {
                    // The marker is written: keep going and rewrite the
                    // file from memory before the next snapshot covers it.
                    warn!(dir = %self.dir.display(), error = %e, "cannot append to transaction index; rewriting it at the next roll");
                    if !self.dirty_txn_indexes.contains(&base) {
                        self.dirty_txn_indexes.push(base);
                    }
                }
            }
        }
        if new_epoch {
            // A failed store is retried at the next new epoch or roll, not
            // on every append.
            self.store_epochs_if_dirty();
        }
        self.appended_records += records;
        self.config
            .flush_messages
            .is_some_and(|limit| self.unflushed_messages() >= limit)
    }

    /// Stores the epoch checkpoint when it changed (rare: a new leader
    /// epoch). A failure is logged and retried at the next change or roll;
    /// a missing entry is rebuilt from batch headers only when the file is
    /// missing, so the cache in memory stays authoritative meanwhile.
    pub(crate) fn store_epochs_if_dirty(&mut self) {
        if !self.epochs_dirty {
            return;
        }
        match self.epochs.store(&self.dir) {
            Ok(()) => self.epochs_dirty = false,
            Err(e) => {
                warn!(dir = %self.dir.display(), error = %e, "cannot store the leader epoch checkpoint; retrying later")
            }
        }
    }

    /// Rolls when `incoming` bytes whose offsets run from `first` to `last`
    /// (the leader's append: both the log end offset) would not fit the
    /// active segment; the new segment starts at `first`.
    pub(crate) fn maybe_roll(&mut self, incoming: u64, first: i64, last: i64) -> Result<()> {
        let cfg = &self.config;
        let active = self.active();
        // Index positions and relative offsets are u32: never let a segment
        // pass 4 GiB or 2^31 offsets past its base (Kafka rolls likewise).
        let offsets_too_far =
            active.next_offset().max(last) - active.base_offset() > i64::from(i32::MAX);
        if active.size() == 0 {
            if offsets_too_far && first > active.base_offset() {
                // An empty segment far below a follower's first batch (a
                // gap left by compaction on the leader): start it at the
                // batch instead.
                let base = active.base_offset();
                if let Some(seg) = self.segments.remove(&base) {
                    seg.delete_files()?;
                }
                let seg = Segment::open(
                    &self.dir,
                    first,
                    self.config.index_max_bytes,
                    self.config.index_interval_bytes,
                )?;
                self.segments.insert(first, seg);
            }
            return Ok(());
        }
        let too_big = active.size() + incoming > cfg.segment_bytes;
        let too_old = cfg
            .segment_ms
            .is_some_and(|ms| active.created().elapsed() >= ms);
        let too_far = active.size() + incoming > u64::from(u32::MAX) || offsets_too_far;
        if too_big || too_old || too_far || active.indexes_full() {
            self.roll_at(first)?;
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the log end offset.
    pub fn roll(&mut self) -> Result<()> {
        self.roll_at(self.log_end_offset())
    }

    /// Seals the active segment and starts a new one at `next` (the log
    /// end offset, or a follower's next batch beyond it).
    fn roll_at(&mut self, next: i64) -> Result<()> {
        if self.segments.contains_key(&next) {
            return Ok(());
        }
        self.active_mut().flush()?;
        let base = self.active().base_offset();
        let mut index_ok = txn::sync_index(&self.dir, base);
        let dirty = std::mem::take(&mut self.dirty_txn_indexes);
        for b in dirty {
            let end = self
                .segments
                .range(b + 1..)
                .next()
                .map_or(i64::MAX, |(next, _)| *next);
            let entries: Vec<AbortedTxn> = self
                .aborted
                .iter()
                .filter(|e| e.last_offset >= b && e.last_offset < end)
                .copied()
                .collect();
            if let Err(e) = txn::write_index(&self.dir, b, &entries) {
                self.dirty_txn_indexes.push(b);
                index_ok = Err(e);
            }
        }
        self.active_mut().seal()?;
        if let Err(e) = index_ok {
            // Without the snapshot the next open replays this segment and
            // rebuilds its transaction index from the markers.
            warn!(dir = %self.dir.display(), error = %e, "transaction index not durable; skipping the producer snapshot");
        } else if let Err(e) = self.write_snapshot() {
            // Not fatal: the next open replays more of the log instead.
            warn!(dir = %self.dir.display(), error = %e, "cannot write producer snapshot");
        }
        let seg = Segment::open(
            &self.dir,
            next,
            self.config.index_max_bytes,
            self.config.index_interval_bytes,
        )?;
        debug!(dir = %self.dir.display(), base_offset = next, "rolled segment");
        self.segments.insert(next, seg);
        self.store_epochs_if_dirty();
        Ok(())
    }

    /// fsyncs the active segment and its indexes, holding `&mut self`
    /// throughout. A caller behind a lock uses [`Log::begin_flush`],
    /// [`FlushPlan::sync`] and [`Log::complete_flush`] instead.
    pub fn flush(&mut self) -> Result<()> {
        let plan = self.begin_flush();
        plan.sync()?;
        self.complete_flush(&plan);
        Ok(())
    }

    /// Takes what an fsync of the records appended so far needs (the active
    /// segment's file handles), under the writer lock. Earlier segments were
    /// fsynced when they rolled.
    pub fn begin_flush(&self) -> FlushPlan {
        FlushPlan {
            files: self.active().files(),
            through: self.appended_records,
        }
    }

    /// Records a completed [`FlushPlan::sync`]: the records appended before
    /// [`Log::begin_flush`] are durable. Records appended while the sync ran
    /// stay unflushed; flushes completing out of order never move the count
    /// back.
    pub fn complete_flush(&mut self, plan: &FlushPlan) {
        if plan.through > self.flushed_records {
            self.flushed_records = plan.through;
        }
        self.last_flush = Instant::now();
    }

    /// True when records are unflushed and `flush.ms` has passed since the
    /// last flush.
    pub fn flush_due(&self) -> bool {
        self.unflushed_messages() > 0
            && self
                .config
                .flush_ms
                .is_some_and(|ms| self.last_flush.elapsed() >= ms)
    }

    /// Retention: takes out of the log every sealed segment whose newest
    /// record is older than `retention_ms` (by its max timestamp), then the
    /// oldest sealed segments while the log exceeds `retention_bytes`. The
    /// active segment is never removed. Returns the removed segments for the
    /// caller to delete outside its lock.
    pub fn take_expired(
        &mut self,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
        now_ms: i64,
    ) -> Removed {
        let mut removed = Vec::new();
        let mut size = self.size_bytes();
        loop {
            if self.segments.len() <= 1 {
                break;
            }
            let Some((&base, oldest)) = self.segments.iter().next() else {
                break;
            };
            let too_old = retention_ms.is_some_and(|ms| {
                oldest.max_timestamp() >= 0 && oldest.max_timestamp() < now_ms - ms
            });
            let too_big =
                retention_bytes.is_some_and(|limit| size.saturating_sub(oldest.size()) >= limit);
            if !(too_old || too_big) {
                break;
            }
            if let Some(seg) = self.segments.remove(&base) {
                size = size.saturating_sub(seg.size());
                removed.push(seg);
            }
        }
        self.advance_start_to_first_segment();
        Removed {
            segments: removed,
            ..Removed::default()
        }
    }

    /// DeleteRecords: moves the log start offset to `offset` (at most the
    /// log end offset), persists it, and takes out segments entirely below
    /// it. Returns the new log start offset and the removed segments.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<(i64, Removed)> {
        let end = self.log_end_offset();
        if offset < 0 || offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                start: self.log_start_offset,
                end,
            });
        }
        let mut removed = Vec::new();
        if offset > self.log_start_offset {
            let tmp = self.dir.join(format!("{START_CHECKPOINT}.tmp"));
            fs::write(&tmp, offset.to_string())?;
            fs::File::open(&tmp)?.sync_all()?;
            fs::rename(&tmp, self.dir.join(START_CHECKPOINT))?;
            self.log_start_offset = offset;
            while self.segments.len() > 1 {
                let Some((&base, seg)) = self.segments.iter().next() else {
                    break;
                };
                if seg.next_offset() > offset {
                    break;
                }
                if let Some(seg) = self.segments.remove(&base) {
                    removed.push(seg);
                }
            }
            if self.segments.len() == 1
                && self.log_end_offset() == offset
                && self.active().size() > 0
            {
                // Everything is deleted: roll so the old data can go too.
                self.roll()?;
                let first = self.segments.keys().next().copied();
                if let Some(b) = first.filter(|b| *b < offset) {
                    if let Some(seg) = self.segments.remove(&b) {
                        removed.push(seg);
                    }
                }
            }
            self.prune_aborted();
            self.truncate_epochs_from_start();
        }
        Ok((
            self.log_start_offset,
            Removed {
                segments: removed,
                ..Removed::default()
            },
        ))
    }

    fn advance_start_to_first_segment(&mut self) {
        if let Some(first) = self.segments.keys().next() {
            self.log_start_offset = self.log_start_offset.max(*first);
        }
        self.prune_aborted();
        self.truncate_epochs_from_start();
    }

    /// Drops leader epochs wholly below the log start offset (Kafka's
    /// `truncateFromStart`) and stores the checkpoint when it changed.
    pub(crate) fn truncate_epochs_from_start(&mut self) {
        if self.epochs.truncate_from_start(self.log_start_offset) {
            self.epochs_dirty = true;
        }
        self.store_epochs_if_dirty();
    }

    /// Drops aborted-transaction entries whose marker left the log.
    fn prune_aborted(&mut self) {
        if let Some(first) = self.segments.keys().next().copied() {
            self.aborted.retain(|e| e.last_offset >= first);
        }
    }

    /// The last stable offset: `read_committed` consumers read below it. It
    /// is the first offset of the oldest open transaction, else the log end
    /// (with one replica the high watermark).
    pub fn last_stable_offset(&self) -> i64 {
        self.producers
            .first_unstable_offset()
            .unwrap_or_else(|| self.log_end_offset())
            .max(self.log_start_offset)
    }

    /// Aborted transactions a `read_committed` fetch of `[from, upper)`
    /// must report: those whose marker is at or after `from` and that began
    /// before `upper`.
    pub fn aborted_transactions(&self, from: i64, upper: i64) -> Vec<AbortedTxn> {
        let start = self.aborted.partition_point(|e| e.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|e| e.first_offset < upper)
            .copied()
            .collect()
    }

    /// Every aborted transaction still in the log (for the cleaner).
    pub(crate) fn aborted_all(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// Producers of this partition (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerInfo> {
        self.producers.describe()
    }

    /// The offset a batch was appended at the first time, when it repeats
    /// one of its producer's last batches.
    pub fn duplicate_of(&self, h: &BatchHeader) -> Option<i64> {
        match self.producers.check(h) {
            Err(LogError::DuplicateSequence { base_offset, .. }) => Some(base_offset),
            _ => None,
        }
    }

    /// Forgets idle producers (see [`ProducerStateManager::expire`]).
    pub fn expire_producers(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        self.producers.expire(now_ms, expiration_ms)
    }

    /// Open transactions as (first offset, producer id), oldest first.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.producers.open_transactions()
    }

    /// The segments, oldest first (the last is the active one).
    pub(crate) fn segments_iter(&self) -> impl Iterator<Item = &Segment> {
        self.segments.values()
    }

    /// The segment with base offset `base`.
    pub(crate) fn segment(&self, base: i64) -> Option<&Segment> {
        self.segments.get(&base)
    }

    /// Base offset of the active segment (never compacted or removed).
    pub fn active_segment_base(&self) -> i64 {
        self.active().base_offset()
    }

    /// Takes a segment out of the log.
    pub(crate) fn take_segment(&mut self, base: i64) -> Option<Segment> {
        self.segments.remove(&base)
    }

    /// Puts a segment into the log.
    pub(crate) fn put_segment(&mut self, seg: Segment) {
        self.segments.insert(seg.base_offset(), seg);
    }

    /// The current settings.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Replaces the settings (a topic config change); they apply to the
    /// next roll and append.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// Records appended since the last flush.
    pub fn unflushed_messages(&self) -> u64 {
        self.appended_records - self.flushed_records
    }

    /// Deletes every segment and the directory.
    pub fn delete(self) -> Result<()> {
        let dir = self.dir.clone();
        for (_, seg) in self.segments {
            seg.delete_files()?;
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
