//! Transaction bookkeeping of one partition log: control records
//! (commit/abort markers), the aborted-transaction index and its
//! `.txnindex` files.
//!
//! A transactional producer's records become visible to `read_committed`
//! consumers when the transaction coordinator writes a COMMIT control batch
//! to the partition, and are hidden for good by an ABORT one. For every
//! aborted transaction the log keeps an entry (producer id, first offset,
//! marker offset, last stable offset at the time) so a `read_committed`
//! Fetch can tell the client which producers' records to drop, and the
//! first offset of every open transaction bounds the last stable offset
//! (LSO) that such a consumer may read up to.
//!
//! Entries live in memory (aborts are rare) and on disk in Kafka's layout:
//! one `<base offset>.txnindex` per segment, holding the entries whose
//! marker lies in that segment, 34 bytes each:
//!
//! ```text
//! version:i16 (=0) producer_id:i64 first_offset:i64 last_offset:i64 last_stable_offset:i64
//! ```
//!
//! Not here: the transaction coordinator (the broker's `txn` module), the
//! producer-side state (in [`crate::producer_state`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::batch::BatchHeader;
use crate::error::{LogError, Result};
use crate::records::{parse_records, records_section};

/// Size of one `.txnindex` entry.
pub const ENTRY_LEN: usize = 34;

/// What a control batch says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// The transaction is aborted (type 0).
    Abort,
    /// The transaction is committed (type 1).
    Commit,
}

/// One aborted transaction of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// Producer id of the transaction.
    pub producer_id: i64,
    /// Offset of the transaction's first record in this partition.
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset when the marker was written.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    /// The entry's bytes in the `.txnindex` layout.
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0..2].copy_from_slice(&0i16.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    /// Every whole entry of a `.txnindex` file's contents; a torn last
    /// entry is ignored, an unknown version is an error.
    pub fn decode_all(buf: &[u8], path: &Path) -> Result<Vec<AbortedTxn>> {
        let mut out = Vec::with_capacity(buf.len() / ENTRY_LEN);
        for e in buf.chunks_exact(ENTRY_LEN) {
            let i64_at = |at: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&e[at..at + 8]);
                i64::from_be_bytes(a)
            };
            if i16::from_be_bytes([e[0], e[1]]) != 0 {
                return Err(LogError::Corrupt {
                    path: path.display().to_string(),
                    reason: String::from("unknown transaction index entry version"),
                });
            }
            out.push(AbortedTxn {
                producer_id: i64_at(2),
                first_offset: i64_at(10),
                last_offset: i64_at(18),
                last_stable_offset: i64_at(26),
            });
        }
        Ok(out)
    }
}

/// The `.txnindex` path of the segment at `base` in `dir`.
pub fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{}.txnindex", crate::segment::file_stem(base)))
}

