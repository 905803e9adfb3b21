//! A partition hosted by this broker: its log behind a writer lock, its
//! replica state (role, leader epoch, high watermark, followers: the pure
//! state machine [`ReplicaState`], in `partition/state.rs`), and the
//! notification long-polling fetches wait on.
//!
//! Locks: the log lock (the "writer lock") is held for the duration of one
//! `write(2)` and for planning reads, never for a file read or an fsync:
//! reads are planned under it from memory (index maps, segment bounds, the
//! tracked max timestamp) and `pread` runs after it is released
//! (`memorystreamer_log::read`); an fsync takes the file handles under it
//! and syncs without it, so appends go on during the fsync. The replica
//! state has its own small lock, taken inside the log lock when both are
//! needed (an append, a role change), never the other way round. The high
//! watermark, last stable offset, log start offset and leader epoch are
//! published in atomics for readers that take no lock.
//!
//! Not here: which partitions this node hosts and their roles (the replica
//! manager, `super`, applies the metadata image), fetching from a leader
//! (replication, DESIGN §5), request handling.

mod replication;
mod state;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicI16, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use memorystreamer_log::records::{
    parse_records, rebuild_batch, records_section, validate_produced,
};
use memorystreamer_log::{
    AbortedTxn, AppendInfo, BatchHeader, CleanStats, CompactionConfig, FlushPlan, Log, LogError,
    ProducerInfo,
};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::error::BrokerError;
use crate::metrics::TopicMetrics;

pub use crate::config::settings::{PartitionSettings, MAX_DECOMPRESSED_BYTES};
pub use state::{split_followers, FollowerState, ReplicaId, ReplicaState, Role};

/// What a produce to this partition did.
#[derive(Debug, Clone, Copy)]
pub enum AppendOutcome {
    /// Appended at these offsets; with the broker's timestamp when the
    /// topic uses LogAppendTime.
    Appended(AppendInfo, Option<i64>),
    /// A retried batch already in the log, at this base offset.
    Duplicate {
        /// Offset the batch got the first time.
        base_offset: i64,
        /// Current log start offset.
        log_start_offset: i64,
    },
}

/// The result of a read.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// Whole batches (possibly empty).
    pub records: Bytes,
    /// High watermark when the read was planned.
    pub high_watermark: i64,
    /// Log start offset when the read was planned.
    pub log_start_offset: i64,
    /// Last stable offset when the read was planned.
    pub last_stable_offset: i64,
    /// For `read_committed` reads: the aborted transactions overlapping the
    /// records returned.
    pub aborted: Vec<AbortedTxn>,
}

/// One partition of a topic.
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Topic id.
    pub topic_id: Uuid,
    /// Partition index.
    pub index: i32,
    /// The replica state's leader epoch, published for readers without a
    /// lock (it is stamped into appended batches).
    leader_epoch: AtomicI32,
    /// Role, leader epoch, high watermark and followers; locked inside the
    /// log lock, never the other way round.
    replica: Mutex<ReplicaState>,
    max_message_bytes: std::sync::atomic::AtomicUsize,
    /// `min.insync.replicas`.
    min_insync: std::sync::atomic::AtomicUsize,
    compacted: AtomicBool,
    log_append_time: AtomicBool,
    /// Codec id to store batches with, -1 to keep the producer's.
    compression: AtomicI16,
    log: Mutex<Log>,
    high_watermark: AtomicI64,
    last_stable_offset: AtomicI64,
    log_start_offset: AtomicI64,
    appended: Notify,
    /// Traffic counters of this partition's topic.
    pub metrics: TopicMetrics,
}

impl Partition {
    /// Wraps an opened log as its leader at `leader_epoch`, with an ISR of
    /// only itself (a single-replica partition: the high watermark is the
    /// log end offset). Roles change with [`Partition::become_leader`] and
    /// [`Partition::become_follower`].
    pub fn new(
        topic: String,
        topic_id: Uuid,
        index: i32,
        leader_epoch: i32,
        log: Log,
        settings: PartitionSettings,
        metrics: TopicMetrics,
    ) -> Self {
        let replica = ReplicaState::leader(leader_epoch, log.log_end_offset());
        Self::with_state(topic, topic_id, index, replica, log, settings, metrics)
    }

