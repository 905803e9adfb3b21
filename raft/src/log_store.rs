//! The durable Raft log of the metadata quorum.
//!
//! One append-only file, `raft.log`, holds every write the log store makes,
//! in the order it makes them:
//!
//! ```text
//! file  = frame*
//! frame = len:u32 crc32c(payload):u32 payload   (payload: one Op as JSON)
//! Op    = Entries[..] | Truncate{from} | Purge{upto} | Vote | Committed
//! ```
//!
//! Writes are serialised (one mutex) and each is fsynced before it is
//! reported done, so a vote is durable before openraft acts on it and an
//! entry is durable before the `LogFlushed` callback fires. Opening replays
//! the frames into memory (entries live in a `BTreeMap`; metadata logs are
//! small and snapshots purge them). A purge rewrites the file with only
//! what is still live (tmp file, fsync, rename, fsync of the directory), so
//! the file does not grow without bound and is never empty once written.
//!
//! # Torn tail or damage
//!
//! A frame is *intact* when its length is 1..=64 MiB, its payload is wholly
//! in the file and matches its CRC32C. Replay applies intact frames until
//! the first one that is not intact, then:
//!
//! * if no intact frame starts anywhere after it, the rest of the file is
//!   the last append, cut by a crash before its fsync returned (a partial
//!   header, a length running past the end of the file, a checksum
//!   mismatch, zeros where the file was extended but not written): it was
//!   never acknowledged, so it is truncated with a warning;
//! * if an intact frame follows (a flipped block in the middle, a length
//!   that now points into later frames or past the end of the file while
//!   later frames are whole), the file is damaged: opening fails with
//!   [`MetadataError::Damaged`] naming the file and byte offset, and the
//!   file is left untouched for the operator;
//! * an intact frame whose payload does not decode (damage that kept the
//!   CRC, or a file from a newer version) is damage too, never cut;
//! * the search for a later intact frame checksums at most about eight
//!   times the file's size; a tail of garbage that exhausts it counts as
//!   damage (refusing is the safe side).
//!
//! Damage confined to the very last frame cannot be told from a torn
//! append and is cut like one. JSON payloads are printable text, so their
//! bytes never look like a frame header with a length under 64 MiB and do
//! not fake an intact frame.
//!
//! [`LogStore::inspect`] applies the same rules read-only, so the broker
//! can check a data directory before it changes anything in it.
//!
//! JSON is chosen over a hand-rolled encoding because metadata changes are
//! rare and readable files help operators; the hot path never touches this.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader};
use serde::{Deserialize, Serialize};

use crate::error::MetadataError;
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// Largest frame accepted on replay (guards against garbage lengths).
const MAX_FRAME: u32 = 64 * 1024 * 1024;
/// File name of the log inside the quorum directory.
pub const LOG_FILE: &str = "raft.log";

/// One durable write.
#[derive(Debug, Serialize, Deserialize)]
enum Op {
    Entries(Vec<Entry>),
    Truncate { from: u64 },
    Purge { upto: LogId },
    Vote(Vote),
    Committed(Option<LogId>),
}

#[derive(Default)]
struct State {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

impl State {
    fn apply(&mut self, op: Op) {
        match op {
            Op::Entries(es) => {
                for e in es {
                    self.entries.insert(e.log_id.index, e);
                }
            }
            Op::Truncate { from } => {
                self.entries.split_off(&from);
            }
            Op::Purge { upto } => {
                self.entries = self.entries.split_off(&(upto.index + 1));
                self.last_purged = Some(upto);
            }
            Op::Vote(v) => self.vote = Some(v),
            Op::Committed(c) => self.committed = c,
        }
    }
}

struct Inner {
    dir: PathBuf,
    file: File,
    state: State,
}

/// The log store (and, cloned, its reader): shared state behind one mutex.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: std::io::Error) -> StorageError {
    StorageError::from_io_error(subject, verb, e)
}