/// Reads the entries of the segment at `base` (none when no file exists).
pub fn read_index(dir: &Path, base: i64) -> Result<Vec<AbortedTxn>> {
    let path = index_path(dir, base);
    match fs::read(&path) {
        Ok(buf) => AbortedTxn::decode_all(&buf, &path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// Appends one entry to the segment's `.txnindex` (made durable with the
/// segment: at roll, and rebuilt from the log for the unsnapshotted tail).
pub fn append_index(dir: &Path, base: i64, entry: &AbortedTxn) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(index_path(dir, base))?;
    f.write_all(&entry.encode())?;
    Ok(())
}

/// Replaces the segment's `.txnindex` with `entries` (removing it when
/// empty), atomically.
pub fn write_index(dir: &Path, base: i64, entries: &[AbortedTxn]) -> Result<()> {
    let path = index_path(dir, base);
    if entries.is_empty() {
        return match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        };
    }
    let mut buf = Vec::with_capacity(entries.len() * ENTRY_LEN);
    for e in entries {
        buf.extend_from_slice(&e.encode());
    }
    // Replaced whole: written aside, made durable, renamed over.
    let tmp = path.with_extension("txnindex.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&buf)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    Ok(())
}

/// fsyncs the segment's `.txnindex` when it exists.
pub fn sync_index(dir: &Path, base: i64) -> Result<()> {
    match fs::File::open(index_path(dir, base)) {
        Ok(f) => Ok(f.sync_all()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The type of a control batch, read from its first record's key
/// (`version:i16 type:i16`), with the coordinator epoch of a transaction
/// marker (its value, `version:i16 coordinator_epoch:i32`; -1 when the value
/// is too short to hold one). Unknown types (Kafka reserves others for
/// KRaft) are None.
pub fn control_type(h: &BatchHeader, batch: &[u8]) -> Result<Option<(ControlType, i32)>> {
    let section = records_section(h, batch, 1 << 20)?;
    let records = parse_records(h, &section)?;
    let Some(key) = records.first().and_then(|r| r.key) else {
        return Err(LogError::InvalidBatchLayout("control record without a key"));
    };
    if key.len() < 4 {
        return Err(LogError::InvalidBatchLayout("control record key too short"));
    }
    let coordinator_epoch = records
        .first()
        .and_then(|r| r.value)
        .and_then(|v| v.get(2..6))
        .map_or(-1, |e| i32::from_be_bytes([e[0], e[1], e[2], e[3]]));
    Ok(match i16::from_be_bytes([key[2], key[3]]) {
        0 => Some((ControlType::Abort, coordinator_epoch)),
        1 => Some((ControlType::Commit, coordinator_epoch)),
        _ => None,
    })
}

/// Builds a control batch (one record) for `producer_id`/`epoch`: offsets
/// are assigned by the log on append. `coordinator_epoch` goes into the
/// record value as Kafka's `EndTransactionMarker` does.
pub fn marker_batch(
    producer_id: i64,
    epoch: i16,
    kind: ControlType,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(
        &match kind {
            ControlType::Abort => 0i16,
            ControlType::Commit => 1i16,
        }
        .to_be_bytes(),
    );
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    // One record: attributes, timestamp delta, offset delta, key, value, no headers.
    let mut rec = Vec::with_capacity(24);
    rec.push(0u8);
    put_varint(&mut rec, 0);
    put_varint(&mut rec, 0);
    put_varint(&mut rec, key.len() as i64);
    rec.extend_from_slice(&key);
    put_varint(&mut rec, value.len() as i64);
    rec.extend_from_slice(&value);
    put_varint(&mut rec, 0);
    let mut records = Vec::with_capacity(rec.len() + 2);
    put_varint(&mut records, rec.len() as i64);
    records.extend_from_slice(&rec);

    let mut b = Vec::with_capacity(61 + records.len());
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    let batch_len = (49 + records.len()) as i32;
    b.extend_from_slice(&batch_len.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    b.push(2); // magic
    b.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
    let attributes: i16 = 0x10 | 0x20; // transactional + control
    b.extend_from_slice(&attributes.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&producer_id.to_be_bytes());
    b.extend_from_slice(&epoch.to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&1i32.to_be_bytes()); // records count
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[crate::batch::CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_batches_parse_back() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let b = marker_batch(42, 3, kind, 7, 1_000);
            let h = BatchHeader::validate(&b).expect("valid batch");
            assert!(h.is_control() && h.is_transactional());
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.records_count),
                (42, 3, 1)
            );
            assert_eq!(control_type(&h, &b).expect("parses"), Some((kind, 7)));
        }
    }

    #[test]
    fn index_entries_round_trip_and_ignore_a_torn_tail() {
        let e = AbortedTxn {
            producer_id: 9,
            first_offset: 10,
            last_offset: 20,
            last_stable_offset: 10,
        };
        let mut buf = e.encode().to_vec();
        buf.extend_from_slice(&e.encode()[..10]);
        let back = AbortedTxn::decode_all(&buf, Path::new("x")).expect("decodes");
        assert_eq!(back, vec![e]);
        buf[0] = 1;
        assert!(AbortedTxn::decode_all(&buf, Path::new("x")).is_err());
    }
}
