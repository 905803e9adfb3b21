//! Reads planned under the log's lock and performed without it.
//!
//! Whoever guards a [`Log`] with a lock holds it only to *plan* a read: which
//! segment to look in and from which indexed position, all from memory (the
//! offset and time indexes are memory maps, segment bounds and each
//! segment's max timestamp and its offset are fields). Scanning batch
//! headers and reading batches — every `pread` — happens on the returned
//! [`ReadPlan`] / [`MaxTimestampPlan`] after the lock is released, so a
//! reader never holds up the writer for the length of a file read. A plan
//! stays valid without the lock: appends only add bytes past the plan's
//! end, and a segment taken out of the log meanwhile (retention, a
//! compaction swap) stays readable through the plan's open file handle.
//!
//! The `&self` methods [`Log::read`], [`Log::find_batch_by_timestamp`] and
//! [`Log::max_timestamp_batch`] plan and perform in one call, for callers
//! that hold the log directly.
//!
//! This module does not write, recover or decide retention.

use crate::batch::BatchHeader;
use crate::error::{LogError, Result};
use crate::log::Log;
use crate::segment::{FileSlice, Segment};

/// Where to look for a batch in one segment, planned under the log lock;
/// [`ReadPlan::read_slice`] / [`ReadPlan::read_batch`] perform it without.
#[derive(Clone)]
pub struct ReadPlan {
    target: Target,
    /// Base offset of the segment planned (the next plan starts after it).
    base: i64,
    /// From the indexed batch at or before the target to the segment's end
    /// when planned.
    slice: FileSlice,
}

/// What a plan looks for.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// The first batch whose last offset is >= this offset.
    Offset(i64),
    /// The first batch with a max timestamp >= `timestamp` that holds an
    /// offset >= `start` (`start` is None where the whole segment is at or
    /// past the log start offset).
    Timestamp { timestamp: i64, start: Option<i64> },
}

impl Target {
    fn matches(self, h: &BatchHeader) -> bool {
        match self {
            Target::Offset(offset) => h.last_offset() >= offset,
            Target::Timestamp { timestamp, start } => {
                h.max_timestamp >= timestamp && start.is_none_or(|s| h.last_offset() >= s)
            }
        }
    }
}

impl ReadPlan {
    /// File position and header of the batch the plan looks for, in the
    /// planned segment (reads the file; no lock needed).
    fn find(&self) -> Result<Option<(u64, BatchHeader)>> {
        let target = self.target;
        self.slice.scan(|_, h| target.matches(h))
    }

    /// Finds the batch, asking `next` (which takes the log lock for a
    /// moment, typically `|p| log.lock().plan_next(p)`) for the following
    /// segment while a segment holds none (compaction can empty a sealed
    /// segment's tail).
    fn resolve(
        self,
        mut next: impl FnMut(&ReadPlan) -> Option<ReadPlan>,
    ) -> Result<Option<(FileSlice, BatchHeader)>> {
        let mut plan = self;
        loop {
            if let Some((pos, h)) = plan.find()? {
                return Ok(Some((plan.slice.from_position(pos), h)));
            }
            match next(&plan) {
                Some(p) => plan = p,
                None => return Ok(None),
            }
        }
    }

    /// Performs an offset read ([`Log::plan_read`]): the slice from the
    /// batch holding the offset to the end of its segment as planned.
    pub fn read_slice(
        self,
        next: impl FnMut(&ReadPlan) -> Option<ReadPlan>,
    ) -> Result<Option<FileSlice>> {
        Ok(self.resolve(next)?.map(|(slice, _)| slice))
    }

    /// Performs a lookup ([`Log::plan_timestamp`]): the batch found, with
    /// its bytes.
    pub fn read_batch(
        self,
        next: impl FnMut(&ReadPlan) -> Option<ReadPlan>,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        match self.resolve(next)? {
            Some((slice, h)) => Ok(Some((h, slice.read_batches(h.total_len(), true)?))),
            None => Ok(None),
        }
    }
}

/// Where the batch holding the log's largest timestamp is, planned under
/// the log lock from the segment's tracked max timestamp and its offset
/// (Kafka's `offsetOfMaxTimestamp`), so that no scan of the log is needed.
pub struct MaxTimestampPlan {
    /// The batch at the tracked offset, from its index entry.
    at_offset: ReadPlan,
    /// The whole segment, for the fallback scan.
    segment: FileSlice,
    max_timestamp: i64,
}

impl MaxTimestampPlan {
    /// Reads the batch (no lock needed). Should the batch at the tracked
    /// offset not carry the segment's max timestamp (only an index damaged
    /// on disk could cause that), the segment is scanned for the first
    /// batch that does, so the answer is the same either way.
    pub fn read_batch(&self) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        let target = self.max_timestamp;
        let found = match self.at_offset.find()? {
            Some((pos, h)) if h.max_timestamp >= target => Some((pos, h)),
            _ => self.segment.scan(|_, h| h.max_timestamp >= target)?,
        };
        match found {
            Some((pos, h)) => {
                let bytes = self
                    .segment
                    .from_position(pos)
                    .read_batches(h.total_len(), true)?;
                Ok(Some((h, bytes)))
            }
            None => Ok(None),
        }
    }
}

