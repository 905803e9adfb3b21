//! Loading and unloading the group coordinator's state as leadership of
//! `__consumer_offsets` partitions moves: replaying a partition this node
//! now leads into groups, committed offsets and pending transactional
//! offsets, and dropping them when another node takes over.
//!
//! A partition is replayed into fresh maps without the coordinator's lock
//! (its groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile) and merged in
//! under it, unless a newer notification superseded the load. Groups come
//! back as stored (Empty, or Stable with their members, each with a fresh
//! session, so members that do not heartbeat the new coordinator expire),
//! as Kafka loads them. Unloading answers every member waiting in a join or
//! sync with NOT_COORDINATOR.
//!
//! Not here: the record schemas (`records`), the state machine
//! (`state`), deciding who leads (the broker's image applier calls
//! [`GroupCoordinator::on_leadership_change`]).

use std::time::Instant;

use kafka_protocol::records::Record;
use tracing::{info, warn};

use super::records::{GroupValue, OffsetValue, OffsetsKey};
use super::state::Group;
use super::{drop_pending, store_offset, GroupCoordinator, Inner, OFFSETS_TOPIC};
use crate::coordinator::GroupHost;
use crate::error::{BrokerError, GroupError};
use crate::replica::partition::Role;

impl GroupCoordinator {
    /// Loads every `__consumer_offsets` partition this node leads (on
    /// start; the broker also reports every leadership change through
    /// [`GroupCoordinator::on_leadership_change`]).
    pub fn load(&self, host: &dyn GroupHost) -> Result<(), BrokerError> {
        for p in host.internal_partitions(OFFSETS_TOPIC) {
            if p.role() == Role::Leader {
                self.load_partition(host, p.index, p.leader_epoch())?;
            }
        }
        Ok(())
    }

    /// Leadership of offsets partition `partition` changed: `leader` (this
    /// node leads it at `leader_epoch`) loads it unless it is already
    /// loaded or loading at that epoch or a newer one (a newer epoch
    /// reloads); not `leader` drops its groups and offsets unless it was
    /// loaded at a newer epoch than `leader_epoch` (a retired partition:
    /// pass `i32::MAX`). Repeated calls are harmless. A replay that fails
    /// is logged and the partition stays unloaded (NOT_COORDINATOR) until
    /// the next call.
    pub fn on_leadership_change(
        &self,
        host: &dyn GroupHost,
        partition: i32,
        leader: bool,
        leader_epoch: i32,
    ) {
        if !leader {
            self.unload(partition, leader_epoch);
        } else if let Err(e) = self.load_partition(host, partition, leader_epoch) {
            warn!(partition, leader_epoch, error = %e, "cannot load a {OFFSETS_TOPIC} partition");
        }
    }

    /// The offsets partitions loaded or loading here, with their epochs.
    pub fn loaded_partitions(&self) -> Vec<(i32, i32)> {
        self.lock().loads.partitions()
    }

    fn load_partition(
        &self,
        host: &dyn GroupHost,
        partition: i32,
        epoch: i32,
    ) -> Result<(), BrokerError> {
        {
            let mut inner = self.lock();
            if !inner.loads.begin(partition, epoch) {
                return Ok(());
            }
            inner.settles_while_loading.insert(partition, Vec::new());
        }
        let replayed = self.replay(host, partition);
        let mut inner = self.lock();
        let (fresh, records) = match replayed {
            Ok(r) => r,
            Err(e) => {
                inner.loads.abandon(partition, epoch);
                inner.settles_while_loading.remove(&partition);
                return Err(e);
            }
        };
        if !inner.loads.finish(partition, epoch) {
            return Ok(());
        }
        // What an older epoch's load left is replaced by the replay.
        self.drop_partition(&mut inner, partition);
        let groups = fresh.groups.len();
        inner.groups.extend(fresh.groups);
        inner.offsets.extend(fresh.offsets);
        for (producer_id, offsets) in fresh.pending {
            inner
                .pending
                .entry(producer_id)
                .or_default()
                .extend(offsets);
        }
        let settles = inner
            .settles_while_loading
            .remove(&partition)
            .unwrap_or_default();
        for (producer_id, commit) in settles {
            self.settle(&mut inner, partition, producer_id, commit);
        }
        info!(
            partition,
            leader_epoch = epoch,
            records,
            groups,
            "loaded a {OFFSETS_TOPIC} partition"
        );
        Ok(())
    }

