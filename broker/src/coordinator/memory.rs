//! An in-memory host for the coordinators, for unit tests: real
//! [`Partition`]s in a directory the test owns, no metadata quorum, no
//! network. It hosts every partition of the topics it is given, hands out
//! producer ids from a counter, and writes transaction markers straight
//! into its partitions (settling transactional offset commits when a
//! marker reaches `__consumer_offsets`, as the broker does), keeping a
//! record of every marker it was asked for. Markers are written when
//! `write_markers` is called; the future it returns is already complete.
//!
//! Dropping the host and opening another on the same directory is a
//! restart: the coordinators replay what the first one appended. Two nodes
//! are two hosts: [`MemoryHost::open_copy`] opens a second one on a copy of
//! the first one's logs (a replica that has fetched everything), and
//! [`MemoryHost::lead`] / [`MemoryHost::follow`] move a partition's
//! leadership, after which the test tells the coordinators
//! (`on_leadership_change`) as the broker's image applier does.
//!
//! Not here: routing, fencing of brokers, replication itself (no fetching
//! between hosts), remote leaders.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use memorystreamer_log::{ControlType, Log, LogConfig, LogError};

use super::{InternalLog, MetadataView, ProducerIds, TxnMarkers, OFFSETS_TOPIC};
use crate::error::BrokerError;
use crate::group::GroupCoordinator;
use crate::metrics::TopicMetrics;
use crate::replica::partition::{Partition, PartitionSettings};

/// One marker the transaction coordinator sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMarker {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub epoch: i16,
    /// COMMIT (true) or ABORT.
    pub commit: bool,
    /// The partitions it went to.
    pub partitions: BTreeSet<(String, i32)>,
}

/// The in-memory host (see the module docs).
pub struct MemoryHost {
    dir: PathBuf,
    /// Every partition, hosted here, by (topic, index).
    partitions: Mutex<BTreeMap<(String, i32), Arc<Partition>>>,
    next_producer_id: AtomicI64,
    markers: Mutex<Vec<SentMarker>>,
    /// The group coordinator markers to `__consumer_offsets` settle.
    pub groups: GroupCoordinator,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryHost {
    /// A host on `dir` with `topics` (name, partition count) opened (their
    /// existing logs recovered) and `groups` as its group coordinator (not
    /// loaded yet).
    pub fn open(
        dir: &Path,
        topics: &[(&str, i32)],
        groups: GroupCoordinator,
    ) -> Result<Arc<Self>, BrokerError> {
        let host = MemoryHost {
            dir: dir.to_path_buf(),
            partitions: Mutex::new(BTreeMap::new()),
            next_producer_id: AtomicI64::new(1000),
            markers: Mutex::new(Vec::new()),
            groups,
        };
        for (topic, count) in topics {
            for index in 0..*count {
                host.open_partition(topic, index)?;
            }
        }
        Ok(Arc::new(host))
    }

    fn open_partition(&self, topic: &str, index: i32) -> Result<(), BrokerError> {
        let log = Log::open(
            &self.dir.join(format!("{topic}-{index}")),
            LogConfig::default(),
        )?;
        let settings = PartitionSettings {
            max_message_bytes: 1 << 20,
            compacted: super::is_internal(topic),
            log_append_time: false,
            compression: None,
            min_insync_replicas: 1,
        };
        let p = Partition::new(
            topic.to_string(),
            uuid::Uuid::nil(),
            index,
            0,
            log,
            settings,
            TopicMetrics::new(topic, false),
        );
        lock(&self.partitions).insert((topic.to_string(), index), Arc::new(p));
        Ok(())
    }

    /// Partition `index` of `topic`.
    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        lock(&self.partitions)
            .get(&(topic.to_string(), index))
            .cloned()
    }

