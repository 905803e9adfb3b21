//! Length- and CRC-framed payloads: the on-disk unit of both metadata files
//! (the pre-quorum `metadata.log` and the Raft `raft.log`).
//!
//! ```text
//! frame = len:u32 crc32c(payload):u32 payload(len bytes)
//! ```
//!
//! Replay stops at the first torn, oversized, corrupt or undecodable frame
//! and cuts the file there, so a crash mid-write loses only that write.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use tracing::warn;

/// Appends one frame holding `payload` to `out`.
pub(crate) fn put(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Opens (creating) the framed file at `path` for appending and calls
/// `accept` with each intact frame's payload, in order, until it returns
/// false. The file is cut after the last accepted frame (with a warning
/// naming `what`). Returns the file and its length.
pub(crate) fn open_replay(
    path: &Path,
    max_frame: u32,
    what: &str,
    mut accept: impl FnMut(&[u8]) -> bool,
) -> std::io::Result<(File, u64)> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut pos = 0usize;
    while bytes.len() - pos >= 8 {
        let len = u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
        let crc = u32::from_be_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        if len > max_frame || bytes.len() - pos - 8 < len as usize {
            break;
        }
        let payload = &bytes[pos + 8..pos + 8 + len as usize];
        if crc32c::crc32c(payload) != crc || !accept(payload) {
            break;
        }
        pos += 8 + len as usize;
    }
    if pos < bytes.len() {
        warn!(
            path = %path.display(),
            valid_bytes = pos,
            dropped_bytes = bytes.len() - pos,
            "truncating torn tail of the {what}"
        );
        file.set_len(pos as u64)?;
        file.sync_all()?;
    }
    Ok((file, pos as u64))
}
