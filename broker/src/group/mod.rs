//! The group coordinator (classic protocol): group state machines, committed
//! offsets, and their durability in `__consumer_offsets`.
//!
//! Every group lives on partition `abs(hash(group)) % offsets.topic.num.partitions`
//! of the internal compacted topic `__consumer_offsets`, written with Kafka's
//! key/value schemas ([`records`]). A commit or a group change is appended
//! there before it is acknowledged. The coordinator serves the groups of the
//! offsets partitions this node leads: when it becomes leader of one it
//! replays it into groups and offsets ([`load`]; meanwhile its groups get
//! COORDINATOR_LOAD_IN_PROGRESS), when it stops leading it drops them
//! (NOT_COORDINATOR from then on). A single lock serialises coordinator work
//! (no lock is held across an await, nor during a replay); waits for
//! rebalances are one-shot channels awaited outside it.
//!
//! Transactional offset commits (TxnOffsetCommit, KIP-447) are appended as
//! transactional records of the producer and held as *pending* until the
//! transaction coordinator's marker reaches the offsets partition: COMMIT
//! makes them the group's committed offsets, ABORT drops them. Replay does
//! the same with the markers in the log, so an undecided transaction at a
//! crash stays pending until its coordinator finishes it.
//!
//! The coordinator reaches the node it runs on only through
//! [`GroupHost`](crate::coordinator::GroupHost) (the hosted offsets
//! partitions and the metadata's "does this partition exist"), so it is
//! tested on the in-memory host as well as on the broker. Its refusals are
//! [`GroupError`]s; `crate::error` maps them to Kafka codes.
//!
//! Not here: KIP-848 (ConsumerGroupHeartbeat), offset retention
//! (`offsets.retention.minutes`), routing a group to its coordinator (the
//! broker).

#[cfg(test)]
mod coordinator_tests;
#[cfg(test)]
mod leadership_tests;
mod load;
pub mod protocol;
pub mod records;
pub mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use tracing::warn;

use self::protocol::{GroupConfig, GroupState, JoinRequest, JoinResult, Reply, SyncResult};
use self::records::{partition_for, OffsetValue, OffsetsKey};
use self::state::Group;
use crate::coordinator::loading::{LoadStatus, PartitionLoads};
use crate::coordinator::GroupHost;
pub use crate::coordinator::OFFSETS_TOPIC;
use crate::error::{BrokerError, GroupError};

/// Transactional offsets of one producer waiting for their marker:
/// (group, topic, partition) -> offset.
type PendingOffsets = BTreeMap<(String, String, i32), OffsetValue>;

#[derive(Default)]
struct Inner {
    groups: HashMap<String, Group>,
    offsets: HashMap<String, BTreeMap<(String, i32), OffsetValue>>,
    /// Undecided transactional commits by producer id.
    pending: HashMap<i64, PendingOffsets>,
    /// The offsets partitions led and loaded (or loading) here.
    loads: PartitionLoads,
    /// Markers (producer id, commit) that reached a partition while it was
    /// loading, settled once its replay is in.
    settles_while_loading: HashMap<i32, Vec<(i64, bool)>>,
}

impl Inner {
    /// Whether `partition`'s groups are served here.
    fn status(&self, partition: i32) -> Result<(), GroupError> {
        match self.loads.status(partition) {
            LoadStatus::Loaded => Ok(()),
            LoadStatus::Loading => Err(GroupError::CoordinatorLoadInProgress),
            LoadStatus::NotHere => Err(GroupError::NotCoordinator),
        }
    }
}

/// One offset to commit.
#[derive(Debug, Clone)]
pub struct CommitEntry {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Leader epoch (-1 unknown).
    pub leader_epoch: i32,
    /// Metadata string.
    pub metadata: String,
}

/// Summary of a group for ListGroups.
#[derive(Debug, Clone)]
pub struct GroupListing {
    /// Group id.
    pub group_id: String,
    /// Protocol type ("" for offset-only groups).
    pub protocol_type: String,
    /// State.
    pub state: GroupState,
}