    /// Wraps an opened log with the given replica state (a follower, or a
    /// leader with followers: see [`ReplicaState::for_assignment`]).
    pub fn with_state(
        topic: String,
        topic_id: Uuid,
        index: i32,
        replica: ReplicaState,
        mut log: Log,
        settings: PartitionSettings,
        metrics: TopicMetrics,
    ) -> Self {
        let leader_epoch = replica.leader_epoch();
        if replica.role() == Role::Leader {
            // As Kafka's makeLeader: the epoch starts at the log end, so
            // ListOffsets and OffsetForLeaderEpoch name it before any append
            // (a no-op when the log already has this epoch).
            log.assign_epoch_start(leader_epoch);
        }
        let hw = replica.high_watermark();
        let lso = log.last_stable_offset().min(hw);
        let start = log.log_start_offset();
        Partition {
            topic,
            topic_id,
            index,
            leader_epoch: AtomicI32::new(leader_epoch),
            replica: Mutex::new(replica),
            max_message_bytes: std::sync::atomic::AtomicUsize::new(settings.max_message_bytes),
            min_insync: std::sync::atomic::AtomicUsize::new(min_insync(&settings)),
            compacted: AtomicBool::new(settings.compacted),
            log_append_time: AtomicBool::new(settings.log_append_time),
            compression: AtomicI16::new(settings.compression.unwrap_or(-1)),
            log: Mutex::new(log),
            high_watermark: AtomicI64::new(hw),
            last_stable_offset: AtomicI64::new(lso),
            log_start_offset: AtomicI64::new(start),
            appended: Notify::new(),
            metrics,
        }
    }

