//! Byte-level mutations of valid requests, aimed at what decoders trust:
//! lengths and counts (set to huge, negative or off-by-one values), varints
//! (overlong, unterminated), nullable markers (-1 / compact 0), truncation,
//! appended junk, and RecordBatch headers with the CRC fixed up afterwards
//! so that validation gets past the checksum into the record walk.

use super::rng::Rng;

/// Interesting 32-bit values for lengths, counts and sizes.
const I32S: &[i32] = &[
    0,
    1,
    -1,
    -2,
    2,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x10_0000,
    0x7fff_ffff,
    i32::MIN,
    0x4000_0000,
    16_388,
];

/// Interesting 16-bit values (string lengths, nullable markers, versions).
const I16S: &[i16] = &[0, 1, -1, -2, 0x7f, 0x80, 0x7fff, i16::MIN, 0x100];

/// Interesting varint byte sequences (compact lengths, tagged-field counts).
const VARINTS: &[&[u8]] = &[
    &[0x00],                                                       // compact null / zero
    &[0x01],                                                       // compact empty
    &[0xff, 0xff, 0xff, 0xff, 0x0f],                               // u32::MAX
    &[0xff, 0xff, 0xff, 0xff, 0x07],                               // i32::MAX
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01],                         // overlong
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // 10-byte varint
    &[0x80],                                                       // unterminated (at the end)
    &[0xfe, 0xff, 0xff, 0xff, 0x0f],                               // huge zigzag
];

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = buf.get_mut(at + i) {
            *slot = *b;
        }
    }
}

/// Applies 1–3 random mutations to `input`. The first `keep` bytes (the API
/// key and version) are left alone most of the time so that the body
/// decoder of the intended API is reached.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, keep: usize) {
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        let from = if rng.chance(90) {
            keep.min(input.len())
        } else {
            0
        };
        let span = input.len().saturating_sub(from).max(1);
        let at = from + rng.below(span);
        match rng.below(12) {
            0 => {
                // Bit flips.
                for _ in 0..1 + rng.below(4) {
                    let at = from + rng.below(span);
                    if let Some(b) = input.get_mut(at) {
                        *b ^= 1 << rng.below(8);
                    }
                }
            }
            1 | 2 => {
                let v = if rng.chance(80) {
                    rng.pick(I32S)
                } else {
                    rng.next_u64() as i32
                };
                put(input, at, &v.to_be_bytes());
            }
            3 => put(input, at, &rng.pick(I16S).to_be_bytes()),
            4 => {
                // Replace one byte with a varint sequence (shifting the rest).
                let v = rng.pick(VARINTS);
                if at < input.len() {
                    input.splice(at..at + 1, v.iter().copied());
                } else {
                    input.extend_from_slice(v);
                }
            }
            5 => put(input, at, rng.pick(VARINTS)),
            6 => input.truncate(at),
            7 => {
                let junk = rng.some_bytes(1, 32);
                input.extend_from_slice(&junk);
            }
            8 => {
                // Delete a range.
                let len = 1 + rng.below(8);
                let end = (at + len).min(input.len());
                if at < end {
                    input.drain(at..end);
                }
            }
            9 => {
                // Duplicate a range in place (repeats a struct or element).
                let len = 1 + rng.below(16);
                let end = (at + len).min(input.len());
                if at < end {
                    let copy: Vec<u8> = input[at..end].to_vec();
                    input.splice(at..at, copy);
                }
            }
            10 => put(input, at, &[rng.pick(&[0x00, 0xff, 0x80, 0x7f, 0x01])]),
            _ => put(
                input,
                at,
                &rng.pick(&[0i64, -1, i64::MAX, i64::MIN]).to_be_bytes(),
            ),
        }
    }
}