fn encode(op: &Op) -> std::io::Result<Vec<u8>> {
    let payload = serde_json::to_vec(op).map_err(std::io::Error::other)?;
    let mut frame = Vec::with_capacity(payload.len() + 8);
    crate::frame::put(&mut frame, &payload);
    Ok(frame)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What [`LogStore::inspect`] found in a `raft.log`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSummary {
    /// Intact frames (durable writes) in the file.
    pub frames: usize,
    /// Bytes of torn tail that opening will cut.
    pub torn_bytes: usize,
    /// Entries the log holds after replay.
    pub entries: usize,
    /// Everything up to this log id was purged (it lives in the snapshot).
    pub last_purged: Option<LogId>,
    /// Index of the last entry, or of the last purged one.
    pub last_index: Option<u64>,
}

fn decode_op(payload: &[u8]) -> Result<Op, String> {
    serde_json::from_slice::<Op>(payload).map_err(|e| e.to_string())
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, replaying it. A torn tail is
    /// cut; damage is [`MetadataError::Damaged`] and leaves the file as it
    /// is (see the module docs for the rule).
    pub fn open(dir: &Path) -> Result<Self, MetadataError> {
        fs::create_dir_all(dir)?;
        let mut state = State::default();
        let (file, _) =
            crate::frame::open_replay(&dir.join(LOG_FILE), MAX_FRAME, "raft log", |payload| {
                state.apply(decode_op(payload)?);
                Ok(())
            })?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                file,
                state,
            })),
        })
    }

    /// Reads and checks the log in `dir` without modifying anything:
    /// `Ok(None)` when there is no log file, its summary when it replays
    /// (a torn tail included), [`MetadataError::Damaged`] when it does not.
    pub fn inspect(dir: &Path) -> Result<Option<LogSummary>, MetadataError> {
        let mut state = State::default();
        let mut frames = 0usize;
        let found = crate::frame::inspect(&dir.join(LOG_FILE), MAX_FRAME, |payload| {
            state.apply(decode_op(payload)?);
            frames += 1;
            Ok(())
        })?;
        Ok(found.map(|(valid, len)| LogSummary {
            frames,
            torn_bytes: len - valid,
            entries: state.entries.len(),
            last_purged: state.last_purged,
            last_index: state
                .entries
                .keys()
                .next_back()
                .copied()
                .or(state.last_purged.map(|p| p.index)),
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes and fsyncs one op, then applies it in memory.
    fn write(inner: &mut Inner, op: Op) -> std::io::Result<()> {
        let frame = encode(&op)?;
        inner.file.write_all(&frame)?;
        inner.file.sync_data()?;
        inner.state.apply(op);
        Ok(())
    }

    /// Rewrites the file with only the live state (after a purge).
    fn rewrite(inner: &mut Inner) -> std::io::Result<()> {
        let tmp = inner.dir.join(format!("{LOG_FILE}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            let s = &inner.state;
            if let Some(v) = s.vote {
                f.write_all(&encode(&Op::Vote(v))?)?;
            }
            if let Some(p) = s.last_purged {
                f.write_all(&encode(&Op::Purge { upto: p })?)?;
            }
            f.write_all(&encode(&Op::Committed(s.committed))?)?;
            let live: Vec<Entry> = s.entries.values().cloned().collect();
            if !live.is_empty() {
                f.write_all(&encode(&Op::Entries(live))?)?;
            }
            f.sync_all()?;
        }
        fs::rename(&tmp, inner.dir.join(LOG_FILE))?;
        sync_dir(&inner.dir)?;
        inner.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(inner.dir.join(LOG_FILE))?;
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let inner = self.lock();
        Ok(inner
            .state
            .entries
            .range(range)
            .map(|(_, e)| e.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        let last_purged = inner.state.last_purged;
        let last = inner
            .state
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(last_purged);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut inner = self.lock();
        Self::write(&mut inner, Op::Vote(*vote))
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().state.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut inner = self.lock();
        Self::write(&mut inner, Op::Committed(committed))
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, e))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().state.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let result = {
            let mut inner = self.lock();
            Self::write(&mut inner, Op::Entries(entries))
        };
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let kind = e.kind();
                callback.log_io_completed(Err(std::io::Error::new(kind, e.to_string())));
                Err(io_err(ErrorSubject::Logs, ErrorVerb::Write, e))
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut inner = self.lock();
        Self::write(&mut inner, Op::Truncate { from: log_id.index })
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut inner = self.lock();
        Self::write(&mut inner, Op::Purge { upto: log_id })
            .and_then(|()| Self::rewrite(&mut inner))
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Delete, e))
    }
}