impl Log {
    /// Plans a read at `offset` (memory only): `Ok(None)` at the log end,
    /// [`LogError::OffsetOutOfRange`] outside the log. Perform it with
    /// [`ReadPlan::read_slice`].
    pub fn plan_read(&self, offset: i64) -> Result<Option<ReadPlan>> {
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
        Ok(self.plan_from(Target::Offset(offset), first))
    }

    /// Plans a lookup of the first batch at or after the log start offset
    /// with a max timestamp >= `timestamp` (memory only). Perform it with
    /// [`ReadPlan::read_batch`].
    pub fn plan_timestamp(&self, timestamp: i64) -> Option<ReadPlan> {
        self.plan_from(
            Target::Timestamp {
                timestamp,
                start: None,
            },
            i64::MIN,
        )
    }

    /// The plan for the segment after `plan`'s, when `plan`'s segment held
    /// no batch it looks for.
    pub fn plan_next(&self, plan: &ReadPlan) -> Option<ReadPlan> {
        plan.base
            .checked_add(1)
            .and_then(|from| self.plan_from(plan.target, from))
    }

    /// The plan for the first segment at or after base `from` that may hold
    /// the target.
    fn plan_from(&self, target: Target, from: i64) -> Option<ReadPlan> {
        let start = self.log_start_offset;
        self.segments
            .range(from..)
            .map(|(_, s)| s)
            .find_map(|seg| match target {
                Target::Offset(offset) => (seg.next_offset() > offset).then(|| ReadPlan {
                    target,
                    base: seg.base_offset(),
                    slice: seg.slice_from_index(offset),
                }),
                Target::Timestamp { timestamp, .. } => {
                    if seg.max_timestamp() < timestamp || seg.next_offset() <= start {
                        return None;
                    }
                    Some(if seg.base_offset() < start {
                        // DeleteRecords moved the start into this segment.
                        ReadPlan {
                            target: Target::Timestamp {
                                timestamp,
                                start: Some(start),
                            },
                            base: seg.base_offset(),
                            slice: seg.slice_from_index(start),
                        }
                    } else {
                        ReadPlan {
                            target: Target::Timestamp {
                                timestamp,
                                start: None,
                            },
                            base: seg.base_offset(),
                            slice: seg.slice_from_time_index(timestamp),
                        }
                    })
                }
            })
    }

    /// Plans the lookup of the batch holding the largest timestamp in the
    /// log (the first one if several share it), from the segments' tracked
    /// max timestamps and their offsets (memory only). Perform it with
    /// [`MaxTimestampPlan::read_batch`].
    pub fn plan_max_timestamp(&self) -> Option<MaxTimestampPlan> {
        let seg = self
            .segments
            .values()
            .filter(|s| s.max_timestamp() >= 0)
            .fold(None::<&Segment>, |best, s| match best {
                Some(b) if b.max_timestamp() >= s.max_timestamp() => Some(b),
                _ => Some(s),
            })?;
        let offset = seg.offset_of_max_timestamp();
        Some(MaxTimestampPlan {
            at_offset: ReadPlan {
                target: Target::Offset(offset),
                base: seg.base_offset(),
                slice: seg.slice_from_index(offset),
            },
            segment: seg.slice(0),
            max_timestamp: seg.max_timestamp(),
        })
    }

    /// Where a read at `offset` starts: `Ok(None)` at the log end,
    /// [`LogError::OffsetOutOfRange`] outside the log. The returned slice
    /// starts at the batch containing `offset` (a mid-batch offset returns
    /// the whole batch; the client skips the records before it). Plans and
    /// reads in one call ([`Log::plan_read`] splits the two).
    pub fn read(&self, offset: i64) -> Result<Option<FileSlice>> {
        match self.plan_read(offset)? {
            Some(plan) => plan.read_slice(|p| self.plan_next(p)),
            None => Ok(None),
        }
    }

    /// The first batch at or after the log start offset with a max
    /// timestamp >= `timestamp`, with its bytes, or None when every batch is
    /// older. (Records of that batch below the log start offset are not in
    /// the log; the caller skips them.) Plans and reads in one call
    /// ([`Log::plan_timestamp`] splits the two).
    pub fn find_batch_by_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        match self.plan_timestamp(timestamp) {
            Some(plan) => plan.read_batch(|p| self.plan_next(p)),
            None => Ok(None),
        }
    }

    /// The batch holding the largest timestamp in the log (the first one if
    /// several share it), with its bytes. Plans and reads in one call
    /// ([`Log::plan_max_timestamp`] splits the two).
    pub fn max_timestamp_batch(&self) -> Result<Option<(BatchHeader, Vec<u8>)>> {
        match self.plan_max_timestamp() {
            Some(plan) => plan.read_batch(),
            None => Ok(None),
        }
    }
}
