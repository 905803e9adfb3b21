//! Length- and CRC-framed payloads: the on-disk unit of both metadata files
//! (the pre-quorum `metadata.log` and the Raft `raft.log`).
//!
//! ```text
//! frame = len:u32 crc32c(payload):u32 payload(len bytes)
//! ```
//!
//! Replay tells a torn tail from damage (the rule is documented in
//! [`crate::log_store`]): the first frame that is not intact ends replay; if
//! no intact frame follows it anywhere in the file, the rest is the torn
//! last append of a crash and is cut (with a warning); if one does, or if
//! an intact frame does not decode, the file is damaged and replay fails
//! without modifying it.
//!
//! Not here: what a payload means (the callers decode it).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use tracing::warn;

use crate::error::MetadataError;

/// Appends one frame holding `payload` to `out`.
pub(crate) fn put(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out.extend_from_slice(payload);
}

fn u32_at(bytes: &[u8], pos: usize) -> u32 {
    u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
}

/// Why the frame at `pos` is not intact, or None when it is (a non-empty
/// payload of at most `max_frame` bytes, wholly present, matching its CRC).
fn frame_problem(bytes: &[u8], pos: usize, max_frame: u32) -> Option<String> {
    let rest = bytes.len() - pos;
    if rest < 8 {
        return Some(format!("{rest} bytes too short for a frame header"));
    }
    let len = u32_at(bytes, pos);
    if len == 0 {
        return Some("empty frame".into());
    }
    if len > max_frame {
        return Some(format!("frame length {len} exceeds the limit {max_frame}"));
    }
    if rest - 8 < len as usize {
        return Some(format!(
            "frame of {len} bytes runs past the end of the file ({} bytes left)",
            rest - 8
        ));
    }
    let payload = &bytes[pos + 8..pos + 8 + len as usize];
    if crc32c::crc32c(payload) != u32_at(bytes, pos + 4) {
        return Some("checksum mismatch".into());
    }
    None
}

/// Checks `bytes` frame by frame, calling `accept` with each intact
/// frame's payload in order. Returns the length of the intact prefix (the
/// rest, if any, is a torn tail), or the damage as (byte offset, what).
pub(crate) fn scan(
    bytes: &[u8],
    max_frame: u32,
    mut accept: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<usize, (usize, String)> {
    let mut pos = 0usize;
    while pos < bytes.len() {
        if let Some(problem) = frame_problem(bytes, pos, max_frame) {
            // Torn tail or damage: a crash cuts only the last append, so an
            // intact frame after this one means the middle is damaged.
            // (Payloads are JSON or records whose bytes cannot form a
            // header with a small length, so they do not fake one.)
            // The search checksums candidate payloads; garbage could make
            // that quadratic, so past a budget the tail counts as damage
            // (refusing is the safe side).
            let mut budget = bytes.len().saturating_mul(8).saturating_add(1 << 20);
            for p in pos + 1..bytes.len().saturating_sub(8) {
                let len = u32_at(bytes, p) as usize;
                if len == 0 || len > max_frame as usize || len > bytes.len() - p - 8 {
                    continue;
                }
                if budget < len {
                    return Err((pos, format!("{problem}, followed by unreadable data")));
                }
                budget -= len;
                if frame_problem(bytes, p, max_frame).is_none() {
                    return Err((
                        pos,
                        format!("{problem}, followed by an intact frame at byte {p}"),
                    ));
                }
            }
            return Ok(pos);
        }
        let len = u32_at(bytes, pos) as usize;
        accept(&bytes[pos + 8..pos + 8 + len])
            .map_err(|e| (pos, format!("intact frame does not decode: {e}")))?;
        pos += 8 + len;
    }
    Ok(pos)
}

/// Reads and checks the framed file at `path` without modifying it:
/// `Ok(None)` when it does not exist, else its intact prefix length and
/// total length. Damage is [`MetadataError::Damaged`].
pub(crate) fn inspect(
    path: &Path,
    max_frame: u32,
    accept: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<Option<(usize, usize)>, MetadataError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(MetadataError::damaged(path, format!("cannot be read: {e}"))),
    };
    let valid = scan(&bytes, max_frame, accept).map_err(|(at, what)| {
        MetadataError::damaged(path, format!("damaged at byte {at}: {what}"))
    })?;
    Ok(Some((valid, bytes.len())))
}

/// Opens (creating) the framed file at `path` for appending and calls
/// `accept` with each intact frame's payload, in order. A torn tail is cut
/// (with a warning naming `what`); damage fails with
/// [`MetadataError::Damaged`] and leaves the file as it is. Returns the
/// file and its length.
pub(crate) fn open_replay(
    path: &Path,
    max_frame: u32,
    what: &str,
    accept: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(File, u64), MetadataError> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let pos = scan(&bytes, max_frame, accept).map_err(|(at, problem)| {
        MetadataError::damaged(path, format!("damaged at byte {at}: {problem}"))
    })?;
    if pos < bytes.len() {
        warn!(
            path = %path.display(),
            valid_bytes = pos,
            dropped_bytes = bytes.len() - pos,
            "truncating torn tail of the {what} (the last write of a crash)"
        );
        file.set_len(pos as u64)?;
        file.sync_all()?;
    }
    Ok((file, pos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            put(&mut out, format!("{{\"frame\":{i}}}").as_bytes());
        }
        out
    }

    #[test]
    fn torn_tail_at_every_cut_is_not_damage() {
        let full = frames(3);
        let two = frames(2).len();
        for cut in two..full.len() {
            assert_eq!(
                scan(&full[..cut], 1 << 20, |_| Ok(())),
                Ok(two),
                "cut {cut}"
            );
        }
        assert_eq!(scan(&full, 1 << 20, |_| Ok(())), Ok(full.len()));
        // A zero-filled tail (size extended, data never written) is torn too.
        let mut zeros = full.clone();
        zeros.extend_from_slice(&[0u8; 40]);
        assert_eq!(scan(&zeros, 1 << 20, |_| Ok(())), Ok(full.len()));
    }

    #[test]
    fn garbage_tail_search_is_bounded() {
        // Lengths that fit at most offsets: without a budget the search for
        // an intact frame would checksum gigabytes.
        let mut garbage = frames(1);
        for i in 0..200_000u32 {
            garbage.extend_from_slice(&[0, 0, (i % 200) as u8 + 20, 7]);
        }
        let r = scan(&garbage, 1 << 24, |_| Ok(()));
        assert!(
            matches!(r, Err((_, ref m)) if m.contains("unreadable data")),
            "{r:?}"
        );
    }

    #[test]
    fn damage_before_an_intact_frame_is_refused() {
        let full = frames(3);
        let one = frames(1).len();
        // A flipped payload byte, a flipped length byte (longer and shorter).
        for at in [one + 10, one, one + 3] {
            let mut bad = full.clone();
            bad[at] ^= 0x40;
            let r = scan(&bad, 1 << 20, |_| Ok(()));
            assert!(matches!(r, Err((p, _)) if p == one), "flip at {at}: {r:?}");
        }
        // An intact frame that does not decode is never a torn tail.
        let r = scan(&full, 1 << 20, |p| {
            if p.ends_with(b"2}") {
                Err("newer format".into())
            } else {
                Ok(())
            }
        });
        assert!(
            matches!(r, Err((_, ref m)) if m.contains("newer format")),
            "{r:?}"
        );
    }
}