/// The coordinator.
pub struct GroupCoordinator {
    config: GroupConfig,
    partitions: i32,
    inner: Mutex<Inner>,
}

/// The `__consumer_offsets` key of one committed offset.
fn offset_key(group: &str, topic: &str, partition: i32) -> Bytes {
    OffsetsKey::Offset {
        group: group.to_string(),
        topic: topic.to_string(),
        partition,
    }
    .encode()
}

impl GroupCoordinator {
    /// A coordinator with no groups; call [`GroupCoordinator::load`] to replay.
    pub fn new(config: GroupConfig, partitions: i32) -> Self {
        GroupCoordinator {
            config,
            partitions,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `__consumer_offsets` partition of a group.
    pub fn partition_of(&self, group: &str) -> i32 {
        partition_for(group, self.partitions)
    }

    /// Whether this node coordinates `group` now: Ok once its offsets
    /// partition is led and loaded here, COORDINATOR_LOAD_IN_PROGRESS while
    /// it is being replayed, NOT_COORDINATOR otherwise.
    pub fn check_coordinator(&self, group: &str) -> Result<(), GroupError> {
        self.lock().status(self.partition_of(group))
    }

    /// Appends key/value records for `group` to its offsets partition.
    fn persist(
        &self,
        host: &dyn GroupHost,
        group: &str,
        kvs: Vec<(Bytes, Option<Bytes>)>,
    ) -> Result<(), BrokerError> {
        self.persist_as(host, group, kvs, None, None)
    }

    /// Like `persist`; with a producer (id, epoch) the batch is that
    /// producer's transactional batch (TxnOffsetCommit), appended under the
    /// KIP-890 verification `token` (see `Partition::append_verified`).
    fn persist_as(
        &self,
        host: &dyn GroupHost,
        group: &str,
        kvs: Vec<(Bytes, Option<Bytes>)>,
        producer: Option<(i64, i16)>,
        token: Option<u64>,
    ) -> Result<(), BrokerError> {
        if kvs.is_empty() {
            return Ok(());
        }
        let partition = host
            .internal_partition(OFFSETS_TOPIC, self.partition_of(group))
            .ok_or(BrokerError::UnknownTopicOrPartition)?;
        let buf = crate::internal_topic::encode_batch(OFFSETS_TOPIC, kvs, producer)?;
        if producer.is_some() {
            partition.append_verified(&buf, token)?;
        } else {
            partition.append(&buf)?;
        }
        Ok(())
    }

    fn persist_group_if_dirty(&self, host: &dyn GroupHost, group: &mut Group) {
        if group.take_dirty() {
            let key = OffsetsKey::Group {
                group: group.id.clone(),
            }
            .encode();
            let value = group.to_stored().encode();
            if let Err(e) = self.persist(host, &group.id, vec![(key, Some(value))]) {
                warn!(group = %group.id, error = %e, "cannot persist group metadata");
            }
        }
    }

    /// JoinGroup.
    pub fn join(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        req: JoinRequest,
    ) -> Reply<JoinResult> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return Reply::Now(JoinResult::error(e, &req.member_id));
        }
        let group = inner
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        let reply = group.join(req, Instant::now(), &self.config);
        self.persist_group_if_dirty(host, group);
        reply
    }

