//! Individual records inside a RecordBatch v2, for the few paths that need
//! them: compaction, recompression and key checks on compacted topics.
//!
//! Records are parsed only as far as those paths need (offset and timestamp
//! deltas, key, value) and otherwise kept as their original bytes, so a
//! rewritten batch carries each surviving record byte for byte. Rebuilding a
//! batch keeps its base offset, last offset delta, base timestamp, producer
//! fields and base sequence (as Kafka's cleaner does for v2 batches), so
//! offsets and idempotence state are unchanged by a rewrite.
//!
//! ```text
//! record := length varint | attributes i8 | timestampDelta varlong
//!           | offsetDelta varint | keyLength varint | key
//!           | valueLength varint | value | headerCount varint | headers
//! ```

use std::borrow::Cow;

use crate::batch::{BatchHeader, CRC_START, HEADER_LEN, LOG_OVERHEAD};
use crate::codec;
use crate::error::{LogError, Result};

/// One record of a batch, borrowed from the (decompressed) records section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// The whole record, length prefix included.
    pub bytes: &'a [u8],
    /// Offset relative to the batch base offset.
    pub offset_delta: i32,
    /// Timestamp relative to the batch base timestamp.
    pub timestamp_delta: i64,
    /// Key, `None` when null.
    pub key: Option<&'a [u8]>,
    /// Value, `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

impl RawRecord<'_> {
    /// The record's offset in a batch with header `h`.
    pub fn offset(&self, h: &BatchHeader) -> i64 {
        h.base_offset + i64::from(self.offset_delta)
    }

    /// The record's timestamp in a batch with header `h` (the batch max
    /// timestamp when the batch uses LogAppendTime).
    pub fn timestamp(&self, h: &BatchHeader) -> i64 {
        if h.is_log_append_time() {
            h.max_timestamp
        } else {
            h.base_timestamp.saturating_add(self.timestamp_delta)
        }
    }
}

fn bad(what: &str) -> LogError {
    LogError::InvalidRecord(what.to_string())
}

/// Reads an unsigned LEB128 varint of at most `max_bytes` bytes.
fn read_uvarint(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32> {
    let v = read_uvarint(buf, pos, 5)?;
    let v = u32::try_from(v).map_err(|_| bad("varint out of range"))?;
    Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
}

fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64> {
    let v = read_uvarint(buf, pos, 10)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

/// Reads a varint-length-prefixed byte string (-1 = null).
fn read_nullable<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>> {
    let len = read_varint(buf, pos)?;
    if len < 0 {
        return Ok(None);
    }
    let end = pos
        .checked_add(len as usize)
        .filter(|e| *e <= buf.len())
        .ok_or_else(|| bad("field runs past the record"))?;
    let s = &buf[*pos..end];
    *pos = end;
    Ok(Some(s))
}

fn parse_one(record: &[u8], body_start: usize) -> Result<RawRecord<'_>> {
    let mut pos = body_start;
    let _attributes = *record.get(pos).ok_or_else(|| bad("truncated record"))?;
    pos += 1;
    let timestamp_delta = read_varlong(record, &mut pos)?;
    let offset_delta = read_varint(record, &mut pos)?;
    let key = read_nullable(record, &mut pos)?;
    let value = read_nullable(record, &mut pos)?;
    let headers = read_varint(record, &mut pos)?;
    if headers < 0 {
        return Err(bad("negative header count"));
    }
    for _ in 0..headers {
        let hkey = read_nullable(record, &mut pos)?;
        if hkey.is_none() {
            return Err(bad("null header key"));
        }
        read_nullable(record, &mut pos)?;
    }
    if pos != record.len() {
        return Err(bad("record length does not match its fields"));
    }
    if offset_delta < 0 {
        return Err(bad("negative offset delta"));
    }
    Ok(RawRecord {
        bytes: record,
        offset_delta,
        timestamp_delta,
        key,
        value,
    })
}

/// Parses the uncompressed records section of a batch with header `h`,
/// checking the record count and that nothing trails the last record.
pub fn parse_records<'a>(h: &BatchHeader, data: &'a [u8]) -> Result<Vec<RawRecord<'a>>> {
    let count = usize::try_from(h.records_count).map_err(|_| bad("negative record count"))?;
    // Every record takes at least 7 bytes; never trust the count for capacity.
    let mut out = Vec::with_capacity(count.min(data.len() / 7 + 1));
    let mut pos = 0usize;
    while pos < data.len() {
        let start = pos;
        let len = read_varint(data, &mut pos)?;
        if len < 0 {
            return Err(bad("negative record length"));
        }
        let end = pos
            .checked_add(len as usize)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| bad("record runs past the batch"))?;
        out.push(parse_one(&data[start..end], pos - start)?);
        pos = end;
    }
    if out.len() != count {
        return Err(LogError::InvalidRecord(format!(
            "batch declares {count} records but holds {}",
            out.len()
        )));
    }
    if out.iter().any(|r| r.offset_delta > h.last_offset_delta) {
        return Err(bad("record offset delta beyond the batch's last offset"));
    }
    Ok(out)
}

