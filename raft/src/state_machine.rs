//! The metadata state machine: the [`MetadataImage`] as openraft's state
//! machine, with snapshots.
//!
//! Applying a committed [`MetadataRequest`] applies its records to the image
//! all-or-nothing and publishes the new immutable image on a watch channel
//! (readers clone an `Arc`, never wait for the state machine). The image is
//! kept in memory; durability comes from the Raft log plus snapshots: a
//! snapshot is the image written out as the records that rebuild it
//! ([`MetadataImage::to_records`]) with the last applied log id and
//! membership, stored as `snapshot.json` (tmp file, fsync, rename). On start
//! the newest snapshot is loaded and openraft re-applies the committed
//! entries after it.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder,
    SnapshotMeta,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::MetadataError;
use crate::image::MetadataImage;
use crate::records::MetadataRecord;
use crate::types::{
    Entry, LogId, MetadataResponse, NodeId, StorageError, StoredMembership, TypeConfig,
};

/// File name of the snapshot inside the quorum directory.
pub const SNAPSHOT_FILE: &str = "snapshot.json";

/// The contents of a snapshot: the records that rebuild the image.
#[derive(Debug, Serialize, Deserialize)]
struct ImageData {
    records: Vec<MetadataRecord>,
}

/// A snapshot as stored on disk.
#[derive(Debug, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    /// `ImageData` as JSON text.
    data: String,
}

struct Inner {
    dir: PathBuf,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    image: Arc<MetadataImage>,
    snapshot: Option<StoredSnapshot>,
    snapshot_seq: u64,
}

/// The state machine (and, cloned, its snapshot builder).
#[derive(Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<Inner>>,
    image_tx: Arc<watch::Sender<Arc<MetadataImage>>>,
}

fn sm_err(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageError::from_io_error(
        ErrorSubject::StateMachine,
        verb,
        std::io::Error::other(e.to_string()),
    )
}

fn image_from(data: &str) -> Result<MetadataImage, String> {
    let d: ImageData = serde_json::from_str(data).map_err(|e| e.to_string())?;
    MetadataImage::default()
        .apply_all(&d.records)
        .map_err(|e| e.to_string())
}

fn persist(dir: &Path, snap: &StoredSnapshot) -> std::io::Result<()> {
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    let bytes = serde_json::to_vec(snap).map_err(std::io::Error::other)?;
    fs::write(&tmp, bytes)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
    fs::File::open(dir)?.sync_all()
}

/// Reads and checks `snapshot.json` in `dir`: None when there is none; a
/// snapshot that does not parse or rebuild an image is
/// [`MetadataError::Damaged`] (never ignored).
fn read_snapshot(dir: &Path) -> Result<Option<(StoredSnapshot, MetadataImage)>, MetadataError> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(MetadataError::damaged(
                &path,
                format!("cannot be read: {e}"),
            ))
        }
    };
    let snap: StoredSnapshot = serde_json::from_slice(&bytes)
        .map_err(|e| MetadataError::damaged(&path, format!("does not parse: {e}")))?;
    let image = image_from(&snap.data)
        .map_err(|e| MetadataError::damaged(&path, format!("does not rebuild an image: {e}")))?;
    Ok(Some((snap, image)))
}

impl StateMachine {
    /// Checks the snapshot in `dir` without modifying anything: None when
    /// there is none, else the last log id it covers.
    pub fn inspect(dir: &Path) -> Result<Option<Option<LogId>>, MetadataError> {
        Ok(read_snapshot(dir)?.map(|(snap, _)| snap.meta.last_log_id))
    }

    /// Opens the state machine in `dir`, starting from its snapshot if any.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut inner = Inner {
            dir: dir.to_path_buf(),
            last_applied: None,
            membership: StoredMembership::default(),
            image: Arc::new(MetadataImage::default()),
            snapshot: None,
            snapshot_seq: 0,
        };
        if let Some((snap, image)) = read_snapshot(dir).map_err(std::io::Error::other)? {
            inner.last_applied = snap.meta.last_log_id;
            inner.membership = snap.meta.last_membership.clone();
            inner.image = Arc::new(image);
            inner.snapshot = Some(snap);
        }
        let (tx, _) = watch::channel(Arc::clone(&inner.image));
        Ok(StateMachine {
            inner: Arc::new(Mutex::new(inner)),
            image_tx: Arc::new(tx),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.lock().image)
    }

    /// A receiver that sees every new image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image_tx.subscribe()
    }

    fn snapshot_of(inner: &Inner) -> Option<Snapshot<TypeConfig>> {
        inner.snapshot.as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone().into_bytes())),
        })
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let mut inner = self.lock();
        let data = serde_json::to_string(&ImageData {
            records: inner.image.to_records(),
        })
        .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        inner.snapshot_seq += 1;
        let snapshot_id = match inner.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, inner.snapshot_seq),
            None => format!("none-{}", inner.snapshot_seq),
        };
        let snap = StoredSnapshot {
            meta: SnapshotMeta {
                last_log_id: inner.last_applied,
                last_membership: inner.membership.clone(),
                snapshot_id,
            },
            data,
        };
        persist(&inner.dir, &snap).map_err(|e| {
            StorageError::from_io_error(ErrorSubject::Snapshot(None), ErrorVerb::Write, e)
        })?;
        inner.snapshot = Some(snap);
        Self::snapshot_of(&inner).ok_or_else(|| sm_err(ErrorVerb::Read, "snapshot vanished"))
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let inner = self.lock();
        Ok((inner.last_applied, inner.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<MetadataResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let published = {
            let mut inner = self.lock();
            let mut changed = false;
            for entry in entries {
                inner.last_applied = Some(entry.log_id);
                match entry.payload {
                    EntryPayload::Blank => out.push(MetadataResponse::default()),
                    EntryPayload::Normal(req) => match inner.image.apply_all(&req.records) {
                        Ok(next) => {
                            inner.image = Arc::new(next);
                            changed = true;
                            out.push(MetadataResponse::default());
                        }
                        Err(e) => out.push(MetadataResponse {
                            error: Some(e.to_string()),
                        }),
                    },
                    EntryPayload::Membership(m) => {
                        inner.membership = StoredMembership::new(Some(entry.log_id), m);
                        out.push(MetadataResponse::default());
                    }
                }
            }
            changed.then(|| Arc::clone(&inner.image))
        };
        if let Some(image) = published {
            self.image_tx.send_replace(image);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data =
            String::from_utf8(snapshot.into_inner()).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let image = image_from(&data).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let snap = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let image = {
            let mut inner = self.lock();
            persist(&inner.dir, &snap).map_err(|e| {
                StorageError::from_io_error(ErrorSubject::Snapshot(None), ErrorVerb::Write, e)
            })?;
            inner.last_applied = meta.last_log_id;
            inner.membership = meta.last_membership.clone();
            inner.image = Arc::new(image);
            inner.snapshot = Some(snap);
            Arc::clone(&inner.image)
        };
        self.image_tx.send_replace(image);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(Self::snapshot_of(&self.lock()))
    }
}