    /// SyncGroup.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> Reply<SyncResult> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return Reply::Now(SyncResult::error(e));
        }
        let Some(group) = inner.groups.get_mut(group_id) else {
            return Reply::Now(SyncResult {
                error: Some(GroupError::UnknownMemberId),
                protocol_type: None,
                protocol_name: None,
                assignment: Bytes::new(),
            });
        };
        let reply = group.sync(
            member_id,
            instance_id,
            generation,
            protocol_type,
            protocol_name,
            assignments,
            Instant::now(),
        );
        self.persist_group_if_dirty(host, group);
        reply
    }

    /// Heartbeat.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Option<GroupError> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return Some(e);
        }
        match inner.groups.get_mut(group_id) {
            Some(g) => g.heartbeat(member_id, instance_id, generation, Instant::now()),
            None => Some(GroupError::UnknownMemberId),
        }
    }

    /// LeaveGroup for several members; one result per member.
    pub fn leave(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        let mut inner = self.lock();
        inner.status(self.partition_of(group_id))?;
        let Some(group) = inner.groups.get_mut(group_id) else {
            return Err(GroupError::UnknownMemberId);
        };
        let now = Instant::now();
        let results = members
            .iter()
            .map(|(m, i)| group.leave(m, i.as_deref(), now, &self.config))
            .collect();
        self.persist_group_if_dirty(host, group);
        Ok(results)
    }

    /// Commits offsets after checking the member's right to; durable before
    /// it returns. Returns one error (or none) per entry.
    pub fn commit(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        entries: &[CommitEntry],
    ) -> Vec<Option<GroupError>> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return vec![Some(e); entries.len()];
        }
        if let Some(g) = inner.groups.get(group_id) {
            if let Err(e) = g.check_commit(member_id, instance_id, generation) {
                return vec![Some(e); entries.len()];
            }
        } else if generation >= 0 || !member_id.is_empty() {
            return vec![Some(GroupError::UnknownMemberId); entries.len()];
        }
        self.write_offsets(host, &mut inner, group_id, entries, None)
    }

    /// TxnOffsetCommit: appends the offsets as a transactional batch of the
    /// producer and holds them as pending until the transaction's marker.
    /// Member checks apply when the request names a generation or member
    /// (KIP-447). `token` is the KIP-890 verification of the offsets
    /// partition (None when the producer's transaction is already open
    /// there). Returns one error (or none) per entry.
    #[allow(clippy::too_many_arguments)]
    pub fn txn_commit(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        entries: &[CommitEntry],
        token: Option<u64>,
    ) -> Vec<Option<GroupError>> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return vec![Some(e); entries.len()];
        }
        if generation >= 0 || !member_id.is_empty() {
            match inner.groups.get(group_id) {
                Some(g) => {
                    if let Err(e) = g.check_commit(member_id, instance_id, generation) {
                        return vec![Some(e); entries.len()];
                    }
                }
                None => return vec![Some(GroupError::UnknownMemberId); entries.len()],
            }
        }
        self.write_offsets(
            host,
            &mut inner,
            group_id,
            entries,
            Some((producer_id, producer_epoch, token)),
        )
    }

    /// Checks and appends `entries` to the group's offsets partition, then
    /// applies them: as committed offsets, or (with a transaction's
    /// producer id, epoch and verification token) as that producer's
    /// pending offsets. Returns one error (or none) per entry.
    fn write_offsets(
        &self,
        host: &dyn GroupHost,
        inner: &mut Inner,
        group_id: &str,
        entries: &[CommitEntry],
        txn: Option<(i64, i16, Option<u64>)>,
    ) -> Vec<Option<GroupError>> {
        let ts = crate::now_ms();
        let mut results = Vec::with_capacity(entries.len());
        let mut kvs = Vec::new();
        let mut accepted = Vec::new();
        for e in entries {
            if e.metadata.len() > 4096 {
                results.push(Some(GroupError::OffsetMetadataTooLarge));
                continue;
            }
            if !host.partition_exists(&e.topic, e.partition) {
                results.push(Some(GroupError::UnknownTopicOrPartition));
                continue;
            }
            let value = OffsetValue {
                offset: e.offset,
                leader_epoch: e.leader_epoch,
                metadata: e.metadata.clone(),
                commit_timestamp: ts,
            };
            kvs.push((
                offset_key(group_id, &e.topic, e.partition),
                Some(value.encode()),
            ));
            accepted.push((results.len(), (e.topic.clone(), e.partition), value));
            results.push(None);
        }
        let producer = txn.map(|(id, epoch, _)| (id, epoch));
        let token = txn.and_then(|(_, _, token)| token);
        if let Err(err) = self.persist_as(host, group_id, kvs, producer, token) {
            warn!(group = group_id, transactional = txn.is_some(), error = %err, "offset commit not written");
            let err = GroupError::from(err);
            for (i, _, _) in &accepted {
                results[*i] = Some(err.clone());
            }
            return results;
        }
        inner
            .groups
            .entry(group_id.to_string())
            .or_insert_with(|| Group::new(group_id));
        match producer {
            None => {
                for (_, (topic, partition), _) in &accepted {
                    drop_pending(inner, group_id, topic, *partition);
                }
                let map = inner.offsets.entry(group_id.to_string()).or_default();
                for (_, key, value) in accepted {
                    map.insert(key, value);
                }
            }
            Some((producer_id, _)) => {
                let pending = inner.pending.entry(producer_id).or_default();
                for (_, (topic, partition), value) in accepted {
                    pending.insert((group_id.to_string(), topic, partition), value);
                }
            }
        }
        results
    }

    /// A transaction marker reached offsets partition `partition`: the
    /// producer's pending offsets of groups on that partition are committed
    /// or dropped (once the partition's replay is in, when it is loading;
    /// not at all when it is not loaded here: the marker is in the log, for
    /// whoever loads it).
    pub fn complete_txn(&self, partition: i32, producer_id: i64, commit: bool) {
        let mut inner = self.lock();
        match inner.loads.status(partition) {
            LoadStatus::Loaded => self.settle(&mut inner, partition, producer_id, commit),
            LoadStatus::Loading => inner
                .settles_while_loading
                .entry(partition)
                .or_default()
                .push((producer_id, commit)),
            LoadStatus::NotHere => {}
        }
    }

    fn settle(&self, inner: &mut Inner, partition: i32, producer_id: i64, commit: bool) {
        let Some(pending) = inner.pending.get_mut(&producer_id) else {
            return;
        };
        let here: Vec<(String, String, i32)> = pending
            .keys()
            .filter(|(g, _, _)| self.partition_of(g) == partition)
            .cloned()
            .collect();
        let mut settled = Vec::with_capacity(here.len());
        for k in here {
            if let Some(v) = pending.remove(&k) {
                settled.push((k, v));
            }
        }
        if pending.is_empty() {
            inner.pending.remove(&producer_id);
        }
        if commit {
            for ((group, topic, p), v) in settled {
                store_offset(inner, group, topic, p, v);
            }
        }
    }

    /// Partitions of `group_id` with a transactional commit not yet decided.
    pub fn pending_partitions(&self, group_id: &str) -> std::collections::HashSet<(String, i32)> {
        let inner = self.lock();
        inner
            .pending
            .values()
            .flat_map(|m| m.keys())
            .filter(|(g, _, _)| g == group_id)
            .map(|(_, t, p)| (t.clone(), *p))
            .collect()
    }

    /// Committed offsets of a group: for the given partitions, or all.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Vec<((String, i32), Option<OffsetValue>)> {
        let inner = self.lock();
        let offsets = inner.offsets.get(group_id);
        match partitions {
            Some(ps) => ps
                .iter()
                .map(|k| (k.clone(), offsets.and_then(|o| o.get(k)).cloned()))
                .collect(),
            None => offsets
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), Some(v.clone())))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// All groups, for ListGroups.
    pub fn list(&self) -> Vec<GroupListing> {
        let inner = self.lock();
        let mut v: Vec<_> = inner
            .groups
            .values()
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        v.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        v
    }

    /// Runs `f` on a group (for DescribeGroups).
    pub fn with_group<T>(&self, group_id: &str, f: impl FnOnce(Option<&Group>) -> T) -> T {
        let inner = self.lock();
        f(inner.groups.get(group_id))
    }

    /// DeleteGroups for one group: only empty groups; writes tombstones.
    pub fn delete(&self, host: &dyn GroupHost, group_id: &str) -> Option<GroupError> {
        let mut inner = self.lock();
        if let Err(e) = inner.status(self.partition_of(group_id)) {
            return Some(e);
        }
        match inner.groups.get(group_id) {
            None => return Some(GroupError::GroupIdNotFound),
            Some(g) if g.state != GroupState::Empty => return Some(GroupError::NonEmptyGroup),
            Some(_) => {}
        }
        let mut kvs: Vec<(Bytes, Option<Bytes>)> = inner
            .offsets
            .get(group_id)
            .map(|o| {
                o.keys()
                    .map(|(t, p)| (offset_key(group_id, t, *p), None))
                    .collect()
            })
            .unwrap_or_default();
        kvs.push((
            OffsetsKey::Group {
                group: group_id.into(),
            }
            .encode(),
            None,
        ));
        if let Err(e) = self.persist(host, group_id, kvs) {
            return Some(e.into());
        }
        inner.groups.remove(group_id);
        inner.offsets.remove(group_id);
        None
    }

    /// OffsetDelete: removes committed offsets of partitions of topics the
    /// group is not subscribed to.
    pub fn delete_offsets(
        &self,
        host: &dyn GroupHost,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<Option<GroupError>>, GroupError> {
        let mut inner = self.lock();
        inner.status(self.partition_of(group_id))?;
        let Some(group) = inner.groups.get(group_id) else {
            return Err(GroupError::GroupIdNotFound);
        };
        let subscribed = if group.state == GroupState::Empty {
            Some(Vec::new())
        } else {
            group.subscribed_topics()
        };
        let Some(subscribed) = subscribed else {
            return Err(GroupError::NonEmptyGroup);
        };
        let mut results = Vec::new();
        let mut kvs = Vec::new();
        let mut removed = Vec::new();
        for (t, p) in partitions {
            if subscribed.contains(t) {
                results.push(Some(GroupError::GroupSubscribedToTopic));
                continue;
            }
            kvs.push((offset_key(group_id, t, *p), None));
            removed.push((t.clone(), *p));
            results.push(None);
        }
        if let Err(e) = self.persist(host, group_id, kvs) {
            return Err(e.into());
        }
        if let Some(o) = inner.offsets.get_mut(group_id) {
            for k in removed {
                o.remove(&k);
            }
        }
        Ok(results)
    }

    /// Advances the timers of every group served here (not of those whose
    /// partition is reloading).
    pub fn tick(&self, host: &dyn GroupHost) {
        let mut inner = self.lock();
        let now = Instant::now();
        let Inner { groups, loads, .. } = &mut *inner;
        for g in groups.values_mut() {
            if loads.status(self.partition_of(&g.id)) != LoadStatus::Loaded {
                continue;
            }
            g.tick(now, &self.config);
            self.persist_group_if_dirty(host, g);
        }
    }
}

/// Records `group`'s committed offset of `topic`-`partition` (a replayed
/// commit or a settled transactional one), creating the group if needed.
fn store_offset(
    inner: &mut Inner,
    group: String,
    topic: String,
    partition: i32,
    value: OffsetValue,
) {
    inner
        .groups
        .entry(group.clone())
        .or_insert_with(|| Group::new(&group));
    inner
        .offsets
        .entry(group)
        .or_default()
        .insert((topic, partition), value);
}

/// A plain commit of a key is newer (later in the log) than any pending
/// transactional commit of it, which therefore must not overwrite it when its
/// transaction commits (Kafka compares log offsets to the same effect).
fn drop_pending(inner: &mut Inner, group: &str, topic: &str, partition: i32) {
    inner.pending.retain(|_, m| {
        m.retain(|(g, t, p), _| !(g == group && t == topic && *p == partition));
        !m.is_empty()
    });
}
