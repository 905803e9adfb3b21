//! A partition log: an ordered set of segments with one active segment.
//!
//! The log assigns offsets, rolls segments by size, age and index capacity,
//! checks idempotent-producer sequences, recovers the active segment on open
//! and serves reads as [`FileSlice`]s that the caller reads without holding
//! whatever lock guards the `Log`. It is single-writer: callers serialise
//! appends (`&mut self`).
//!
//! Opening a log costs the tail only: the active segment is recovered from
//! its last index entry, and producer state comes from the newest snapshot
//! (written at each roll) plus the batches after it.
//!
//! Retention (`take_expired`) and DeleteRecords (`delete_records_before`)
//! live here; compaction is in [`crate::cleaner`].
//!
//! Transactions: the log tracks open transactions through producer state,
//! which gives the last stable offset ([`Log::last_stable_offset`]), and
//! keeps the aborted-transaction index ([`crate::txn`]) that
//! `read_committed` fetches query with [`Log::aborted_transactions`].
//! Control batches are appended like any batch; the log reads their type.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::{debug, info, warn};

use crate::batch::{assign_offset, BatchHeader, Batches};
use crate::error::{LogError, Result};
use crate::producer_state::{ProducerInfo, ProducerStateManager};
use crate::segment::{FileSlice, Segment};
use crate::txn::{self, AbortedTxn, ControlType};

/// File in a partition directory holding the log start offset when
/// DeleteRecords moved it inside a segment.
const START_CHECKPOINT: &str = "log-start-offset";

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
    /// How long the fsync took, when `flush.messages` made this append flush.
    pub flushed: Option<Duration>,
}

/// One partition's log.
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    unflushed_messages: u64,
    last_flush: std::time::Instant,
    producers: ProducerStateManager,
    /// Aborted transactions, by marker offset (ascending).
    aborted: Vec<AbortedTxn>,
    /// Segments whose `.txnindex` missed an entry (I/O error): rewritten
    /// from memory at the next roll; no snapshot is written until they are.
    dirty_txn_indexes: Vec<i64>,
}

