//! Log compaction (`cleanup.policy=compact`): keep the newest record of every
//! key, drop tombstones once `delete.retention.ms` has passed.
//!
//! The cleaner follows Kafka's design. The log is split at the *cleaner
//! checkpoint* into a clean section (already compacted) and a dirty section,
//! which ends at the *first uncleanable offset*: the active segment, or an
//! earlier segment holding records newer than `min.compaction.lag.ms`. A
//! pass runs when the dirty share of the bytes reaches
//! `min.cleanable.dirty.ratio`, when the oldest dirty segment is older than
//! `max.compaction.lag.ms`, or when a tombstone kept by an earlier pass has
//! outlived `delete.retention.ms`. A pass
//!
//! 1. maps every key of the dirty section to its newest offset (a 128-bit
//!    key digest, like Kafka's MD5 offset map; bounded by a maximum entry
//!    count: a full map ends the pass early at a segment boundary);
//! 2. rewrites the sealed segments from the log start up to the dirty end,
//!    in groups that fit `segment.bytes`, keeping a record when no newer
//!    record of its key exists and it is not an expired tombstone. Batches
//!    with every record kept are copied byte for byte; partly kept batches are
//!    rebuilt with the same codec, base/last offsets, producer fields and
//!    base sequence (offsets never change: gaps are normal); empty batches are
//!    dropped; control batches are always kept;
//! 3. swaps each cleaned group in for the segments it replaces (below).
//!
//! Only the reading and writing of whole segments runs without the log lock;
//! the lock is held to take a plan (a list of sealed segments), to swap a
//! group in (renames) and to store the checkpoint, so appends and fetches
//! are never blocked for the length of a pass. Readers holding a slice of a
//! replaced segment keep reading the old file (it is unlinked, not
//! truncated).
//!
//! Crash safety of the swap: a group is written into `cleaning/`, which is
//! renamed to `cleaning-swap/` (with a `replaces` list) as the commit point.
//! Completing the swap renames the replaced files to `*.deleted` and moves
//! the new files in; [`recover`] finishes an interrupted swap on open and
//! discards an uncommitted `cleaning/`.
//!
//! Departures from Kafka, on purpose:
//! - A tombstone's age is its record timestamp (the batch max timestamp under
//!   LogAppendTime), not the time a cleaner pass first saw it (KIP-534's
//!   delete horizon). A producer-chosen old timestamp therefore shortens a
//!   tombstone's life.
//! - A batch whose records are all removed is dropped even when it was an
//!   idempotent producer's last batch (Kafka keeps an empty batch). Producer
//!   state survives through the snapshots written at each roll, which always
//!   cover the uncleaned active segment.
//! - Records without a key are removed, as Kafka's cleaner does; produce
//!   refuses them on compacted topics, so they exist only in topics switched
//!   from `delete` to `compact`.
//!
//! Transactions: the dirty section never reaches past the segment holding
//! the first open transaction's first offset (undecided records are not
//! compacted, as in Kafka). Records of aborted transactions are left out of
//! the key map (an aborted write never supersedes a committed one) and
//! removed; control batches are kept, and the replaced segments'
//! `.txnindex` entries are carried into the cleaned segment.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::batch::BatchHeader;
use crate::error::{LogError, Result};
use crate::log::{Log, Removed};
use crate::records::{parse_records, rebuild_batch, records_section, RawRecord};
use crate::segment::{file_stem, FileSlice, Segment};

/// Directory a group is written into before it is committed.
const CLEANING_DIR: &str = "cleaning";
/// Directory name that marks a committed, possibly unfinished, swap.
const SWAP_DIR: &str = "cleaning-swap";
/// File in the swap directory listing the replaced segments' base offsets.
const REPLACES_FILE: &str = "replaces";
/// Cleaner checkpoint of a partition: `<clean offset> <oldest tombstone ms>`.
pub const CHECKPOINT_FILE: &str = "cleaner-checkpoint";
/// Suffix of files waiting to be unlinked.
const DELETED_SUFFIX: &str = ".deleted";
/// Read size when scanning a segment.
const CHUNK: usize = 1 << 20;