    /// Locks the log. A panic while holding the lock cannot leave the log
    /// half-written (appends are one write, rolled back on error), so a
    /// poisoned lock is taken over rather than propagated.
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the replica state (inside the log lock when both are held).
    /// Its transitions change it only once they are known to succeed, so a
    /// poisoned lock is taken over.
    fn replica(&self) -> MutexGuard<'_, ReplicaState> {
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current leader epoch (stamped into batches appended as leader).
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch.load(Ordering::Acquire)
    }

    /// OffsetForLeaderEpoch: the end offset of leader epoch `epoch` from
    /// the log's epoch cache as (epoch, end offset), Kafka's
    /// `endOffsetFor`; (-1, -1) when it is unknown.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.lock().end_offset_for_epoch(epoch).unwrap_or((-1, -1))
    }

    /// The epoch ListOffsets reports for the earliest offset (Kafka's
    /// `fetchOffsetByTimestamp`): the epoch cache's first epoch when it
    /// starts at or before the log start offset, else None.
    pub fn earliest_epoch(&self) -> Option<i32> {
        let log = self.lock();
        let start = log.log_start_offset();
        log.epoch_entries()
            .first()
            .filter(|(_, offset)| *offset <= start)
            .map(|(epoch, _)| *epoch)
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.replica().role()
    }

    /// A copy of the replica state (role, epoch, high watermark, followers).
    pub fn replica_state(&self) -> ReplicaState {
        self.replica().clone()
    }

    /// Becomes (or stays) the leader at `epoch`, with `isr_followers` the
    /// other in-sync replicas and `other_replicas` the rest; refused with
    /// FENCED_LEADER_EPOCH for an older epoch (see [`ReplicaState`]). No
    /// append runs during the change.
    pub fn become_leader(
        &self,
        epoch: i32,
        isr_followers: &[ReplicaId],
        other_replicas: &[ReplicaId],
    ) -> Result<(), BrokerError> {
        let mut log = self.lock();
        let mut replica = self.replica();
        let hw = replica.become_leader(
            epoch,
            isr_followers,
            other_replicas,
            log.log_end_offset(),
            crate::now_ms(),
        )?;
        // As Kafka's makeLeader: the epoch starts at the log end now, so
        // OffsetForLeaderEpoch answers for it before anything is appended.
        log.assign_epoch_start(epoch);
        self.leader_epoch.store(epoch, Ordering::Release);
        self.publish_offsets(&log, hw);
        drop(replica);
        drop(log);
        self.appended.notify_waiters();
        Ok(())
    }

    /// Becomes (or stays) a follower of `leader` at `epoch`; refused with
    /// FENCED_LEADER_EPOCH for an older epoch. Produce is then refused with
    /// NOT_LEADER_OR_FOLLOWER. No append runs during the change.
    pub fn become_follower(&self, epoch: i32, leader: ReplicaId) -> Result<(), BrokerError> {
        let log = self.lock();
        let mut replica = self.replica();
        let hw = replica.become_follower(epoch, leader, log.log_end_offset())?;
        self.leader_epoch.store(epoch, Ordering::Release);
        self.publish_offsets(&log, hw);
        drop(replica);
        drop(log);
        // Wakes delayed produces and long polls: they see the new role.
        self.appended.notify_waiters();
        Ok(())
    }

    /// Consumers read below it: on a leader the smallest log end offset of
    /// the ISR (with one replica, the offset of the next record).
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The last stable offset: `read_committed` consumers read below it.
    pub fn last_stable_offset(&self) -> i64 {
        self.last_stable_offset.load(Ordering::Acquire)
    }

    /// First offset in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    /// Notification fired after every append, high watermark move and role
    /// change (long-polling fetches and delayed produces wait on it).
    pub fn appended(&self) -> &Notify {
        &self.appended
    }

    /// Appends one batch already validated by the codec (CRC, layout).
    pub fn append(&self, records: &[u8]) -> Result<AppendOutcome, BrokerError> {
        self.append_guarded(records, None)
    }

    /// Starts a KIP-890 verification for a transactional producer: None
    /// when it already has an open transaction here, else the token to pass
    /// to [`Partition::append_verified`] once the coordinator said yes.
    pub fn begin_verification(&self, producer_id: i64) -> Option<u64> {
        self.lock().begin_verification(producer_id)
    }

    /// Appends a transactional batch: refused (INVALID_TXN_STATE) when its
    /// producer has no open transaction here and `token` is not the
    /// verification still current (a marker arrived since).
    pub fn append_verified(
        &self,
        records: &[u8],
        token: Option<u64>,
    ) -> Result<AppendOutcome, BrokerError> {
        self.append_guarded(records, Some(token))
    }

    fn append_guarded(
        &self,
        records: &[u8],
        guard: Option<Option<u64>>,
    ) -> Result<AppendOutcome, BrokerError> {
        // As Kafka: a follower refuses before looking at the records.
        self.replica().epoch_for_append()?;
        let max = self.max_message_bytes.load(Ordering::Relaxed);
        if records.len() > max {
            return Err(BrokerError::MessageTooLarge {
                size: records.len(),
                max,
            });
        }
        let (mut buf, append_time) = self.prepare(records)?;
        let (result, flush) = {
            let mut log = self.lock();
            // Checked again under the log lock: a role change takes it too,
            // so no batch is stamped with an epoch that is no longer ours.
            let epoch = self.replica().epoch_for_append()?;
            let r = match guard {
                Some(token) => log.append_verified(&mut buf, epoch, token),
                None => log.append(&mut buf, epoch),
            };
            let flush = match &r {
                Ok(info) => self.after_append(&log, info),
                Err(_) => None,
            };
            (r, flush)
        };
        match result {
            Ok(info) => {
                self.appended.notify_waiters();
                self.metrics.bytes_in.increment(records.len() as u64);
                self.metrics
                    .records_in
                    .increment((info.last_offset - info.base_offset + 1).max(0) as u64);
                if let Some((plan, covered)) = flush {
                    // `flush.messages`: acknowledged only once durable.
                    self.sync(&plan, covered)?;
                }
                Ok(AppendOutcome::Appended(info, append_time))
            }
            Err(LogError::DuplicateSequence { base_offset, .. }) => Ok(AppendOutcome::Duplicate {
                base_offset,
                log_start_offset: self.log_start_offset(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// After a successful append, under the log lock: moves the high
    /// watermark as the replica state allows and takes the fsync
    /// `flush.messages` asks for (performed by the caller after releasing
    /// the lock). The offsets are published here, or, when an fsync is due,
    /// only once it is done ([`Partition::sync`]): as in Kafka, where the
    /// flush precedes the high watermark's move, a consumer never reads a
    /// record that `flush.messages` says must be durable first.
    fn after_append(&self, log: &Log, info: &AppendInfo) -> Option<(FlushPlan, i64)> {
        let hw = self.replica().on_local_append(log.log_end_offset());
        if info.flush_needed {
            return Some((log.begin_flush(), log.log_end_offset()));
        }
        self.publish_offsets(log, hw);
        None
    }

    /// Publishes the offsets readers see without a lock. The last stable
    /// offset never passes the high watermark (as Kafka's).
    fn publish_offsets(&self, log: &Log, hw: i64) {
        self.last_stable_offset
            .store(log.last_stable_offset().min(hw), Ordering::Release);
        self.high_watermark.store(hw, Ordering::Release);
    }

    /// Performs an fsync taken under the log lock (when the log ended at
    /// `covered`), without it, then records it as done and publishes the
    /// offsets it made durable (see [`Partition::after_append`]): the high
    /// watermark moves up to `covered` at most, and never back. If the
    /// fsync fails the offsets stay unpublished until a later append or
    /// flush publishes them.
    fn sync(&self, plan: &FlushPlan, covered: i64) -> Result<(), BrokerError> {
        let took = plan.sync()?;
        {
            let mut log = self.lock();
            log.complete_flush(plan);
            let hw = self.replica().high_watermark().min(covered);
            let hw = self.high_watermark.load(Ordering::Acquire).max(hw);
            self.publish_offsets(&log, hw);
        }
        self.appended.notify_waiters();
        crate::metrics::log_flush(took);
        Ok(())
    }

    /// Appends a control batch (a transaction marker written by the
    /// coordinator): no topic-level rewriting, never compressed.
    pub fn append_control(&self, batch: &[u8]) -> Result<AppendInfo, BrokerError> {
        let mut buf = batch.to_vec();
        let (info, flush) = {
            let mut log = self.lock();
            let epoch = self.replica().epoch_for_append()?;
            let info = log.append(&mut buf, epoch)?;
            let flush = self.after_append(&log, &info);
            (info, flush)
        };
        self.appended.notify_waiters();
        if let Some((plan, covered)) = flush {
            self.sync(&plan, covered)?;
        }
        Ok(info)
    }

    /// A retried batch already in the log: the outcome to answer it with.
    pub fn duplicate_of(&self, h: &BatchHeader) -> Option<AppendOutcome> {
        let log = self.lock();
        log.duplicate_of(h)
            .map(|base_offset| AppendOutcome::Duplicate {
                base_offset,
                log_start_offset: log.log_start_offset(),
            })
    }

    /// Forgets producers idle for `expiration_ms` (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, now_ms: i64, expiration_ms: i64) -> usize {
        self.lock().expire_producers(now_ms, expiration_ms)
    }

    /// The producers of this partition (DescribeProducers).
    pub fn producers(&self) -> Vec<ProducerInfo> {
        self.lock().producers()
    }

    /// The bytes to store for a produced batch: every record checked,
    /// checked for keys on a compacted topic, recompressed when the topic's `compression.type`
    /// names another codec, stamped with the broker's time under
    /// LogAppendTime (attributes, max timestamp and CRC only, as Kafka
    /// does). The common case (none of these) is one copy and no decoding.
    fn prepare(&self, records: &[u8]) -> Result<(Vec<u8>, Option<i64>), BrokerError> {
        let compacted = self.compacted.load(Ordering::Relaxed);
        let target = self.compression.load(Ordering::Relaxed);
        let h = BatchHeader::parse(records)?;
        // Every record is walked (decompressing as a stream, capped), as
        // Kafka's log validator does: a CRC-valid batch of garbage is refused
        // here, never stored for consumers to stall on.
        let keyless = validate_produced(&h, records, MAX_DECOMPRESSED_BYTES)?;
        if compacted && !keyless.is_empty() {
            let why = format!(
                "Compacted topic cannot accept message without key in topic partition {}-{}.",
                self.topic, self.index
            );
            return Err(BrokerError::RecordErrors {
                message: format!(
                    "One or more records have been rejected due to {} record errors in total: {why}",
                    keyless.len()
                ),
                records: keyless.into_iter().map(|i| (i, why.clone())).collect(),
            });
        }
        let recompress = target >= 0 && target != h.compression();
        let mut buf = if recompress {
            let section = records_section(&h, records, MAX_DECOMPRESSED_BYTES)?;
            let parsed = parse_records(&h, &section)?;
            rebuild_batch(&h, &parsed, target)?
        } else {
            records.to_vec()
        };
        let max = self.max_message_bytes.load(Ordering::Relaxed);
        if buf.len() > max {
            return Err(BrokerError::MessageTooLarge {
                size: buf.len(),
                max,
            });
        }
        let mut append_time = None;
        if self.log_append_time.load(Ordering::Relaxed) {
            let now = crate::now_ms();
            memorystreamer_log::batch::set_log_append_time(&mut buf, now);
            append_time = Some(now);
        }
        Ok((buf, append_time))
    }

    /// One compaction pass if the log needs one (see
    /// [`memorystreamer_log::cleaner`]); the log lock is held only briefly.
    pub fn compact(
        &self,
        config: &CompactionConfig,
        now_ms: i64,
    ) -> Result<Option<CleanStats>, BrokerError> {
        Ok(memorystreamer_log::compact(&self.log, config, now_ms)?)
    }

    /// Reads whole batches starting with the one containing `offset`, at most
    /// `max_bytes` unless `at_least_one` lets a single larger batch through
    /// (KIP-74). Only data below the high watermark is returned; with
    /// `read_committed`, only data below the last stable offset, plus the
    /// aborted transactions the client must filter out.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        at_least_one: bool,
        read_committed: bool,
    ) -> Result<ReadResult, BrokerError> {
        let limit = if read_committed {
            ReadLimit::LastStable
        } else {
            ReadLimit::HighWatermark
        };
        self.read_up_to(offset, max_bytes, at_least_one, limit)
    }

    /// Reads for a follower replica: like [`Partition::read`] but up to the
    /// log end (followers copy what is not yet committed).
    pub fn read_for_follower(
        &self,
        offset: i64,
        max_bytes: usize,
        at_least_one: bool,
    ) -> Result<ReadResult, BrokerError> {
        self.read_up_to(offset, max_bytes, at_least_one, ReadLimit::LogEnd)
    }

    fn read_up_to(
        &self,
        offset: i64,
        max_bytes: usize,
        at_least_one: bool,
        limit: ReadLimit,
    ) -> Result<ReadResult, BrokerError> {
        let read_committed = limit == ReadLimit::LastStable;
        // Planned under the lock from memory; every file read is after it.
        let (plan, hw, lso, start, end) = {
            let log = self.lock();
            let plan = log.plan_read(offset)?;
            (
                plan,
                self.high_watermark(),
                self.last_stable_offset(),
                log.log_start_offset(),
                log.log_end_offset(),
            )
        };
        let limit = match limit {
            ReadLimit::LastStable => lso,
            ReadLimit::HighWatermark => hw,
            ReadLimit::LogEnd => end,
        };
        let slice = match plan {
            Some(plan) => plan.read_slice(|p| self.lock().plan_next(p))?,
            None => None,
        };
        let mut records = match slice {
            Some(s) if offset < limit => Bytes::from(s.read_batches(max_bytes, at_least_one)?),
            _ => Bytes::new(),
        };
        let mut aborted = Vec::new();
        // Cut at the first batch at or past the limit: the LSO, or a high
        // watermark behind the log end (followers not caught up). A
        // single-replica leader's high watermark is the log end: no cut.
        if (read_committed || limit < end) && !records.is_empty() {
            let mut keep = 0usize;
            let mut last = offset;
            for item in memorystreamer_log::batch::Batches::new(&records) {
                let Ok((h, range)) = item else { break };
                if h.base_offset >= limit {
                    break;
                }
                keep = range.end;
                last = h.last_offset();
            }
            records.truncate(keep);
            if read_committed && !records.is_empty() {
                aborted = self.lock().aborted_transactions(offset, last + 1);
            }
        }
        Ok(ReadResult {
            records,
            high_watermark: hw,
            log_start_offset: start,
            last_stable_offset: lso,
            aborted,
        })
    }

    /// The first batch whose max timestamp is >= `timestamp` (the time
    /// index is consulted under the lock, the file read after it).
    pub fn batch_by_timestamp(
        &self,
        timestamp: i64,
    ) -> Result<Option<(BatchHeader, Vec<u8>)>, BrokerError> {
        let plan = self.lock().plan_timestamp(timestamp);
        match plan {
            Some(plan) => Ok(plan.read_batch(|p| self.lock().plan_next(p))?),
            None => Ok(None),
        }
    }

    /// The batch with the largest timestamp, found from the segments'
    /// tracked max timestamp and its offset (no scan), read without the
    /// lock.
    pub fn max_timestamp_batch(&self) -> Result<Option<(BatchHeader, Vec<u8>)>, BrokerError> {
        let plan = self.lock().plan_max_timestamp();
        match plan {
            Some(plan) => Ok(plan.read_batch()?),
            None => Ok(None),
        }
    }

    /// Retention: removes expired sealed segments (files deleted outside
    /// the log lock). Returns how many segments went.
    pub fn apply_retention(
        &self,
        retention_ms: Option<i64>,
        retention_bytes: Option<u64>,
        now_ms: i64,
    ) -> Result<usize, BrokerError> {
        let removed = {
            let mut log = self.lock();
            let removed = log.take_expired(retention_ms, retention_bytes, now_ms);
            self.log_start_offset
                .store(log.log_start_offset(), Ordering::Release);
            self.publish_offsets(&log, self.high_watermark());
            removed
        };
        Ok(removed.delete_files()?)
    }

    /// DeleteRecords (on the leader only): moves the log start offset to
    /// `offset`; returns the new log start offset.
    pub fn delete_records(&self, offset: i64) -> Result<i64, BrokerError> {
        let (start, removed) = {
            let mut log = self.lock();
            self.replica().epoch_for_append()?;
            let hw = self.high_watermark();
            // -1 means "up to the high watermark" (Kafka's convention).
            let target = if offset == -1 { hw } else { offset };
            let r = log.delete_records_before(target)?;
            self.log_start_offset.store(r.0, Ordering::Release);
            self.publish_offsets(&log, hw);
            r
        };
        removed.delete_files()?;
        Ok(start)
    }

    /// Applies changed topic settings.
    pub fn reconfigure(
        &self,
        settings: &PartitionSettings,
        log_config: memorystreamer_log::LogConfig,
    ) {
        self.max_message_bytes
            .store(settings.max_message_bytes, Ordering::Relaxed);
        self.min_insync
            .store(min_insync(settings), Ordering::Relaxed);
        self.compacted.store(settings.compacted, Ordering::Relaxed);
        self.log_append_time
            .store(settings.log_append_time, Ordering::Relaxed);
        self.compression
            .store(settings.compression.unwrap_or(-1), Ordering::Relaxed);
        self.lock().set_config(log_config);
    }

    /// fsyncs the log if it has unflushed records (the fsync runs without
    /// the log lock: appends go on meanwhile).
    pub fn flush(&self) -> Result<(), BrokerError> {
        let plan = {
            let log = self.lock();
            (log.unflushed_messages() > 0).then(|| (log.begin_flush(), log.log_end_offset()))
        };
        match plan {
            Some((plan, covered)) => self.sync(&plan, covered),
            None => Ok(()),
        }
    }

    /// fsyncs the log when its `flush.ms` has passed with records unflushed
    /// (without the log lock, as [`Partition::flush`]).
    pub fn flush_if_due(&self) -> Result<(), BrokerError> {
        let plan = {
            let log = self.lock();
            log.flush_due()
                .then(|| (log.begin_flush(), log.log_end_offset()))
        };
        match plan {
            Some((plan, covered)) => self.sync(&plan, covered),
            None => Ok(()),
        }
    }

    /// Number of segments and bytes on disk.
    pub fn disk_usage(&self) -> (usize, u64) {
        let log = self.lock();
        (log.segment_count(), log.size_bytes())
    }
}

/// `min.insync.replicas` as a count (at least 1).
fn min_insync(settings: &PartitionSettings) -> usize {
    usize::try_from(settings.min_insync_replicas)
        .unwrap_or(1)
        .max(1)
}

/// Where a read stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadLimit {
    /// `read_committed` consumers.
    LastStable,
    /// `read_uncommitted` consumers.
    HighWatermark,
    /// Follower replicas.
    LogEnd,
}

/// All partitions of one topic hosted here.
pub struct TopicPartitions {
    /// Topic id.
    pub topic_id: Uuid,
    /// Partitions by index; `None` where another broker hosts it.
    pub partitions: Vec<Option<Arc<Partition>>>,
}