/// Byte offsets in a RecordBatch v2 header.
mod at {
    pub const BATCH_LENGTH: usize = 8;
    pub const MAGIC: usize = 16;
    pub const CRC: usize = 17;
    pub const ATTRIBUTES: usize = 21;
    pub const LAST_OFFSET_DELTA: usize = 23;
    pub const FIRST_TIMESTAMP: usize = 27;
    pub const PRODUCER_ID: usize = 43;
    pub const RECORDS_COUNT: usize = 57;
    pub const RECORDS: usize = 61;
}

/// Recomputes the batch length and the CRC32C (attributes..end) of a
/// RecordBatch v2 held in `batch`.
pub fn fix_batch(batch: &mut [u8], fix_length: bool) {
    if batch.len() < at::RECORDS {
        return;
    }
    if fix_length {
        let len = (batch.len() - 12) as i32;
        batch[at::BATCH_LENGTH..at::BATCH_LENGTH + 4].copy_from_slice(&len.to_be_bytes());
    }
    let crc = crc32c::crc32c(&batch[at::ATTRIBUTES..]);
    batch[at::CRC..at::CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Mutates a valid RecordBatch v2 (header fields or record bytes), then
/// fixes its length and CRC (most of the time) so that the checksum passes
/// and validation has to look at the records.
pub fn mutate_batch(rng: &mut Rng, batch: &mut Vec<u8>) {
    if batch.len() < at::RECORDS {
        return;
    }
    let mut fix_length = true;
    match rng.below(10) {
        0 => {
            let count = i32::from_be_bytes([
                batch[at::RECORDS_COUNT],
                batch[at::RECORDS_COUNT + 1],
                batch[at::RECORDS_COUNT + 2],
                batch[at::RECORDS_COUNT + 3],
            ]);
            let v = rng.pick(&[
                0,
                -1,
                count.wrapping_add(1),
                count.wrapping_sub(1),
                i32::MAX,
                i32::MIN,
                0x4000_0000,
                100_000,
            ]);
            put(batch, at::RECORDS_COUNT, &v.to_be_bytes());
        }
        1 => {
            // Compression codec bits (6 and 7 are undefined), transactional,
            // control, timestamp type.
            let attr = rng.pick(&[0u16, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x20, 0x08, 0xffff]);
            put(batch, at::ATTRIBUTES, &attr.to_be_bytes());
        }
        2 => {
            let v = rng.pick(&[0, -1, 1, 1000, i32::MAX, i32::MIN]);
            put(batch, at::LAST_OFFSET_DELTA, &v.to_be_bytes());
        }
        3 => {
            let v = rng.pick(&[-1i64, i64::MIN, i64::MAX, 0]);
            put(batch, at::FIRST_TIMESTAMP, &v.to_be_bytes());
        }
        4 => {
            let at = at::PRODUCER_ID + rng.below(at::RECORDS_COUNT - at::PRODUCER_ID);
            put(batch, at, &rng.pick(I32S).to_be_bytes());
        }
        5 => {
            // Record bytes: lengths and deltas are varints there.
            let span = batch.len() - at::RECORDS;
            for _ in 0..1 + rng.below(3) {
                let at = at::RECORDS + rng.below(span);
                if rng.chance(50) {
                    batch[at] ^= 1 << rng.below(8);
                } else {
                    put(batch, at, rng.pick(VARINTS));
                }
            }
        }
        6 => {
            let at = at::RECORDS + rng.below(batch.len() - at::RECORDS);
            batch.truncate(at);
        }
        7 => {
            let junk = rng.some_bytes(1, 16);
            batch.extend_from_slice(&junk);
        }
        8 => {
            let v = rng.pick(&[0i32, 1, -1, 49, i32::MAX, i32::MIN]);
            put(batch, at::BATCH_LENGTH, &v.to_be_bytes());
            fix_length = false;
        }
        _ => {
            batch[at::MAGIC] = rng.pick(&[0, 1, 3, 0xff]);
        }
    }
    if rng.chance(90) {
        fix_batch(batch, fix_length);
    }
}
