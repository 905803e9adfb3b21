//! One segment: a `.log` file of batches plus its `.index` and `.timeindex`.
//!
//! A segment only appends whole, already-validated batches and answers where
//! an offset or timestamp lives. Offset assignment, producer state and the
//! choice of which segment to write belong to [`crate::Log`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tracing::warn;

use crate::batch::{BatchHeader, HEADER_LEN};
use crate::error::{LogError, Result};
use crate::index::{OffsetIndex, TimeIndex};

/// File name stem for a segment: the base offset as 20 zero-padded digits.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// A contiguous byte range of a segment file, readable without the log lock.
#[derive(Clone)]
pub struct FileSlice {
    file: Arc<File>,
    position: u64,
    end: u64,
}

impl FileSlice {
    /// Bytes in the slice.
    pub fn len(&self) -> u64 {
        self.end - self.position
    }

    /// True when the slice holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.end == self.position
    }

    /// Fills `buf` from `at` bytes into the slice.
    pub fn read_exact_at(&self, buf: &mut [u8], at: u64) -> Result<()> {
        if at + buf.len() as u64 > self.len() {
            return Err(LogError::Truncated {
                needed: (at + buf.len() as u64) as usize,
                available: self.len() as usize,
            });
        }
        self.file.read_exact_at(buf, self.position + at)?;
        Ok(())
    }

    /// Reads whole batches from the slice, at most `max_bytes` of them unless
    /// the first batch alone is larger and `at_least_one` is set (KIP-74).
    /// Returns the bytes of the batches; empty when nothing fits.
    ///
    /// A batch whose header is damaged (bytes corrupted on disk) ends the
    /// read: the intact batches before it are returned, as Kafka serves
    /// them; a read that starts at it fails with [`LogError::CorruptBatch`]
    /// (Kafka answers CORRUPT_MESSAGE). CRCs are not checked here: like
    /// Kafka's, consumers check them.
    pub fn read_batches(&self, max_bytes: usize, at_least_one: bool) -> Result<Vec<u8>> {
        let available = (self.end - self.position) as usize;
        let want = available.min(max_bytes.max(HEADER_LEN));
        let mut buf = vec![0u8; want];
        self.file.read_exact_at(&mut buf, self.position)?;
        let mut complete = 0usize;
        let mut corrupt = None;
        for item in crate::batch::Batches::new(&buf) {
            match item {
                Ok((_, range)) => {
                    if range.end > max_bytes {
                        break;
                    }
                    complete = range.end;
                }
                Err(e) => {
                    corrupt = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = corrupt {
            let position = self.position + complete as u64;
            if complete == 0 {
                return Err(corrupt_batch(position, &e));
            }
            warn!(position, error = %e, "corrupt batch in segment; serving the batches before it");
        } else if complete == 0 && at_least_one {
            let h = BatchHeader::parse(&buf).map_err(|e| corrupt_batch(self.position, &e))?;
            let total = h.total_len();
            if total > available {
                return Err(LogError::CorruptBatch {
                    position: self.position,
                    reason: format!("batch of {total} bytes runs past the segment end"),
                });
            }
            if total > buf.len() {
                buf = vec![0u8; total];
                self.file.read_exact_at(&mut buf, self.position)?;
            }
            complete = total;
        }
        buf.truncate(complete);
        Ok(buf)
    }

    /// The part of this slice from file position `position` on (empty when
    /// `position` is at or past its end).
    pub fn from_position(&self, position: u64) -> FileSlice {
        FileSlice {
            file: Arc::clone(&self.file),
            position: position.clamp(self.position, self.end),
            end: self.end,
        }
    }

    /// File position and header of the first batch of the slice for which
    /// `pred` holds (it gets each batch's file position), reading headers in
    /// 64 KiB chunks with `pread`. A header that does not parse is
    /// [`LogError::CorruptBatch`].
    pub fn scan(
        &self,
        mut pred: impl FnMut(u64, &BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>> {
        const CHUNK: usize = 64 * 1024;
        let mut position = self.position;
        while position < self.end {
            let want = ((self.end - position) as usize).min(CHUNK);
            let mut buf = vec![0u8; want];
            self.file.read_exact_at(&mut buf, position)?;
            if buf.len() < HEADER_LEN {
                return Ok(None);
            }
            let mut consumed = 0u64;
            let mut batches = crate::batch::Batches::new(&buf);
            loop {
                let at = position + batches.position() as u64;
                let Some(item) = batches.next() else { break };
                let (h, range) = item.map_err(|e| corrupt_batch(at, &e))?;
                if pred(position + range.start as u64, &h) {
                    return Ok(Some((position + range.start as u64, h)));
                }
                consumed = range.end as u64;
            }
            if consumed == 0 {
                // One batch larger than the chunk: step over it by its header.
                let h = BatchHeader::parse(&buf).map_err(|e| corrupt_batch(position, &e))?;
                if pred(position, &h) {
                    return Ok(Some((position, h)));
                }
                consumed = h.total_len() as u64;
            }
            position += consumed;
        }
        Ok(None)
    }
}

/// Handles on a segment's three files, taken under the log lock so that an
/// fsync can run without it: appends to the same files go on meanwhile (the
/// fsync covers at least what was written before the handles were taken).
#[derive(Clone)]
pub struct SegmentFiles {
    log: Arc<File>,
    index: Arc<File>,
    time_index: Arc<File>,
}

impl SegmentFiles {
    /// fsyncs the `.log` file, then the two index files. The indexes are
    /// written through shared memory maps; on Linux `msync(MS_SYNC)` is an
    /// `fdatasync` of the mapped file, and dirty pages of a shared mapping
    /// are the file's page cache, so syncing the file descriptor makes the
    /// mapped entries durable without touching the map (which the writer may
    /// remap while this runs).
    pub fn sync(&self) -> Result<()> {
        self.log.sync_data()?;
        self.index.sync_data()?;
        self.time_index.sync_data()?;
        Ok(())
    }
}

/// The error for a batch header that does not parse at `position`.
fn corrupt_batch(position: u64, e: &LogError) -> LogError {
    LogError::CorruptBatch {
        position,
        reason: e.to_string(),
    }
}

/// One segment of a partition log.
pub struct Segment {
    base_offset: i64,
    log_path: PathBuf,
    file: Arc<File>,
    size: u64,
    index: OffsetIndex,
    time_index: TimeIndex,
    next_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    bytes_since_last_index: u64,
    created: Instant,
    index_interval_bytes: u64,
}

impl Segment {
    /// Creates or opens the segment with `base_offset` in `dir`. Opening an
    /// existing segment does no recovery; call [`Segment::recover`] for the
    /// segment that may have a torn tail.
    pub fn open(
        dir: &Path,
        base_offset: i64,
        index_max_bytes: u64,
        index_interval_bytes: u64,
    ) -> Result<Self> {
        let stem = file_stem(base_offset);
        let log_path = dir.join(format!("{stem}.log"));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&log_path)?;
        let size = file.metadata()?.len();
        let index = OffsetIndex::open(&dir.join(format!("{stem}.index")), index_max_bytes)?;
        let time_index = TimeIndex::open(&dir.join(format!("{stem}.timeindex")), index_max_bytes)?;
        let mut seg = Segment {
            base_offset,
            log_path,
            file: Arc::new(file),
            size,
            index,
            time_index,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            bytes_since_last_index: 0,
            created: Instant::now(),
            index_interval_bytes,
        };
        if let Some((ts, rel)) = seg.time_index.last() {
            seg.max_timestamp = ts;
            seg.offset_of_max_timestamp = base_offset + i64::from(rel);
        }
        Ok(seg)
    }

    /// Scans the segment from its last valid index entry, checking every
    /// batch's CRC, truncating a torn or corrupt tail and re-adding index
    /// entries. Work is bounded by the bytes after the last index entry.
    /// Returns the number of bytes truncated.
    pub fn recover(&mut self) -> Result<u64> {
        self.index.sanitize(self.size);
        let (rel, pos) = self.index.lookup(u32::MAX);
        let mut position = u64::from(pos);
        self.next_offset = self.base_offset + i64::from(rel);
        // Time-index entries beyond the scan start are rebuilt by the scan.
        self.time_index.sanitize(rel.saturating_add(1));
        if let Some((ts, r)) = self.time_index.last() {
            self.max_timestamp = ts;
            self.offset_of_max_timestamp = self.base_offset + i64::from(r);
        } else {
            self.max_timestamp = -1;
            self.offset_of_max_timestamp = self.base_offset;
        }
        self.bytes_since_last_index = 0;
        let mut header = [0u8; HEADER_LEN];
        let mut first = true;
        while position + HEADER_LEN as u64 <= self.size {
            if self.file.read_exact_at(&mut header, position).is_err() {
                break;
            }
            let h = match BatchHeader::parse(&header) {
                Ok(h) => h,
                Err(_) => break,
            };
            let total = h.total_len() as u64;
            if position + total > self.size {
                break;
            }
            let mut whole = vec![0u8; total as usize];
            self.file.read_exact_at(&mut whole, position)?;
            if BatchHeader::validate(&whole).is_err()
                || (!first && h.base_offset < self.next_offset)
            {
                break;
            }
            first = false;
            self.note_appended(&h, position, total);
            position += total;
        }
        let truncated = self.size - position;
        if truncated > 0 {
            warn!(
                segment = %self.log_path.display(),
                valid_bytes = position,
                truncated_bytes = truncated,
                "truncating torn or corrupt tail of segment"
            );
            self.file.set_len(position)?;
            self.size = position;
        }
        Ok(truncated)
    }

    /// Removes every batch whose last offset is at or above `offset` (the
    /// cut is at `offset` when it is a batch boundary, else before the batch
    /// holding it), trims both indexes to what remains, recomputes the next
    /// offset and max timestamp, and fsyncs the files. Returns the bytes
    /// removed.
    pub fn truncate_to(&mut self, offset: i64) -> Result<u64> {
        let Some((position, _)) = self.locate(offset)? else {
            return Ok(0);
        };
        let removed = self.size - position;
        self.file.set_len(position)?;
        self.size = position;
        // Index entries pointing into the cut part go; the scan from the
        // last one left restores next offset, max timestamp and time index.
        self.recover()?;
        self.flush()?;
        Ok(removed)
    }

    /// Updates in-memory state and indexes for a batch just written at
    /// `position` (or found there during recovery).
    fn note_appended(&mut self, h: &BatchHeader, position: u64, len: u64) {
        if h.max_timestamp > self.max_timestamp {
            self.max_timestamp = h.max_timestamp;
            self.offset_of_max_timestamp = h.base_offset;
        }
        if self.bytes_since_last_index >= self.index_interval_bytes && position > 0 {
            let rel = (h.base_offset - self.base_offset) as u32;
            if self.index.append(rel, position as u32) {
                let rel_max = (self.offset_of_max_timestamp - self.base_offset) as u32;
                self.time_index.maybe_append(self.max_timestamp, rel_max);
            }
            self.bytes_since_last_index = 0;
        }
        self.bytes_since_last_index += len;
        self.next_offset = h.last_offset() + 1;
    }

    /// Appends whole batches (offsets already assigned) in one write.
    /// On a failed write the file is cut back so no partial batch remains.
    pub fn append(&mut self, batches: &[u8]) -> Result<()> {
        let position = self.size;
        if let Err(e) = (&*self.file).write_all(batches) {
            // Cutting back needs no space, even on a full disk.
            let _ = self.file.set_len(position);
            crate::error::note_write_error(&self.log_path, "record batches", &e);
            return Err(e.into());
        }
        crate::error::note_write_ok(&self.log_path);
        self.size += batches.len() as u64;
        let mut at = position;
        for item in crate::batch::Batches::new(batches) {
            let (h, range) = item?;
            let len = range.len() as u64;
            self.note_appended(&h, at, len);
            at += len;
        }
        Ok(())
    }

    /// Where to start reading for `offset`: a slice from the nearest indexed
    /// batch at or before it to the end of the segment.
    pub fn slice_from_index(&self, offset: i64) -> FileSlice {
        let rel = (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32;
        let (_, pos) = self.index.lookup(rel);
        FileSlice {
            file: Arc::clone(&self.file),
            position: u64::from(pos),
            end: self.size,
        }
    }

    /// Position of the first batch whose last offset is >= `offset`, scanning
    /// forward from the index hint, plus that batch's header.
    pub fn locate(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        let rel = (offset - self.base_offset).clamp(0, i64::from(u32::MAX)) as u32;
        let (_, pos) = self.index.lookup(rel);
        self.scan_from(u64::from(pos), |h| h.last_offset() >= offset)
    }

    /// Position and header of the first batch at or after `position` for
    /// which `pred` holds.
    pub fn scan_from(
        &self,
        position: u64,
        mut pred: impl FnMut(&BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>> {
        self.scan_from_at(position, |_, h| pred(h))
    }

    /// Like [`Segment::scan_from`], with each batch's position passed to `pred`.
    pub fn scan_from_at(
        &self,
        position: u64,
        pred: impl FnMut(u64, &BatchHeader) -> bool,
    ) -> Result<Option<(u64, BatchHeader)>> {
        self.slice(position).scan(pred)
    }

    /// A slice from `position` to the segment's current end.
    pub fn slice(&self, position: u64) -> FileSlice {
        FileSlice {
            file: Arc::clone(&self.file),
            position,
            end: self.size,
        }
    }

    /// Where to start scanning for the first batch whose max timestamp is at
    /// least `timestamp`: a slice from the indexed batch the time index
    /// points before it to the end of the segment (memory only, no file
    /// read).
    pub fn slice_from_time_index(&self, timestamp: i64) -> FileSlice {
        let rel = self.time_index.lookup(timestamp);
        let (_, pos) = self.index.lookup(rel);
        self.slice(u64::from(pos))
    }

    /// First batch whose max timestamp is >= `timestamp`, via the time index.
    pub fn find_by_timestamp(&self, timestamp: i64) -> Result<Option<(u64, BatchHeader)>> {
        self.slice_from_time_index(timestamp)
            .scan(|_, h| h.max_timestamp >= timestamp)
    }

    /// Iterates over every batch header in the segment with its position.
    pub fn for_each_header_at(&self, mut f: impl FnMut(u64, &BatchHeader)) -> Result<()> {
        self.scan_from_at(0, |pos, h| {
            f(pos, h);
            false
        })?;
        Ok(())
    }

    /// Writes the final time-index entry and trims both index files; called
    /// when the segment stops being the active one.
    pub fn seal(&mut self) -> Result<()> {
        if self.max_timestamp > 0 {
            let rel = (self.offset_of_max_timestamp - self.base_offset) as u32;
            if !self.time_index.maybe_append(self.max_timestamp, rel) {
                warn!(segment = %self.log_path.display(), "time index full at seal");
            }
        }
        self.index.0.trim()?;
        self.time_index.0.trim()?;
        Ok(())
    }

    /// fsyncs the log file and the index files.
    pub fn flush(&self) -> Result<()> {
        self.files().sync()
    }

    /// The files of this segment, to fsync without holding whatever lock
    /// guards the segment (see [`SegmentFiles::sync`]).
    pub fn files(&self) -> SegmentFiles {
        SegmentFiles {
            log: Arc::clone(&self.file),
            index: Arc::clone(self.index.0.file()),
            time_index: Arc::clone(self.time_index.0.file()),
        }
    }

    /// Removes the segment's files.
    pub fn delete_files(self) -> Result<()> {
        // The `.log` file goes last: a crash part way leaves at worst a
        // segment without indexes (reads then scan it from its start), never indexes that a
        // later segment of the same base offset would pick up.
        let paths = [
            self.index.0.path().to_path_buf(),
            self.time_index.0.path().to_path_buf(),
            self.log_path.with_extension("txnindex"),
            self.log_path.clone(),
        ];
        drop(self);
        for p in paths {
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Base offset of the segment.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// One past the last offset stored (the base offset when empty).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    /// Sets the next offset of a sealed segment opened without a scan (the
    /// following segment's base offset bounds it).
    pub fn set_next_offset(&mut self, next_offset: i64) {
        self.next_offset = next_offset;
    }
    /// Bytes in the `.log` file.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Largest batch max-timestamp in the segment, -1 when none.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    /// Base offset of the batch holding the largest timestamp.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }
    /// When this segment was opened or created in this process.
    pub fn created(&self) -> Instant {
        self.created
    }
    /// True when an index cannot take another entry.
    pub fn indexes_full(&self) -> bool {
        self.index.0.is_full() || self.time_index.0.is_full()
    }
}
