//! Individual records inside a RecordBatch v2: produce validation (every
//! record of every produced batch is walked, as Kafka's log validator does),
//! key checks on compacted topics, ListOffsets by timestamp, compaction and
//! recompression.
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
use crate::codec::{self, CappedReader};
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
    walk_section(data, count, |_, r| {
        out.push(r);
        Ok(())
    })?;
    if out.iter().any(|r| r.offset_delta > h.last_offset_delta) {
        return Err(bad("record offset delta beyond the batch's last offset"));
    }
    Ok(out)
}

/// Walks the uncompressed records section `data` in place, expecting
/// exactly `count` records and nothing after them.
fn walk_section<'a>(
    data: &'a [u8],
    count: usize,
    mut visit: impl FnMut(usize, RawRecord<'a>) -> Result<()>,
) -> Result<usize> {
    let mut pos = 0usize;
    let mut n = 0usize;
    while pos < data.len() {
        if n == count {
            return Err(LogError::InvalidRecord(format!(
                "batch declares {count} records but holds more"
            )));
        }
        let start = pos;
        let len = read_varint(data, &mut pos)?;
        if len < 0 {
            return Err(bad("negative record length"));
        }
        let end = pos
            .checked_add(len as usize)
            .filter(|e| *e <= data.len())
            .ok_or_else(|| bad("record runs past the batch"))?;
        visit(n, parse_one(&data[start..end], pos - start)?)?;
        n += 1;
        pos = end;
    }
    if n != count {
        return Err(LogError::InvalidRecord(format!(
            "batch declares {count} records but holds {n}"
        )));
    }
    Ok(n)
}

/// Reads a record's length prefix (a zigzag varint of at most 5 bytes) from
/// a decompressing reader into `prefix`; `Ok(None)` at the end of the data.
fn read_length_prefix(reader: &mut CappedReader<'_>, prefix: &mut Vec<u8>) -> Result<Option<i32>> {
    prefix.clear();
    let mut byte = [0u8; 1];
    loop {
        if !reader.fill(&mut byte)? {
            return if prefix.is_empty() {
                Ok(None)
            } else {
                Err(bad("truncated varint"))
            };
        }
        prefix.push(byte[0]);
        if byte[0] & 0x80 == 0 {
            let mut pos = 0;
            return read_varint(prefix, &mut pos).map(Some);
        }
        if prefix.len() == 5 {
            return Err(bad("varint too long"));
        }
    }
}

/// Chunk in which a compressed record's bytes are read, so that a declared
/// record length is never allocated before the bytes are there.
const READ_CHUNK: usize = 64 * 1024;

