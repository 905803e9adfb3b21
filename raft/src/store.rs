//! The durable metadata record log of a single-voter quorum.
//!
//! ```text
//! file   = frame*
//! frame  = len:u32 crc32c(payload):u32 payload(len bytes, one MetadataRecord)
//! ```
//!
//! Every append is written and fsynced before it returns: metadata changes
//! are rare and must never be lost. On open, frames are replayed with the
//! Raft log's rule ([`crate::log_store`]): a torn tail is cut, damage in the
//! middle or an undecodable intact record fails the open and leaves the
//! file untouched.
//!
//! The openraft quorum replaced it; the broker reads it only to import a
//! data directory written before the quorum existed. Framing and replay
//! are [`crate::frame`]'s, shared with the Raft log store.

use std::fs::File;
use std::io::Write;
use std::path::Path;

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
        let mut records = Vec::new();
        let (file, len) = crate::frame::open_replay(path, MAX_FRAME, "metadata log", |payload| {
            records.push(MetadataRecord::decode(payload).map_err(|e| e.to_string())?);
            Ok(())
        })?;
        Ok((MetadataLog { file, len }, records))
    }

    /// Checks the log at `path` without modifying it: `Ok(None)` when
    /// there is no file, else how many records it replays;
    /// [`MetadataError::Damaged`] when it is damaged.
    pub fn inspect(path: &Path) -> Result<Option<usize>, MetadataError> {
        let mut records = 0usize;
        let found = crate::frame::inspect(path, MAX_FRAME, |payload| {
            MetadataRecord::decode(payload).map_err(|e| e.to_string())?;
            records += 1;
            Ok(())
        })?;
        Ok(found.map(|_| records))
    }

    /// Appends records in one write and fsyncs.
    pub fn append(&mut self, records: &[MetadataRecord]) -> Result<(), MetadataError> {
        let mut buf = Vec::new();
        for r in records {
            crate::frame::put(&mut buf, &r.encode());
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
