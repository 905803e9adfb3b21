//! The durable metadata record log of a single-voter quorum.
//!
//! ```text
//! file   = frame*
//! frame  = len:u32 crc32c(payload):u32 payload(len bytes, one MetadataRecord)
//! ```
//!
//! Every append is written and fsynced before it returns: metadata changes
//! are rare and must never be lost. On open, frames are replayed until the
//! first torn or corrupt one, and the file is cut there.
//!
//! This is the storage the openraft log store will replace when the
//! multi-voter quorum lands; callers only see "append records, replay
//! records", which is what a Raft-backed store offers too.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use tracing::warn;

use crate::error::MetadataError;
use crate::records::MetadataRecord;

/// Largest accepted record frame (guards replay against garbage lengths).
const MAX_FRAME: u32 = 16 * 1024 * 1024;

/// An append-only file of metadata records.
pub struct MetadataLog {
    file: File,
    len: u64,
}

impl MetadataLog {
    /// Opens (or creates) the log at `path` and returns it with every record
    /// it holds, in order.
    pub fn open(path: &Path) -> Result<(Self, Vec<MetadataRecord>), MetadataError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut records = Vec::new();
        let mut pos = 0usize;
        while bytes.len() - pos >= 8 {
            let len =
                u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]);
            let crc = u32::from_be_bytes([
                bytes[pos + 4],
                bytes[pos + 5],
                bytes[pos + 6],
                bytes[pos + 7],
            ]);
            if len > MAX_FRAME || bytes.len() - pos - 8 < len as usize {
                break;
            }
            let payload = &bytes[pos + 8..pos + 8 + len as usize];
            if crc32c::crc32c(payload) != crc {
                break;
            }
            match MetadataRecord::decode(payload) {
                Ok(r) => records.push(r),
                Err(_) => break,
            }
            pos += 8 + len as usize;
        }
        if pos < bytes.len() {
            warn!(
                path = %path.display(),
                dropped_bytes = bytes.len() - pos,
                "truncating torn tail of metadata log"
            );
            file.set_len(pos as u64)?;
            file.sync_all()?;
        }
        Ok((
            MetadataLog {
                file,
                len: pos as u64,
            },
            records,
        ))
    }

    /// Appends records in one write and fsyncs.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<(), MetadataError> {
        let mut buf = Vec::new();
        for r in records {
            let payload = r.encode();
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
            buf.extend_from_slice(&payload);
        }
        if let Err(e) = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
        {
            let _ = self.file.set_len(self.len);
            return Err(e.into());
        }
        self.len += buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_and_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta/metadata.log");
        let recs: Vec<_> = (1..=3)
            .map(|i| MetadataRecord::ProducerIdsAllocated {
                next_producer_id: i * 1000,
            })
            .collect();
        {
            let (mut log, replay) = MetadataLog::open(&path).expect("open");
            assert!(replay.is_empty());
            log.append(&recs).expect("append");
        }
        let full = std::fs::metadata(&path).expect("meta").len();
        let (_, replay) = MetadataLog::open(&path).expect("reopen");
        assert_eq!(replay, recs);
        // Tear the last frame at every byte: the first two always survive.
        let bytes = std::fs::read(&path).expect("read");
        let frame = (full / 3) as usize;
        for cut in (2 * frame)..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).expect("write");
            let (mut log, replay) = MetadataLog::open(&path).expect("reopen torn");
            assert_eq!(replay, recs[..2].to_vec(), "cut {cut}");
            log.append(&recs[2..]).expect("append after recovery");
            let (_, replay) = MetadataLog::open(&path).expect("reopen again");
            assert_eq!(replay, recs);
        }
    }
}
