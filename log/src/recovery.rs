//! Opening a log: finishing an interrupted compaction swap, recovering the
//! active segment's tail, and rebuilding producer state and the aborted
//! transaction index.
//!
//! Opening costs the tail only: sealed segments are trusted (they were
//! fsynced when they rolled) and opened without a scan; the active segment
//! is recovered from its last index entry ([`Segment::recover`] checks every
//! CRC after it, truncates a torn tail and rebuilds the index entries and the
//! segment's max timestamp and its offset); producer state comes from the
//! newest snapshot (written at each roll) plus the batches after it.
//!
//! This module is not the steady state: appends, rolls and retention are in
//! `log.rs`, reads in `read.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use tracing::{debug, info, warn};

use crate::cleaner;
use crate::epoch::EpochCache;
use crate::error::{LogError, Result};
use crate::log::{Log, LogConfig, START_CHECKPOINT};
use crate::producer_state::ProducerStateManager;
use crate::segment::Segment;
use crate::txn::{self, AbortedTxn};

impl Log {
    /// Opens the log in `dir` (creating it when missing), recovering the
    /// active segment and rebuilding producer state from batch headers.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Self> {
        fs::create_dir_all(dir)?;
        cleaner::recover(dir)?;
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
            appended_records: 0,
            flushed_records: 0,
            last_flush: std::time::Instant::now(),
            producers: ProducerStateManager::default(),
            aborted: Vec::new(),
            dirty_txn_indexes: Vec::new(),
            epochs: EpochCache::default(),
            epochs_dirty: false,
        };
        log.rebuild_producer_state()?;
        log.load_epochs()?;
        log.cap_cleaner_checkpoint()?;
        Ok(log)
    }

    /// Cuts a cleaner checkpoint past the active segment's base back to it
    /// (the cleaner never passes it; a truncation, or a crash during one,
    /// removed what it covered): records written there again must be
    /// compacted.
    pub(crate) fn cap_cleaner_checkpoint(&self) -> Result<()> {
        let active_base = self.active().base_offset();
        let (clean, tombstone) = cleaner::read_checkpoint(&self.dir);
        if clean > active_base {
            cleaner::write_checkpoint(&self.dir, active_base, tombstone)?;
        }
        Ok(())
    }

    /// Loads the leader epoch checkpoint, dropping entries at or past the
    /// recovered log end and moving the first to the log start; without a
    /// usable file a non-empty log rebuilds it from its batch headers (a
    /// log written before the cache existed, or a damaged file).
    fn load_epochs(&mut self) -> Result<()> {
        let loaded = match EpochCache::load(&self.dir) {
            Ok(c) => c,
            Err(e @ LogError::Corrupt { .. }) => {
                warn!(dir = %self.dir.display(), error = %e, "rebuilding the leader epoch cache from batch headers");
                None
            }
            Err(e) => return Err(e),
        };
        let mut changed = false;
        self.epochs = match loaded {
            Some(c) => c,
            None => {
                let mut c = EpochCache::default();
                for seg in self.segments.values() {
                    let scanned = seg.for_each_header_at(|_, h| {
                        if h.partition_leader_epoch >= 0
                            && c.latest_epoch()
                                .is_none_or(|l| h.partition_leader_epoch > l)
                        {
                            c.assign(h.partition_leader_epoch, h.base_offset);
                        }
                    });
                    match scanned {
                        Ok(()) => {}
                        Err(e @ LogError::CorruptBatch { .. }) => {
                            warn!(dir = %self.dir.display(), error = %e, "leader epochs rebuilt from the batches before a corrupt one")
                        }
                        Err(e) => return Err(e),
                    }
                }
                changed = !c.is_empty();
                c
            }
        };
        changed |= self.epochs.truncate_from_end(self.log_end_offset());
        changed |= self.epochs.truncate_from_start(self.log_start_offset);
        if changed {
            self.epochs_dirty = true;
            self.store_epochs_if_dirty();
        }
        Ok(())
    }

    /// Loads the newest usable producer-state snapshot and replays only
    /// the batches after it, so that opening a log costs the tail, not the
    /// whole log. Without a snapshot every segment is replayed. Snapshots
    /// past the log end are deleted, and every `.txnindex` file is made to
    /// hold exactly the in-memory entries of its segment (entries of
    /// markers past the log end go).
    pub(crate) fn rebuild_producer_state(&mut self) -> Result<()> {
        let end = self.log_end_offset();
        let mut snapshots = self.snapshot_offsets()?;
        // Snapshots past the log end describe a tail that is gone (a
        // truncation, or a crash during one): they must never be used once
        // the log grows past them again.
        for stale in snapshots.iter().filter(|o| **o > end) {
            match fs::remove_file(self.snapshot_path(*stale)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
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
            }
            // The file must say what memory says, also for a segment the
            // snapshot covers: after a truncation to a snapshot's offset,
            // the cut segment's file still holds the entries of markers that
            // are gone, and re-appending those markers would index them
            // twice.
            if entries != on_disk {
                rewrite.push((base, entries.clone()));
            }
            aborted.extend(entries);
        }
        let rewrote = !rewrite.is_empty();
        for (base, entries) in rewrite {
            txn::write_index(&self.dir, base, &entries)?;
        }
        if rewrote {
            // The renames and removals above, durable.
            fs::File::open(&self.dir)?.sync_all()?;
        }
        self.producers = producers;
        self.aborted = aborted;
        Ok(())
    }
}
