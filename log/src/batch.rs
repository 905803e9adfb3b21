//! RecordBatch v2 headers: the only part of a batch the broker ever parses.
//!
//! This module reads and patches the fixed 61-byte header that starts every
//! RecordBatch (Kafka message format v2). It never decodes the records inside a
//! batch: the hot path validates the header and the CRC and stores the
//! producer's bytes unchanged, apart from the base offset and the partition
//! leader epoch, which sit *before* the CRC-covered region.
//!
//! It is not a record decoder; code that needs individual records (produce
//! validation, ListOffsets by timestamp, compaction) uses [`crate::records`].
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset               (assigned by the broker)
//!      8     4  batchLength              (bytes after this field)
//!     12     4  partitionLeaderEpoch     (assigned by the broker)
//!     16     1  magic                    (must be 2)
//!     17     4  crc                      (CRC32C of bytes 21..end)
//!     21     2  attributes
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  recordsCount
//!     61     …  records
//! ```

use crate::error::LogError;

/// Size of the RecordBatch v2 header in bytes.
pub const HEADER_LEN: usize = 61;
/// Bytes that precede `batchLength`'s counted region (baseOffset + batchLength).
pub const LOG_OVERHEAD: usize = 12;
/// Offset of the magic byte.
pub const MAGIC_OFFSET: usize = 16;
/// The only message format version this broker stores.
pub const CURRENT_MAGIC: i8 = 2;
/// Where the CRC-covered region starts (the attributes field).
pub const CRC_START: usize = 21;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// The parsed header of one RecordBatch v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Length of the batch after the `batchLength` field.
    pub batch_length: i32,
    /// Leader epoch of the partition when the batch was appended.
    pub partition_leader_epoch: i32,
    /// Message format version; always 2 for a header that parsed.
    pub magic: i8,
    /// CRC32C stored in the header.
    pub crc: u32,
    /// Attribute bits (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id, or -1 for a non-idempotent producer.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Parses the header at the start of `buf`.
    ///
    /// Checks only what the header alone can tell: enough bytes for a header,
    /// magic 2, and a `batchLength` that covers at least the header. It does
    /// not check that the whole batch is present nor the CRC; see
    /// [`BatchHeader::validate`] for that.
    pub fn parse(buf: &[u8]) -> Result<Self, LogError> {
        if buf.len() < LOG_OVERHEAD + 5 {
            return Err(LogError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let magic = buf[MAGIC_OFFSET] as i8;
        if magic != CURRENT_MAGIC {
            return Err(LogError::UnsupportedMagic(magic));
        }
        if buf.len() < HEADER_LEN {
            return Err(LogError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let batch_length = i32_at(buf, 8);
        if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(LogError::InvalidLength(batch_length));
        }
        Ok(BatchHeader {
            base_offset: i64_at(buf, 0),
            batch_length,
            partition_leader_epoch: i32_at(buf, 12),
            magic,
            crc: u32::from_be_bytes([buf[17], buf[18], buf[19], buf[20]]),
            attributes: i16_at(buf, 21),
            last_offset_delta: i32_at(buf, 23),
            base_timestamp: i64_at(buf, 27),
            max_timestamp: i64_at(buf, 35),
            producer_id: i64_at(buf, 43),
            producer_epoch: i16_at(buf, 51),
            base_sequence: i32_at(buf, 53),
            records_count: i32_at(buf, 57),
        })
    }

    /// Parses the header and checks the whole batch in `buf` (which must hold
    /// exactly this batch or more): length present, CRC32C, record count
    /// consistent with `lastOffsetDelta`.
    pub fn validate(buf: &[u8]) -> Result<Self, LogError> {
        let h = Self::parse(buf)?;
        let total = h.total_len();
        if buf.len() < total {
            return Err(LogError::Truncated {
                needed: total,
                available: buf.len(),
            });
        }
        let computed = crc32c::crc32c(&buf[CRC_START..total]);
        if computed != h.crc {
            return Err(LogError::CrcMismatch {
                stored: h.crc,
                computed,
            });
        }
        if h.records_count < 0 || h.last_offset_delta < 0 {
            return Err(LogError::InvalidRecordCount(h.records_count));
        }
        // Producers always send lastOffsetDelta = count - 1; compaction may
        // later leave fewer records than the delta covers, never more.
        if !h.is_control() && h.records_count == 0 {
            return Err(LogError::InvalidRecordCount(0));
        }
        if h.records_count > h.last_offset_delta.saturating_add(1) {
            return Err(LogError::InvalidRecordCount(h.records_count));
        }
        Ok(h)
    }

    /// Total size of the batch in bytes, header included.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }

    /// True when timestamps are LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }

    /// True for batches written inside a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// True for control batches (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// True when the batch carries a producer id (idempotent producer).
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence number of the last record, wrapping at `i32::MAX` like Kafka.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }
}

/// Writes the base offset and partition leader epoch into the header of the
/// batch at the start of `buf`. Neither field is covered by the CRC, so the
/// batch stays valid.
pub fn assign_offset(buf: &mut [u8], base_offset: i64, leader_epoch: i32) {
    buf[0..8].copy_from_slice(&base_offset.to_be_bytes());
    buf[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// Marks the batch at the start of `buf` as LogAppendTime with `timestamp`
/// as its max timestamp and recomputes the CRC (what Kafka does for v2
/// batches of a LogAppendTime topic: the records' own timestamps stay, and
/// consumers use the batch max timestamp for every record).
pub fn set_log_append_time(buf: &mut [u8], timestamp: i64) {
    let attributes = i16_at(buf, 21) | TIMESTAMP_TYPE_BIT;
    buf[21..23].copy_from_slice(&attributes.to_be_bytes());
    buf[35..43].copy_from_slice(&timestamp.to_be_bytes());
    let end = (LOG_OVERHEAD + i32_at(buf, 8).max(0) as usize).min(buf.len());
    let crc = crc32c::crc32c(&buf[CRC_START..end]);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Iterates over the batches stored back to back in a buffer, yielding each
/// batch's header and its byte range. Stops at the first incomplete batch
/// (a trailing partial batch is not an error for a reader: fetch responses
/// may end in one). A malformed header ends iteration with an error.
pub struct Batches<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Batches<'a> {
    /// Iterates over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Batches { buf, pos: 0 }
    }

    /// Bytes consumed by the complete batches yielded so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<(BatchHeader, std::ops::Range<usize>), LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.pos..];
        if rest.len() < HEADER_LEN {
            return None;
        }
        match BatchHeader::parse(rest) {
            Ok(h) => {
                let len = h.total_len();
                if rest.len() < len {
                    return None;
                }
                let start = self.pos;
                self.pos += len;
                Some(Ok((h, start..start + len)))
            }
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a syntactically valid batch with `count` opaque "records" of
    /// `payload` bytes each. The records are not real Kafka records; the log
    /// never looks inside them.
    pub fn make_batch(count: i32, payload: &[u8], max_ts: i64, pid: i64, seq: i32) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[MAGIC_OFFSET] = 2;
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[27..35].copy_from_slice(&max_ts.to_be_bytes());
        b[35..43].copy_from_slice(&max_ts.to_be_bytes());
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        let epoch: i16 = if pid >= 0 { 0 } else { -1 };
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&seq.to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        for _ in 0..count {
            b.extend_from_slice(payload);
        }
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn parse_round_trip_and_assign() {
        let mut b = make_batch(3, b"abc", 1000, 7, 5);
        let h = BatchHeader::validate(&b).expect("valid");
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.producer_id, 7);
        assert_eq!(h.last_sequence(), 7);
        assign_offset(&mut b, 42, 3);
        let h2 = BatchHeader::validate(&b).expect("still valid after offset assignment");
        assert_eq!(h2.base_offset, 42);
        assert_eq!(h2.partition_leader_epoch, 3);
        assert_eq!(h2.last_offset(), 44);
    }

    #[test]
    fn every_truncated_prefix_is_rejected() {
        let b = make_batch(2, b"hello", 1, -1, -1);
        for cut in 0..b.len() {
            assert!(
                BatchHeader::validate(&b[..cut]).is_err(),
                "prefix {cut} accepted"
            );
        }
    }

    #[test]
    fn bad_crc_and_magic_rejected() {
        let mut b = make_batch(1, b"x", 1, -1, -1);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(
            BatchHeader::validate(&b),
            Err(LogError::CrcMismatch { .. })
        ));
        let mut b = make_batch(1, b"x", 1, -1, -1);
        b[MAGIC_OFFSET] = 1;
        assert!(matches!(
            BatchHeader::validate(&b),
            Err(LogError::UnsupportedMagic(1))
        ));
    }

    #[test]
    fn sequence_wraps() {
        let mut b = make_batch(3, b"a", 1, 1, i32::MAX - 1);
        let h = BatchHeader::validate(&b).expect("valid");
        assert_eq!(h.last_sequence(), 0);
        b.truncate(HEADER_LEN);
    }

    #[test]
    fn batches_iterator_stops_at_partial() {
        let mut buf = make_batch(1, b"a", 1, -1, -1);
        buf.extend(make_batch(2, b"b", 2, -1, -1));
        let full = buf.len();
        buf.extend(&make_batch(1, b"c", 3, -1, -1)[..20]);
        let mut it = Batches::new(&buf);
        assert!(it.next().is_some());
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert_eq!(it.position(), full);
    }
}