    /// A second node: a host on `dir` with a copy of every partition log of
    /// this one (as a follower that fetched everything), `groups` as its
    /// group coordinator (not loaded). Its partitions open as leaders at
    /// epoch 0, like [`MemoryHost::open`]'s; move them with
    /// [`MemoryHost::lead`] / [`MemoryHost::follow`].
    pub fn open_copy(
        &self,
        dir: &Path,
        groups: GroupCoordinator,
    ) -> Result<Arc<Self>, BrokerError> {
        let names: Vec<(String, i32)> = lock(&self.partitions).keys().cloned().collect();
        for (topic, index) in &names {
            let name = format!("{topic}-{index}");
            copy_dir(&self.dir.join(&name), &dir.join(&name))?;
        }
        let mut counts: BTreeMap<&str, i32> = BTreeMap::new();
        for (topic, index) in &names {
            let count = counts.entry(topic.as_str()).or_default();
            *count = (*count).max(index + 1);
        }
        let topics: Vec<(&str, i32)> = counts.into_iter().collect();
        MemoryHost::open(dir, &topics, groups)
    }

    /// This node becomes leader of `topic-index` at `epoch` (the only
    /// in-sync replica, so its high watermark is its log end).
    pub fn lead(&self, topic: &str, index: i32, epoch: i32) -> Result<(), BrokerError> {
        self.partition(topic, index)
            .ok_or(BrokerError::UnknownTopicOrPartition)?
            .become_leader(epoch, &[], &[])
    }

    /// This node becomes a follower of node `leader` for `topic-index` at
    /// `epoch` (it refuses appends from then on).
    pub fn follow(
        &self,
        topic: &str,
        index: i32,
        epoch: i32,
        leader: i32,
    ) -> Result<(), BrokerError> {
        self.partition(topic, index)
            .ok_or(BrokerError::UnknownTopicOrPartition)?
            .become_follower(epoch, leader)
    }

    /// Stops hosting a partition (as when it moves to another broker).
    pub fn release(&self, topic: &str, index: i32) {
        lock(&self.partitions).remove(&(topic.to_string(), index));
    }

    /// Every marker sent so far, in order.
    pub fn sent_markers(&self) -> Vec<SentMarker> {
        lock(&self.markers).clone()
    }

    /// Writes one marker, as `Broker::write_txn_marker` does: a marker
    /// fenced by a newer epoch is skipped.
    fn write_marker(
        &self,
        p: &Partition,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), BrokerError> {
        let kind = if commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let batch = memorystreamer_log::txn::marker_batch(
            producer_id,
            epoch,
            kind,
            crate::txn::COORDINATOR_EPOCH,
            crate::now_ms(),
        );
        match p.append_control(&batch) {
            Ok(_) => {}
            Err(BrokerError::Log(LogError::ProducerFenced { .. })) => return Ok(()),
            Err(e) => return Err(e),
        }
        if p.topic == OFFSETS_TOPIC {
            self.groups.complete_txn(p.index, producer_id, commit);
        }
        Ok(())
    }
}

/// Copies the files of directory `from` into `to` (created).
fn copy_dir(from: &Path, to: &Path) -> Result<(), BrokerError> {
    let io = |e: std::io::Error| BrokerError::Log(LogError::Io(e));
    std::fs::create_dir_all(to).map_err(io)?;
    for entry in std::fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_type().map_err(io)?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(io)?;
        }
    }
    Ok(())
}

impl InternalLog for MemoryHost {
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.partition(topic, index)
    }

    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        lock(&self.partitions)
            .iter()
            .filter(|((t, _), _)| t == topic)
            .map(|(_, p)| Arc::clone(p))
            .collect()
    }
}

impl MetadataView for MemoryHost {
    fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.partition(topic, index).is_some()
    }
}

impl ProducerIds for MemoryHost {
    fn next_producer_id(&self) -> impl Future<Output = Result<i64, BrokerError>> + Send {
        std::future::ready(Ok(self.next_producer_id.fetch_add(1, Ordering::Relaxed)))
    }
}

impl TxnMarkers for MemoryHost {
    fn write_markers(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        partitions: &BTreeSet<(String, i32)>,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send {
        lock(&self.markers).push(SentMarker {
            producer_id,
            epoch,
            commit,
            partitions: partitions.clone(),
        });
        let result = partitions
            .iter()
            .filter_map(|(t, i)| self.partition(t, *i))
            .try_for_each(|p| self.write_marker(&p, producer_id, epoch, commit));
        std::future::ready(result)
    }
}