impl Log {
    /// Opens the log in `dir` (creating it when missing), recovering the
    /// active segment and rebuilding producer state from batch headers.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self> {
        fs::create_dir_all(dir)?;
        crate::cleaner::recover(dir)?;
        let mut bases = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(".log") {
                match stem.parse::<i64>() {
                    Ok(base) if base >= 0 && stem.len() == 20 => bases.push(base),
                    _ => debug!(file = name, "ignoring unexpected file in log dir"),
                }
            }
        }
        bases.sort_unstable();
        let mut segments = BTreeMap::new();
        for (i, base) in bases.iter().enumerate() {
            let mut seg = Segment::open(
                dir,
                *base,
                config.index_max_bytes,
                config.index_interval_bytes,
            )?;
            match bases.get(i + 1) {
                Some(next) => seg.set_next_offset(*next),
                None => {
                    let truncated = seg.recover()?;
                    if truncated > 0 {
                        info!(dir = %dir.display(), truncated, "recovered log tail");
                    }
                }
            }
            segments.insert(*base, seg);
        }
        if segments.is_empty() {
            let seg = Segment::open(dir, 0, config.index_max_bytes, config.index_interval_bytes)?;
            segments.insert(0, seg);
        }
        let first = segments.keys().next().copied().unwrap_or(0);
        // DeleteRecords may have moved the start past the first segment's base.
        let log_start_offset = match fs::read_to_string(dir.join(START_CHECKPOINT)) {
            Ok(text) => text.trim().parse::<i64>().unwrap_or(first).max(first),
            Err(_) => first,
        };
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments,
            log_start_offset,
            unflushed_messages: 0,
            last_flush: std::time::Instant::now(),
            producers: ProducerStateManager::default(),
            aborted: Vec::new(),
            dirty_txn_indexes: Vec::new(),
        };
        log.rebuild_producer_state()?;
        Ok(log)
    }

    /// Loads the newest usable producer-state snapshot and replays only
    /// the batches after it, so that opening a log costs the tail, not the
    /// whole log. Without a snapshot every segment is replayed.
    fn rebuild_producer_state(&mut self) -> Result<()> {
        let end = self.log_end_offset();
        let mut snapshots = self.snapshot_offsets()?;
        snapshots.retain(|o| *o <= end);
        let mut producers = ProducerStateManager::default();
        let mut from = i64::MIN;
        while let Some(offset) = snapshots.pop() {
            match fs::read(self.snapshot_path(offset))
                .map_err(LogError::from)
                .and_then(|b| ProducerStateManager::decode(&b))
            {
                Ok(p) => {
                    producers = p;
                    from = offset;
                    break;
                }
                Err(e) => {
                    warn!(dir = %self.dir.display(), offset, error = %e, "ignoring unusable producer snapshot")
                }
            }
        }
        // Aborted-transaction entries: from the files for what the snapshot
        // covers, rebuilt from the markers for the replayed tail.
        let mut aborted = Vec::new();
        let mut rewrite = Vec::new();
        for seg in self.segments.values() {
            let base = seg.base_offset();
            let on_disk = txn::read_index(&self.dir, base)?;
            // Entries the snapshot covers come from the file; the rest are
            // rebuilt from the markers replayed below.
            let mut entries: Vec<AbortedTxn> = on_disk
                .iter()
                .filter(|e| e.last_offset < from)
                .copied()
                .collect();
            if seg.next_offset() > from {
                let scanned = seg.for_each_header_at(|pos, h| {
                    if h.base_offset < from {
                        return;
                    }
                    if !h.is_control() {
                        producers.update(h);
                        return;
                    }
                    let kind = seg
                        .slice(pos)
                        .read_batches(h.total_len(), true)
                        .and_then(|b| txn::control_type(h, &b));
                    match kind {
                        Ok(kind) => entries.extend(producers.apply_marker(h, kind)),
                        Err(e) => {
                            warn!(dir = %self.dir.display(), offset = h.base_offset, error = %e, "unreadable control batch")
                        }
                    }
                });
                match scanned {
                    Ok(()) => {}
                    // A damaged batch in a sealed segment must not stop the
                    // log from opening: reads serve what is before it.
                    Err(e @ LogError::CorruptBatch { .. }) => {
                        warn!(dir = %self.dir.display(), base_offset = base, error = %e, "producer state rebuilt from the batches before a corrupt one")
                    }
                    Err(e) => return Err(e),
                }
                if entries != on_disk {
                    rewrite.push((base, entries.clone()));
                }
            }
            aborted.extend(entries);
        }
        for (base, entries) in rewrite {
            txn::write_index(&self.dir, base, &entries)?;
        }
        self.producers = producers;
        self.aborted = aborted;
        Ok(())
    }

    fn snapshot_path(&self, offset: i64) -> PathBuf {
        self.dir
            .join(format!("{}.snapshot", crate::segment::file_stem(offset)))
    }

    /// Offsets of the snapshot files present, ascending.
    fn snapshot_offsets(&self) -> Result<Vec<i64>> {
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
    fn write_snapshot(&self) -> Result<()> {
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

    fn active(&self) -> &Segment {
        // A log always has at least one segment (created in `open`).
        self.segments
            .values()
            .next_back()
            .unwrap_or_else(|| unreachable!("log without segments"))
    }

    fn active_mut(&mut self) -> &mut Segment {
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
        self.maybe_roll(batches.len() as u64)?;
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
        for (i, (h, _)) in headers.iter().enumerate() {
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
        self.unflushed_messages += records;
        let mut flushed = None;
        if let Some(limit) = self.config.flush_messages {
            if self.unflushed_messages >= limit {
                let start = std::time::Instant::now();
                self.flush()?;
                flushed = Some(start.elapsed());
            }
        }
        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_start_offset: self.log_start_offset,
            flushed,
        })
    }

    fn maybe_roll(&mut self, incoming: u64) -> Result<()> {
        let cfg = &self.config;
        let active = self.active();
        if active.size() == 0 {
            return Ok(());
        }
        let too_big = active.size() + incoming > cfg.segment_bytes;
        let too_old = cfg
            .segment_ms
            .is_some_and(|ms| active.created().elapsed() >= ms);
        // Index positions and relative offsets are u32: never let a segment
        // pass 4 GiB or 2^31 offsets past its base (Kafka rolls likewise).
        let too_far = active.size() + incoming > u64::from(u32::MAX)
            || active.next_offset() - active.base_offset() > i64::from(i32::MAX);
        if too_big || too_old || too_far || active.indexes_full() {
            self.roll()?;
        }
        Ok(())
    }

    /// Seals the active segment and starts a new one at the log end offset.
    pub fn roll(&mut self) -> Result<()> {
        let next = self.log_end_offset();
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
        Ok(())
    }

    /// Where a read at `offset` starts: `Ok(None)` at the log end,
    /// [`LogError::OffsetOutOfRange`] outside the log. The returned slice
    /// starts at the batch containing `offset` (a mid-batch offset returns
    /// the whole batch; the client skips the records before it).
    pub fn read(&self, offset: i64) -> Result<Option<FileSlice>> {
        let end = self.log_end_offset();
        if offset < self.log_start_offset || offset > end {
            return Err(LogError::OffsetOutOfRange {
                offset,
                start: self.log_start_offset,
                end,
            });
        }
        if offset == end {
            return Ok(None);
        }
        let first = self
            .segments
            .range(..=offset)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or(self.log_start_offset);
        for seg in self.segments.range(first..).map(|(_, s)| s) {
            if seg.next_offset() <= offset {
                continue;
            }
            if let Some((pos, _)) = seg.locate(offset)? {
                return Ok(Some(seg.slice(pos)));
            }
        }
        Ok(None)
    }

    /// The first batch at or after the log start offset with a max
    /// timestamp >= `timestamp`, with its bytes, or None when every batch is
    /// older. (Records of that batch below the log start offset are not in
    /// the log; the caller skips them.)
    pub fn find_batch_by_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        let start = self.log_start_offset;
        for seg in self.segments.values() {
            if seg.max_timestamp() < timestamp || seg.next_offset() <= start {
                continue;
            }
            let found = if seg.base_offset() < start {
                // DeleteRecords moved the start into this segment.
                let from = seg.locate(start)?.map_or(seg.size(), |(pos, _)| pos);
                seg.scan_from(from, |h| {
                    h.max_timestamp >= timestamp && h.last_offset() >= start
                })?
            } else {
                seg.find_by_timestamp(timestamp)?
            };
            if let Some((pos, h)) = found {
                let bytes = seg.slice(pos).read_batches(h.total_len(), true)?;
                return Ok(Some((h, bytes)));
            }
        }
        Ok(None)
    }

    /// The batch holding the largest timestamp in the log (the first one if
    /// several share it), with its bytes.
    pub fn max_timestamp_batch(&self) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        let best = self
            .segments
            .values()
            .filter(|s| s.max_timestamp() >= 0)
            .fold(None::<&Segment>, |best, s| match best {
                Some(b) if b.max_timestamp() >= s.max_timestamp() => Some(b),
                _ => Some(s),
            });
        let Some(seg) = best else { return Ok(None) };
        let target = seg.max_timestamp();
        match seg.scan_from(0, |h| h.max_timestamp >= target)? {
            Some((pos, h)) => {
                let bytes = seg.slice(pos).read_batches(h.total_len(), true)?;
                Ok(Some((h, bytes)))
            }
            None => Ok(None),
        }
    }

    /// fsyncs the active segment and its indexes.
    pub fn flush(&mut self) -> Result<()> {
        self.active().flush()?;
        self.unflushed_messages = 0;
        self.last_flush = std::time::Instant::now();
        Ok(())
    }

    /// True when records are unflushed and `flush.ms` has passed since the
    /// last flush.
    pub fn flush_due(&self) -> bool {
        self.unflushed_messages > 0
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
        self.unflushed_messages
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