/// The uncompressed records section of the whole batch `batch`
/// (decompressed when needed, at most `cap` bytes).
pub fn records_section<'a>(h: &BatchHeader, batch: &'a [u8], cap: usize) -> Result<Cow<'a, [u8]>> {
    let payload = batch
        .get(HEADER_LEN..h.total_len())
        .ok_or(LogError::Truncated {
            needed: h.total_len(),
            available: batch.len(),
        })?;
    match h.compression() {
        codec::NONE => Ok(Cow::Borrowed(payload)),
        c => Ok(Cow::Owned(codec::decompress(c, payload, cap)?)),
    }
}

/// Builds a batch like `original` holding only `records` (a subset of its
/// records, in order), compressed with `codec`. Offsets, producer fields,
/// base sequence and base timestamp are kept; the max timestamp is
/// recomputed unless the batch uses LogAppendTime; the CRC is recomputed.
pub fn rebuild_batch(
    original: &BatchHeader,
    records: &[RawRecord<'_>],
    codec: i16,
) -> Result<Vec<u8>> {
    let mut section = Vec::with_capacity(records.iter().map(|r| r.bytes.len()).sum());
    for r in records {
        section.extend_from_slice(r.bytes);
    }
    let payload = codec::compress(codec, &section)?;
    let max_timestamp = if original.is_log_append_time() {
        original.max_timestamp
    } else {
        records
            .iter()
            .map(|r| r.timestamp(original))
            .max()
            .unwrap_or(original.max_timestamp)
    };
    let attributes = (original.attributes & !0x07) | (codec & 0x07);
    let total = HEADER_LEN + payload.len();
    let batch_length =
        i32::try_from(total - LOG_OVERHEAD).map_err(|_| bad("rebuilt batch larger than 2 GiB"))?;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&original.base_offset.to_be_bytes());
    b.extend_from_slice(&batch_length.to_be_bytes());
    b.extend_from_slice(&original.partition_leader_epoch.to_be_bytes());
    b.push(original.magic as u8);
    b.extend_from_slice(&[0u8; 4]); // CRC, filled below
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&original.last_offset_delta.to_be_bytes());
    b.extend_from_slice(&original.base_timestamp.to_be_bytes());
    b.extend_from_slice(&max_timestamp.to_be_bytes());
    b.extend_from_slice(&original.producer_id.to_be_bytes());
    b.extend_from_slice(&original.producer_epoch.to_be_bytes());
    b.extend_from_slice(&original.base_sequence.to_be_bytes());
    b.extend_from_slice(&(records.len() as i32).to_be_bytes());
    b.extend_from_slice(&payload);
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(b)
}

/// Test and tool support: encodes records into a real RecordBatch v2.
pub mod build {
    use super::*;

    fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
    }

    fn put_nullable(out: &mut Vec<u8>, v: Option<&[u8]>) {
        match v {
            None => put_varint(out, -1),
            Some(b) => {
                put_varint(out, b.len() as i64);
                out.extend_from_slice(b);
            }
        }
    }

    /// A record to encode: key, value (None = tombstone), timestamp.
    #[derive(Debug, Clone)]
    pub struct Rec {
        /// Key (None = null key).
        pub key: Option<Vec<u8>>,
        /// Value (None = tombstone).
        pub value: Option<Vec<u8>>,
        /// Absolute timestamp.
        pub timestamp: i64,
    }

    /// Encodes `records` as one batch with base offset 0 and codec `codec`,
    /// for producer `producer_id` (-1 for none) starting at `base_sequence`.
    pub fn batch(records: &[Rec], codec: i16, producer_id: i64, base_sequence: i32) -> Vec<u8> {
        let base_ts = records.first().map_or(0, |r| r.timestamp);
        let mut section = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let mut body = vec![0u8];
            put_varint(&mut body, r.timestamp - base_ts);
            put_varint(&mut body, i as i64);
            put_nullable(&mut body, r.key.as_deref());
            put_nullable(&mut body, r.value.as_deref());
            put_varint(&mut body, 0);
            put_varint(&mut section, body.len() as i64);
            section.extend_from_slice(&body);
        }
        let header = BatchHeader {
            base_offset: 0,
            batch_length: 0,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records.len() as i32 - 1,
            base_timestamp: base_ts,
            max_timestamp: base_ts,
            producer_id,
            producer_epoch: if producer_id >= 0 { 0 } else { -1 },
            base_sequence,
            records_count: records.len() as i32,
        };
        let parsed = parse_records(&header, &section).unwrap_or_default();
        rebuild_batch(&header, &parsed, codec).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::build::{batch, Rec};
    use super::*;

    fn rec(k: &str, v: Option<&str>, ts: i64) -> Rec {
        Rec {
            key: Some(k.as_bytes().to_vec()),
            value: v.map(|v| v.as_bytes().to_vec()),
            timestamp: ts,
        }
    }

    #[test]
    fn parse_and_rebuild_subset_keeps_offsets_and_crc() {
        for c in [
            codec::NONE,
            codec::GZIP,
            codec::SNAPPY,
            codec::LZ4,
            codec::ZSTD,
        ] {
            let b = batch(
                &[
                    rec("a", Some("1"), 100),
                    rec("b", None, 105),
                    rec("a", Some("2"), 103),
                ],
                c,
                7,
                10,
            );
            let h = BatchHeader::validate(&b).expect("valid batch");
            assert_eq!(h.compression(), c);
            assert_eq!(h.max_timestamp, 105);
            let section = records_section(&h, &b, 1 << 20).expect("section");
            let recs = parse_records(&h, &section).expect("records");
            assert_eq!(recs.len(), 3);
            assert_eq!(recs[1].key, Some(&b"b"[..]));
            assert_eq!(recs[1].value, None);
            assert_eq!(recs[2].offset(&h), 2);
            let kept = [recs[0], recs[2]];
            let nb = rebuild_batch(&h, &kept, codec::ZSTD).expect("rebuild");
            let nh = BatchHeader::validate(&nb).expect("rebuilt batch valid");
            assert_eq!(nh.records_count, 2);
            assert_eq!(nh.last_offset_delta, 2);
            assert_eq!(nh.base_sequence, 10);
            assert_eq!(nh.max_timestamp, 103);
            assert_eq!(nh.compression(), codec::ZSTD);
            let ns = records_section(&nh, &nb, 1 << 20).expect("section");
            let nr = parse_records(&nh, &ns).expect("records");
            assert_eq!(nr[1].offset(&nh), 2);
            assert_eq!(nr[1].value, Some(&b"2"[..]));
            assert_eq!(nr[1].timestamp(&nh), 103);
        }
    }

    #[test]
    fn malformed_records_are_errors() {
        let b = batch(&[rec("a", Some("1"), 1)], codec::NONE, -1, -1);
        let h = BatchHeader::validate(&b).expect("valid");
        let section = &b[HEADER_LEN..];
        for cut in 0..section.len() {
            assert!(parse_records(&h, &section[..cut]).is_err(), "cut {cut}");
        }
        let mut more = section.to_vec();
        more.extend_from_slice(section);
        assert!(parse_records(&h, &more).is_err(), "count mismatch");
    }
}