    /// Replays offsets partition `partition` into fresh state (without the
    /// coordinator's lock): the state and how many records there were.
    fn replay(&self, host: &dyn GroupHost, partition: i32) -> Result<(Inner, usize), BrokerError> {
        let p = host
            .internal_partition(OFFSETS_TOPIC, partition)
            .ok_or(BrokerError::NotLeaderOrFollower)?;
        let mut fresh = Inner::default();
        let now = Instant::now();
        let records = crate::internal_topic::replay(&p, |r| {
            if r.control {
                // Control record key: version:i16 type:i16 (0 abort, 1 commit).
                if let Some(k) = r.key.as_ref().filter(|k| k.len() >= 4) {
                    let commit = i16::from_be_bytes([k[2], k[3]]) == 1;
                    self.settle(&mut fresh, partition, r.producer_id, commit);
                }
            } else if r.transactional {
                apply_pending(&mut fresh, r);
            } else {
                apply_record(&mut fresh, r, now);
            }
        })?;
        Ok((fresh, records))
    }

    /// Stops serving offsets partition `partition` (when it was loaded at
    /// `epoch` or before).
    fn unload(&self, partition: i32, epoch: i32) {
        let mut inner = self.lock();
        if !inner.loads.unload(partition, epoch) {
            return;
        }
        inner.settles_while_loading.remove(&partition);
        let groups = self.drop_partition(&mut inner, partition);
        info!(
            partition,
            leader_epoch = epoch,
            groups,
            "unloaded a {OFFSETS_TOPIC} partition"
        );
    }

    /// Drops the groups, offsets and pending offsets of `partition` from
    /// memory; members waiting in a join or sync get NOT_COORDINATOR.
    /// Returns how many groups there were.
    fn drop_partition(&self, inner: &mut Inner, partition: i32) -> usize {
        let here = |g: &String| self.partition_of(g) == partition;
        let ids: Vec<String> = inner.groups.keys().filter(|g| here(g)).cloned().collect();
        for id in &ids {
            if let Some(mut g) = inner.groups.remove(id) {
                g.fail_waits(&GroupError::NotCoordinator);
            }
        }
        inner.offsets.retain(|g, _| !here(g));
        inner.pending.retain(|_, m| {
            m.retain(|(g, _, _), _| !here(g));
            !m.is_empty()
        });
        ids.len()
    }
}

/// A transactional offset commit read back from the log: pending until the
/// producer's marker.
fn apply_pending(inner: &mut Inner, r: &Record) {
    let Some(key) = r.key.as_ref() else { return };
    if let (
        Ok(Some(OffsetsKey::Offset {
            group,
            topic,
            partition,
        })),
        Some(v),
    ) = (OffsetsKey::decode(key), r.value.as_ref())
    {
        match OffsetValue::decode(v) {
            Ok(value) => {
                inner
                    .pending
                    .entry(r.producer_id)
                    .or_default()
                    .insert((group, topic, partition), value);
            }
            Err(e) => warn!(error = %e, offset = r.offset, "skipping undecodable offset value"),
        }
    }
}

fn apply_record(inner: &mut Inner, r: &Record, now: Instant) {
    let Some(key) = r.key.as_ref() else { return };
    let key = match OffsetsKey::decode(key) {
        Ok(Some(k)) => k,
        Ok(None) => return,
        Err(e) => {
            warn!(error = %e, offset = r.offset, "skipping undecodable {OFFSETS_TOPIC} key");
            return;
        }
    };
    match (key, r.value.as_ref()) {
        (
            OffsetsKey::Offset {
                group,
                topic,
                partition,
            },
            Some(v),
        ) => match OffsetValue::decode(v) {
            Ok(value) => {
                drop_pending(inner, &group, &topic, partition);
                store_offset(inner, group, topic, partition, value);
            }
            Err(e) => warn!(error = %e, offset = r.offset, "skipping undecodable offset value"),
        },
        (
            OffsetsKey::Offset {
                group,
                topic,
                partition,
            },
            None,
        ) => {
            if let Some(o) = inner.offsets.get_mut(&group) {
                o.remove(&(topic, partition));
            }
        }
        (OffsetsKey::Group { group }, Some(v)) => match GroupValue::decode(v) {
            Ok(value) => {
                inner
                    .groups
                    .insert(group.clone(), Group::from_stored(&group, &value, now));
            }
            Err(e) => warn!(error = %e, offset = r.offset, "skipping undecodable group metadata"),
        },
        (OffsetsKey::Group { group }, None) => {
            inner.groups.remove(&group);
            inner.offsets.remove(&group);
        }
    }
}