/// Visits every record of the whole batch `batch` (header `h`) in order,
/// checking each record's structure, that the batch holds exactly
/// `records_count` records and that nothing follows the last one.
///
/// Nothing proportional to a declared count or length is allocated:
/// uncompressed records are read in place; compressed ones stream through
/// a [`CappedReader`] (at most `cap` decompressed bytes in total), one
/// record at a time into a scratch buffer grown as bytes arrive. This is
/// the decoder for untrusted batches (produce validation, ListOffsets by
/// timestamp); [`parse_records`] is for batches whose section is already
/// in memory. Returns the number of records.
pub fn for_each_record(
    h: &BatchHeader,
    batch: &[u8],
    cap: usize,
    mut visit: impl FnMut(usize, &RawRecord<'_>) -> Result<()>,
) -> Result<usize> {
    let count = usize::try_from(h.records_count).map_err(|_| bad("negative record count"))?;
    let payload = batch
        .get(HEADER_LEN..h.total_len())
        .ok_or(LogError::Truncated {
            needed: h.total_len(),
            available: batch.len(),
        })?;
    let too_many =
        || LogError::InvalidRecord(format!("batch declares {count} records but holds more"));
    let too_few =
        |n: usize| LogError::InvalidRecord(format!("batch declares {count} records but holds {n}"));
    if h.compression() == codec::NONE {
        return walk_section(payload, count, |i, r| visit(i, &r));
    }
    let mut reader = CappedReader::new(h.compression(), payload, cap)?;
    let mut scratch = Vec::new();
    for n in 0..count {
        let Some(len) = read_length_prefix(&mut reader, &mut scratch)? else {
            return Err(too_few(n));
        };
        let len = usize::try_from(len).map_err(|_| bad("negative record length"))?;
        let body_start = scratch.len();
        let end = body_start
            .checked_add(len)
            .filter(|_| len <= cap)
            .ok_or_else(|| bad("record longer than the batch may decompress to"))?;
        while scratch.len() < end {
            let from = scratch.len();
            let to = end.min(from + READ_CHUNK);
            scratch.resize(to, 0);
            if !reader.fill(&mut scratch[from..to])? {
                return Err(bad("record runs past the batch"));
            }
        }
        let record = parse_one(&scratch, body_start)?;
        visit(n, &record)?;
    }
    if !reader.at_end()? {
        return Err(too_many());
    }
    Ok(count)
}

/// Kafka's log-validator checks on a batch a client produced (DESIGN §2),
/// after the header and CRC were checked: `records_count` equals
/// `last_offset_delta + 1` and is positive, every record is well formed and
/// has the offset delta of its position, and the batch holds exactly
/// `records_count` records and nothing after them (for compressed batches,
/// after a streaming decompression capped at `cap` bytes).
///
/// Returns the positions of the records that have no key (a compacted topic
/// refuses those, naming each one, KIP-467).
pub fn validate_produced(h: &BatchHeader, batch: &[u8], cap: usize) -> Result<Vec<i32>> {
    if h.records_count <= 0 || i64::from(h.records_count) != i64::from(h.last_offset_delta) + 1 {
        return Err(LogError::InvalidRecord(format!(
            "inconsistent batch: {} records but last offset delta {}",
            h.records_count, h.last_offset_delta
        )));
    }
    let mut keyless = Vec::new();
    for_each_record(h, batch, cap, |i, r| {
        if r.offset_delta as usize != i {
            return Err(LogError::InvalidRecord(format!(
                "record {i} has offset delta {}",
                r.offset_delta
            )));
        }
        if r.key.is_none() {
            keyless.push(i as i32);
        }
        Ok(())
    })?;
    Ok(keyless)
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

    /// A batch rebuilt with its header fields replaced and its CRC fixed, the
    /// way a hostile client would craft one.
    fn forge(
        b: &[u8],
        count: Option<i32>,
        last_delta: Option<i32>,
        payload: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let mut out = b[..HEADER_LEN].to_vec();
        match payload {
            Some(p) => out.extend_from_slice(&p),
            None => out.extend_from_slice(&b[HEADER_LEN..]),
        }
        let len = (out.len() - LOG_OVERHEAD) as i32;
        out[8..12].copy_from_slice(&len.to_be_bytes());
        if let Some(c) = count {
            out[57..61].copy_from_slice(&c.to_be_bytes());
        }
        if let Some(d) = last_delta {
            out[23..27].copy_from_slice(&d.to_be_bytes());
        }
        let crc = crc32c::crc32c(&out[CRC_START..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn three(c: i16) -> Vec<u8> {
        batch(
            &[
                rec("a", Some("1"), 1),
                rec("b", Some("2"), 2),
                Rec {
                    key: None,
                    value: Some(b"v".to_vec()),
                    timestamp: 3,
                },
            ],
            c,
            -1,
            -1,
        )
    }

    #[test]
    fn produced_batches_validate_and_report_keyless_records() {
        for c in [
            codec::NONE,
            codec::GZIP,
            codec::SNAPPY,
            codec::LZ4,
            codec::ZSTD,
        ] {
            let b = three(c);
            let h = BatchHeader::validate(&b).expect("valid");
            assert_eq!(
                validate_produced(&h, &b, 1 << 20)
                    .unwrap_or_else(|e| panic!("{}: {e}", codec::name(c))),
                vec![2]
            );
        }
    }

    #[test]
    fn lying_counts_are_refused_without_allocating_for_them() {
        for c in [
            codec::NONE,
            codec::GZIP,
            codec::SNAPPY,
            codec::LZ4,
            codec::ZSTD,
        ] {
            let b = three(c);
            for (count, delta) in [(i32::MAX, i32::MAX - 1), (2, 2), (4, 3), (0, -1), (-5, 2)] {
                let f = forge(&b, Some(count), Some(delta), None);
                let h = BatchHeader::parse(&f).expect("header");
                let e = validate_produced(&h, &f, 1 << 20).expect_err("lying count");
                assert!(
                    matches!(e, LogError::InvalidRecord(_)),
                    "{}: {e}",
                    codec::name(c)
                );
            }
        }
    }

    #[test]
    fn garbage_records_trailing_bytes_and_bad_deltas_are_refused() {
        let b = three(codec::NONE);
        let section = b[HEADER_LEN..].to_vec();
        let mut trailing = section.clone();
        trailing.extend_from_slice(&[0, 0, 0]);
        let mut garbage = section.clone();
        garbage[1] = 0x7f; // attributes stay, timestamp delta becomes huge varint start
        garbage[3..9].copy_from_slice(&[0xff; 6]);
        for (name, payload) in [("trailing", trailing), ("garbage", garbage)] {
            let f = forge(&b, None, None, Some(payload));
            let h = BatchHeader::validate(&f).expect("crc fixed");
            assert!(validate_produced(&h, &f, 1 << 20).is_err(), "{name}");
        }
        // Offset deltas 0, 0, 1 instead of 0, 1, 2.
        let recs =
            parse_records(&BatchHeader::validate(&b).expect("valid"), &section).expect("records");
        let mut bad_delta = Vec::new();
        for (i, r) in recs.iter().enumerate() {
            let mut bytes = r.bytes.to_vec();
            // body: len varint (1 byte), attributes, ts delta (1 byte), offset delta
            bytes[3] = (i.saturating_sub(1) as u8) << 1;
            bad_delta.extend_from_slice(&bytes);
        }
        let f = forge(&b, None, None, Some(bad_delta));
        let h = BatchHeader::validate(&f).expect("crc fixed");
        let e = validate_produced(&h, &f, 1 << 20).expect_err("bad deltas");
        assert!(e.to_string().contains("offset delta"), "{e}");
    }

    #[test]
    fn undecodable_and_oversized_compressed_sections_are_refused() {
        let b = three(codec::GZIP);
        let f = forge(&b, None, None, Some(b"definitely not gzip".to_vec()));
        let h = BatchHeader::validate(&f).expect("crc fixed");
        assert!(matches!(
            validate_produced(&h, &f, 1 << 20),
            Err(LogError::Codec(_))
        ));
        // A record whose declared length is far beyond the cap.
        let mut section = Vec::new();
        build_put_len(&mut section, 1 << 30);
        section.extend_from_slice(&[0u8; 16]);
        for c in [codec::GZIP, codec::ZSTD, codec::LZ4, codec::SNAPPY] {
            let payload = codec::compress(c, &section).expect("compress");
            let f = forge(&three(c), Some(1), Some(0), Some(payload));
            let h = BatchHeader::validate(&f).expect("crc fixed");
            assert!(
                validate_produced(&h, &f, 1 << 20).is_err(),
                "{}",
                codec::name(c)
            );
        }
        // A small batch that decompresses past the cap.
        let big: Vec<u8> = vec![0u8; 4 << 20];
        for c in [codec::GZIP, codec::ZSTD, codec::LZ4, codec::SNAPPY] {
            let payload = codec::compress(c, &big).expect("compress");
            let f = forge(&three(c), None, None, Some(payload));
            let h = BatchHeader::validate(&f).expect("crc fixed");
            assert!(
                validate_produced(&h, &f, 1 << 20).is_err(),
                "{}",
                codec::name(c)
            );
        }
    }

    fn build_put_len(out: &mut Vec<u8>, v: i64) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        while u >= 0x80 {
            out.push((u as u8) | 0x80);
            u >>= 7;
        }
        out.push(u as u8);
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