/// Compaction settings of one log (Kafka's names and meanings).
#[derive(Debug, Clone)]
pub struct CompactionConfig {
    /// `delete.retention.ms`: how long a tombstone outlives the data it
    /// deletes.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: records newer than this are not compacted.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: dirty data older than this is compacted
    /// whatever the dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// `min.cleanable.dirty.ratio`: dirty share of the log that triggers a pass.
    pub min_cleanable_dirty_ratio: f64,
    /// Most keys mapped in one pass (`log.cleaner.dedupe.buffer.size` / 24).
    pub max_map_entries: usize,
    /// Largest decompressed records section accepted.
    pub max_decompressed_bytes: usize,
    /// `log.cleaner.io.max.bytes.per.second`: read+write budget, None = unlimited.
    pub io_max_bytes_per_second: Option<f64>,
}

impl Default for CompactionConfig {
    fn default() -> Self {
        CompactionConfig {
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
            max_map_entries: (128 << 20) / 24,
            max_decompressed_bytes: 64 << 20,
            io_max_bytes_per_second: None,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanStats {
    /// Segments read and replaced.
    pub segments_in: usize,
    /// Segments written.
    pub segments_out: usize,
    /// Bytes of the replaced segments.
    pub bytes_in: u64,
    /// Bytes of the segments written.
    pub bytes_out: u64,
    /// Records removed (superseded, keyless or expired tombstones).
    pub records_removed: u64,
    /// Expired tombstones among them.
    pub tombstones_removed: u64,
    /// The new cleaner checkpoint (first offset not compacted).
    pub clean_offset: i64,
}

/// A sealed segment as the cleaner sees it: readable without the log lock.
struct SegmentView {
    base: i64,
    next: i64,
    size: u64,
    slice: FileSlice,
}

/// A cleaning pass chosen under the log lock, run without it.
pub struct CleanPlan {
    dir: PathBuf,
    segments: Vec<SegmentView>,
    dirty_start: i64,
    end: i64,
    segment_bytes: u64,
    index_max_bytes: u64,
    index_interval_bytes: u64,
    config: CompactionConfig,
    now_ms: i64,
    /// Aborted transactions that began before `end`.
    aborted: Vec<crate::txn::AbortedTxn>,
}

/// A cleaned group waiting to be swapped in.
pub struct CleanedGroup {
    base: i64,
    next: i64,
    replaces: Vec<(i64, u64)>,
}

/// 128-bit digest of a key (two independently seeded SipHash runs); a
/// collision would merge two keys, with odds like Kafka's MD5 map.
fn key_digest(key: &[u8]) -> u128 {
    let mut a = DefaultHasher::new();
    a.write(key);
    let mut b = DefaultHasher::new();
    b.write_u8(0xa5);
    b.write(key);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// Paces reads and writes to a byte rate.
struct Throttle {
    limit: Option<f64>,
    start: Instant,
    bytes: f64,
}

impl Throttle {
    fn new(limit: Option<f64>) -> Self {
        Throttle {
            limit: limit.filter(|l| *l > 0.0 && l.is_finite()),
            start: Instant::now(),
            bytes: 0.0,
        }
    }

    /// Accounts `n` bytes and, past the budget, sleeps the cleaner thread
    /// (never a broker task) until the rate is back under it.
    fn charge(&mut self, n: usize) {
        let Some(limit) = self.limit else { return };
        self.bytes += n as f64;
        let due = Duration::from_secs_f64(self.bytes / limit);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

/// Calls `f` with every batch of `slice`, in order.
fn for_each_batch(
    slice: &FileSlice,
    throttle: &mut Throttle,
    mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<()>,
) -> Result<()> {
    let len = slice.len();
    let mut pos = 0u64;
    let mut buf = Vec::new();
    while pos < len {
        let want = ((len - pos) as usize).min(CHUNK);
        buf.resize(want, 0);
        slice.read_exact_at(&mut buf, pos)?;
        throttle.charge(want);
        let mut consumed = 0usize;
        for item in crate::batch::Batches::new(&buf) {
            let (h, range) = item?;
            let batch = &buf[range.clone()];
            BatchHeader::validate(batch)?;
            f(&h, batch)?;
            consumed = range.end;
        }
        if consumed == 0 {
            // A batch larger than the chunk: read it whole.
            let h = BatchHeader::parse(&buf)?;
            let total = h.total_len();
            if pos + total as u64 > len {
                return Err(LogError::Truncated {
                    needed: total,
                    available: (len - pos) as usize,
                });
            }
            let mut big = vec![0u8; total];
            slice.read_exact_at(&mut big, pos)?;
            throttle.charge(total);
            BatchHeader::validate(&big)?;
            f(&h, &big)?;
            consumed = total;
        }
        pos += consumed as u64;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn segment_file_names(base: i64) -> [String; 4] {
    let stem = file_stem(base);
    [
        format!("{stem}.log"),
        format!("{stem}.index"),
        format!("{stem}.timeindex"),
        format!("{stem}.txnindex"),
    ]
}

/// True when `h` holds records of a transaction that was aborted.
fn is_aborted(h: &BatchHeader, aborted: &[crate::txn::AbortedTxn]) -> bool {
    h.is_transactional()
        && !h.is_control()
        && aborted.iter().any(|e| {
            e.producer_id == h.producer_id
                && e.first_offset <= h.base_offset
                && h.base_offset < e.last_offset
        })
}

/// Finishes a committed swap in `dir`: retires the replaced segments' files
/// (renamed to `*.deleted`), moves the new files in, removes the swap
/// directory. Idempotent, so a crash at any point is finished by running it
/// again. Returns the retired files for the caller to unlink.
fn complete_swap(dir: &Path) -> Result<Vec<PathBuf>> {
    let swap = dir.join(SWAP_DIR);
    let text = fs::read_to_string(swap.join(REPLACES_FILE))?;
    let bases: Vec<i64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| LogError::Corrupt {
            path: swap.join(REPLACES_FILE).display().to_string(),
            reason: String::from("unreadable list of replaced segments"),
        })?;
    let mut retired = Vec::new();
    let mut retire = |path: PathBuf| -> Result<()> {
        if path.exists() {
            let mut name = path.clone().into_os_string();
            name.push(DELETED_SUFFIX);
            let to = PathBuf::from(name);
            fs::rename(&path, &to)?;
            retired.push(to);
        }
        Ok(())
    };
    // Replaced segments other than the group's first never get new files
    // under their names: retiring them is always safe.
    for base in bases.iter().skip(1) {
        for name in segment_file_names(*base) {
            retire(dir.join(name))?;
        }
    }
    // A file still in the swap directory is new; a file of the same name in
    // the log directory is therefore old.
    for entry in fs::read_dir(&swap)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == REPLACES_FILE {
            continue;
        }
        retire(dir.join(&name))?;
        fs::rename(entry.path(), dir.join(&name))?;
    }
    sync_dir(dir)?;
    fs::remove_dir_all(&swap)?;
    sync_dir(dir)?;
    Ok(retired)
}

/// Brings a partition directory to a consistent state after a crash: an
/// uncommitted `cleaning/` is discarded, a committed swap is finished and
/// leftover `*.deleted` files are removed. Called by [`Log::open`].
pub fn recover(dir: &Path) -> Result<()> {
    let cleaning = dir.join(CLEANING_DIR);
    if cleaning.exists() {
        fs::remove_dir_all(&cleaning)?;
    }
    if dir.join(SWAP_DIR).exists() {
        info!(dir = %dir.display(), "finishing an interrupted compaction swap");
        complete_swap(dir)?;
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(DELETED_SUFFIX))
        {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Reads a partition directory's cleaner checkpoint:
/// `<clean offset> <oldest kept tombstone ms or -1>` ((0, None) when absent).
pub fn read_checkpoint(dir: &Path) -> (i64, Option<i64>) {
    let Ok(text) = fs::read_to_string(dir.join(CHECKPOINT_FILE)) else {
        return (0, None);
    };
    let mut parts = text.split_whitespace().map(str::parse::<i64>);
    let offset = parts.next().and_then(|r| r.ok()).unwrap_or(0);
    let tomb = parts.next().and_then(|r| r.ok()).filter(|t| *t >= 0);
    (offset, tomb)
}

pub(crate) fn write_checkpoint(
    dir: &Path,
    offset: i64,
    oldest_tombstone: Option<i64>,
) -> Result<()> {
    let path = dir.join(CHECKPOINT_FILE);
    let tmp = dir.join(format!("{CHECKPOINT_FILE}.tmp"));
    fs::write(
        &tmp,
        format!("{offset} {}\n", oldest_tombstone.unwrap_or(-1)),
    )?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

impl Log {
    /// Chooses a cleaning pass, or None when the log does not need one now.
    /// `checkpoint` is the stored `(clean offset, oldest kept tombstone)`
    /// ([`read_checkpoint`]; read before taking the log lock: only the
    /// cleaner writes it).
    pub fn plan_cleaning(
        &self,
        config: &CompactionConfig,
        now_ms: i64,
        checkpoint: (i64, Option<i64>),
    ) -> Option<CleanPlan> {
        let all: Vec<&Segment> = self.segments_iter().collect();
        let (active, sealed) = all.split_last()?;
        let first = sealed.first()?.base_offset();
        let active_base = active.base_offset();
        let (checkpoint, oldest_tombstone) = checkpoint;
        let dirty_start = checkpoint.clamp(first, active_base);
        let lag_horizon = now_ms.saturating_sub(config.min_compaction_lag_ms);
        let mut end = sealed
            .iter()
            .filter(|s| s.base_offset() >= dirty_start)
            .find(|s| config.min_compaction_lag_ms > 0 && s.max_timestamp() > lag_horizon)
            .map_or(active_base, |s| s.base_offset());
        if let Some(unstable) = self.open_transactions().first().map(|(o, _)| *o) {
            // Not past the segment holding the oldest undecided record.
            if let Some(s) = sealed.iter().rev().find(|s| s.base_offset() <= unstable) {
                end = end.min(s.base_offset());
            }
        }
        let (mut clean, mut dirty) = (0u64, 0u64);
        for s in sealed {
            if s.base_offset() < dirty_start {
                clean += s.size();
            } else if s.base_offset() < end {
                dirty += s.size();
            }
        }
        let ratio = if clean + dirty == 0 {
            0.0
        } else {
            dirty as f64 / (clean + dirty) as f64
        };
        let by_ratio = dirty > 0 && ratio >= config.min_cleanable_dirty_ratio;
        let by_lag = dirty > 0
            && sealed
                .iter()
                .find(|s| s.base_offset() >= dirty_start)
                .is_some_and(|s| {
                    s.max_timestamp() >= 0
                        && s.max_timestamp() < now_ms.saturating_sub(config.max_compaction_lag_ms)
                });
        let by_tombstones = clean > 0
            && oldest_tombstone
                .is_some_and(|t| t < now_ms.saturating_sub(config.delete_retention_ms));
        if !(by_ratio || by_lag || by_tombstones) {
            return None;
        }
        debug!(dir = %self.dir().display(), dirty_start, end, ratio, by_ratio, by_lag, by_tombstones, "planning compaction");
        let segments = sealed
            .iter()
            .filter(|s| s.base_offset() < end.max(dirty_start))
            .map(|s| SegmentView {
                base: s.base_offset(),
                next: s.next_offset(),
                size: s.size(),
                slice: s.slice(0),
            })
            .collect();
        let cfg = self.config();
        Some(CleanPlan {
            dir: self.dir().to_path_buf(),
            segments,
            dirty_start,
            end: end.max(dirty_start),
            segment_bytes: cfg.segment_bytes,
            index_max_bytes: cfg.index_max_bytes,
            index_interval_bytes: cfg.index_interval_bytes,
            config: config.clone(),
            now_ms,
            aborted: self
                .aborted_all()
                .iter()
                .filter(|e| e.first_offset < end.max(dirty_start))
                .copied()
                .collect(),
        })
    }

    /// Swaps a cleaned group in for the segments it replaces. Returns None
    /// (and discards the group) when those segments changed meanwhile
    /// (retention or DeleteRecords removed them). The returned files and
    /// closed segments are for the caller to drop outside the log lock.
    pub fn commit_cleaned(&mut self, group: CleanedGroup) -> Result<Option<Removed>> {
        let dir = self.dir().to_path_buf();
        let active_base = self.active_segment_base();
        let unchanged = group.replaces.iter().all(|(base, size)| {
            *base != active_base && self.segment(*base).is_some_and(|s| s.size() == *size)
        });
        if !unchanged {
            fs::remove_dir_all(dir.join(CLEANING_DIR))?;
            return Ok(None);
        }
        let list: Vec<String> = group.replaces.iter().map(|(b, _)| b.to_string()).collect();
        let cleaning = dir.join(CLEANING_DIR);
        let replaces = cleaning.join(REPLACES_FILE);
        fs::write(&replaces, list.join(" "))?;
        fs::File::open(&replaces)?.sync_all()?;
        sync_dir(&cleaning)?;
        fs::rename(&cleaning, dir.join(SWAP_DIR))?;
        sync_dir(&dir)?;
        let files = complete_swap(&dir)?;
        let mut closed = Vec::new();
        for (base, _) in &group.replaces {
            if let Some(seg) = self.take_segment(*base) {
                closed.push(seg);
            }
        }
        let cfg = self.config();
        let mut seg = Segment::open(
            &dir,
            group.base,
            cfg.index_max_bytes,
            cfg.index_interval_bytes,
        )?;
        seg.set_next_offset(group.next);
        self.put_segment(seg);
        Ok(Some(Removed {
            segments: Vec::new(),
            closed,
            files,
        }))
    }

    /// Stores the checkpoint after a pass.
    pub fn finish_cleaning(
        &mut self,
        clean_offset: i64,
        oldest_tombstone: Option<i64>,
    ) -> Result<()> {
        write_checkpoint(self.dir(), clean_offset, oldest_tombstone)
    }
}

impl CleanPlan {
    /// First offset the pass leaves dirty.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// Maps each key of the dirty section to its newest offset. A map that
    /// would outgrow its bound ends the pass at the segment boundary before
    /// the overflowing segment (at least one dirty segment is always mapped).
    fn build_map(&mut self, throttle: &mut Throttle) -> Result<HashMap<u128, i64>> {
        let mut map = HashMap::new();
        let mut end = self.end;
        for view in self
            .segments
            .iter()
            .filter(|v| v.base >= self.dirty_start && v.base < self.end)
        {
            let before = map.len();
            let mut segment_map = HashMap::new();
            for_each_batch(&view.slice, throttle, |h, batch| {
                if h.is_control() || is_aborted(h, &self.aborted) {
                    return Ok(());
                }
                let section = records_section(h, batch, self.config.max_decompressed_bytes)?;
                for r in parse_records(h, &section)? {
                    if let Some(key) = r.key {
                        segment_map.insert(key_digest(key), r.offset(h));
                    }
                }
                Ok(())
            })?;
            if before > 0 && before + segment_map.len() > self.config.max_map_entries {
                end = view.base;
                break;
            }
            map.extend(segment_map);
        }
        if end < self.end {
            debug!(dir = %self.dir.display(), end, "offset map full; pass ends early");
            self.end = end;
            self.segments.retain(|v| v.base < end);
        }
        Ok(map)
    }

    /// Splits the segments into consecutive groups that fit one segment.
    fn groups(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut size = 0u64;
        for (i, v) in self.segments.iter().enumerate() {
            let first = &self.segments[start];
            let span = v.next - first.base;
            if i > start && (size + v.size > self.segment_bytes || span > i64::from(i32::MAX)) {
                out.push(start..i);
                start = i;
                size = 0;
            }
            size += v.size;
        }
        if start < self.segments.len() {
            out.push(start..self.segments.len());
        }
        out
    }

    /// Writes the cleaned version of one group into `cleaning/`.
    fn clean_group(
        &self,
        range: std::ops::Range<usize>,
        map: &HashMap<u128, i64>,
        throttle: &mut Throttle,
        stats: &mut CleanStats,
        oldest_tombstone: &mut Option<i64>,
    ) -> Result<CleanedGroup> {
        let views = &self.segments[range];
        let (Some(first), Some(last)) = (views.first(), views.last()) else {
            return Err(LogError::InvalidBatchLayout("empty cleaning group"));
        };
        let tmp = self.dir.join(CLEANING_DIR);
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        let mut out = Segment::open(
            &tmp,
            first.base,
            self.index_max_bytes,
            self.index_interval_bytes,
        )?;
        let horizon = self.now_ms.saturating_sub(self.config.delete_retention_ms);
        let mut pending: Vec<u8> = Vec::new();
        let mut written = 0usize;
        for view in views {
            for_each_batch(&view.slice, throttle, |h, batch| {
                if h.is_control() {
                    pending.extend_from_slice(batch);
                } else if is_aborted(h, &self.aborted) {
                    stats.records_removed += h.records_count.max(0) as u64;
                } else {
                    let section = records_section(h, batch, self.config.max_decompressed_bytes)?;
                    let records = parse_records(h, &section)?;
                    let kept: Vec<RawRecord<'_>> = records
                        .iter()
                        .filter(|r| match verdict(h, r, map, horizon) {
                            Verdict::Keep => {
                                if r.value.is_none() {
                                    let ts = r.timestamp(h);
                                    *oldest_tombstone =
                                        Some(oldest_tombstone.map_or(ts, |o: i64| o.min(ts)));
                                }
                                true
                            }
                            Verdict::ExpiredTombstone => {
                                stats.records_removed += 1;
                                stats.tombstones_removed += 1;
                                false
                            }
                            Verdict::Superseded | Verdict::Keyless => {
                                stats.records_removed += 1;
                                false
                            }
                        })
                        .copied()
                        .collect();
                    if kept.len() == records.len() {
                        pending.extend_from_slice(batch);
                    } else if !kept.is_empty() {
                        pending.extend_from_slice(&rebuild_batch(h, &kept, h.compression())?);
                    }
                }
                if pending.len() >= CHUNK {
                    written += pending.len();
                    out.append(&pending)?;
                    pending.clear();
                }
                Ok(())
            })?;
            throttle.charge(written);
            written = 0;
        }
        if !pending.is_empty() {
            throttle.charge(pending.len());
            out.append(&pending)?;
        }
        out.seal()?;
        out.flush()?;
        let mut entries = Vec::new();
        for v in views {
            entries.extend(crate::txn::read_index(&self.dir, v.base)?);
        }
        crate::txn::write_index(&tmp, first.base, &entries)?;
        crate::txn::sync_index(&tmp, first.base)?;
        stats.segments_in += views.len();
        stats.segments_out += 1;
        stats.bytes_in += views.iter().map(|v| v.size).sum::<u64>();
        stats.bytes_out += out.size();
        drop(out);
        sync_dir(&tmp)?;
        Ok(CleanedGroup {
            base: first.base,
            next: last.next,
            replaces: views.iter().map(|v| (v.base, v.size)).collect(),
        })
    }
}

/// What compaction does with one record.
enum Verdict {
    /// The newest record of its key (and not an expired tombstone).
    Keep,
    /// A newer record of the same key exists.
    Superseded,
    /// No key: cannot be compacted, removed as Kafka does.
    Keyless,
    /// The newest record of its key, a tombstone older than the horizon.
    ExpiredTombstone,
}

fn verdict(h: &BatchHeader, r: &RawRecord<'_>, map: &HashMap<u128, i64>, horizon: i64) -> Verdict {
    let Some(key) = r.key else {
        return Verdict::Keyless;
    };
    if map
        .get(&key_digest(key))
        .is_some_and(|newest| *newest > r.offset(h))
    {
        return Verdict::Superseded;
    }
    if r.value.is_none() && r.timestamp(h) < horizon {
        return Verdict::ExpiredTombstone;
    }
    Verdict::Keep
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs one compaction pass over the log behind `log` if it needs one,
/// holding the lock only to plan, to swap each group in and to store the
/// checkpoint. Returns what the pass did, or None when it was not needed.
pub fn compact(
    log: &Mutex<Log>,
    config: &CompactionConfig,
    now_ms: i64,
) -> Result<Option<CleanStats>> {
    let dir = lock(log).dir().to_path_buf();
    let checkpoint = read_checkpoint(&dir);
    let Some(mut plan) = lock(log).plan_cleaning(config, now_ms, checkpoint) else {
        return Ok(None);
    };
    let mut throttle = Throttle::new(config.io_max_bytes_per_second);
    let map = plan.build_map(&mut throttle)?;
    let mut stats = CleanStats {
        clean_offset: plan.end,
        ..CleanStats::default()
    };
    let mut oldest_tombstone = None;
    for range in plan.groups() {
        let group = plan.clean_group(
            range,
            &map,
            &mut throttle,
            &mut stats,
            &mut oldest_tombstone,
        )?;
        let removed = lock(log).commit_cleaned(group)?;
        match removed {
            Some(r) => {
                r.delete_files()?;
            }
            None => {
                warn!(dir = %plan.dir.display(), "segments changed during compaction; group skipped")
            }
        }
    }
    lock(log).finish_cleaning(plan.end, oldest_tombstone)?;
    Ok(Some(stats))
}
