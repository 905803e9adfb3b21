//! Test helpers shared by the log's integration tests: raw RecordBatch v2
//! builders (opaque record payloads: the log never looks inside data
//! batches) and whole-log readers. Not a record encoder; tests that need
//! real records use `memorystreamer_log::records::build`.
#![allow(dead_code)]

use memorystreamer_log::batch::{Batches, CRC_START, HEADER_LEN, LOG_OVERHEAD};
use memorystreamer_log::Log;

/// A valid RecordBatch v2 with `count` opaque record payloads, timestamps
/// `ts`, for producer `pid` (epoch 0; -1 and no epoch for none) starting at
/// sequence `seq`.
pub fn batch(count: i32, payload: &[u8], ts: i64, pid: i64, seq: i32) -> Vec<u8> {
    let mut b = vec![0u8; HEADER_LEN];
    b[16] = 2;
    b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
    b[27..35].copy_from_slice(&ts.to_be_bytes());
    b[35..43].copy_from_slice(&ts.to_be_bytes());
    b[43..51].copy_from_slice(&pid.to_be_bytes());
    b[51..53].copy_from_slice(&(if pid >= 0 { 0i16 } else { -1 }).to_be_bytes());
    b[53..57].copy_from_slice(&seq.to_be_bytes());
    b[57..61].copy_from_slice(&count.to_be_bytes());
    for _ in 0..count {
        b.extend_from_slice(payload);
    }
    let len = (b.len() - LOG_OVERHEAD) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    reseal(&mut b);
    b
}

/// A batch without a producer id (a plain producer's).
pub fn plain(count: i32, payload: &[u8], ts: i64) -> Vec<u8> {
    batch(count, payload, ts, -1, -1)
}

/// Marks `b` transactional with producer epoch `epoch` and recomputes its
/// CRC.
pub fn transactional(mut b: Vec<u8>, epoch: i16) -> Vec<u8> {
    let attrs = i16::from_be_bytes([b[21], b[22]]) | 0x10;
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    reseal(&mut b);
    b
}

/// Recomputes the CRC32C of the single batch in `b`.
pub fn reseal(b: &mut [u8]) {
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Every batch byte of `log` from `from` to its end, following segments.
pub fn read_from(log: &Log, from: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offset = from;
    while let Some(slice) = log.read(offset).expect("read") {
        let bytes = slice.read_batches(1 << 20, true).expect("read batches");
        let Some(last) = Batches::new(&bytes).last() else {
            break;
        };
        let (h, _) = last.expect("whole batches");
        out.extend_from_slice(&bytes);
        offset = h.last_offset() + 1;
    }
    out
}

/// Every batch byte of `log`.
pub fn read_all(log: &Log) -> Vec<u8> {
    read_from(log, log.log_start_offset())
}

/// Base offsets of the batches in `bytes`.
pub fn bases(bytes: &[u8]) -> Vec<i64> {
    Batches::new(bytes)
        .map(|b| b.expect("whole batches").0.base_offset)
        .collect()
}
