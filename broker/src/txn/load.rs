//! Loading and unloading the transaction coordinator's state as leadership
//! of `__transaction_state` partitions moves: replaying a partition this
//! node now leads, finishing the transactions it holds in PrepareCommit or
//! PrepareAbort (markers re-sent, then CompleteCommit / CompleteAbort
//! stored, as Kafka's coordinator does on load), and dropping a partition's
//! ids when another node takes over. Open transactions of a loaded
//! partition are aborted by the periodic tick once past their timeout.
//!
//! A partition is replayed into a fresh map without the coordinator's lock
//! (its ids answer COORDINATOR_LOAD_IN_PROGRESS meanwhile) and merged in
//! under it, unless a newer notification superseded the load.
//!
//! Not here: the record schemas (`records`), the state machine (`state`),
//! deciding who leads (the broker's image applier calls
//! [`TxnCoordinator::on_leadership_change`]).

use std::collections::HashMap;

use kafka_protocol::records::Record;
use tracing::{info, warn};

use super::state::TxnMetadata;
use super::{records, Inner, TxnCoordinator, TXN_TOPIC};
use crate::coordinator::InternalLog;
use crate::error::BrokerError;
use crate::replica::partition::Role;

impl TxnCoordinator {
    /// Loads every `__transaction_state` partition this node leads (on
    /// start; prepared transactions are finished by the first
    /// [`TxnCoordinator::tick`]). The broker also reports every leadership
    /// change through [`TxnCoordinator::on_leadership_change`].
    pub fn load(&self, log: &dyn InternalLog) -> Result<(), BrokerError> {
        for p in log.internal_partitions(TXN_TOPIC) {
            if p.role() == Role::Leader {
                self.load_partition(log, p.index, p.leader_epoch())?;
            }
        }
        Ok(())
    }

    /// Leadership of state partition `partition` changed: `leader` (this
    /// node leads it at `leader_epoch`) loads it unless it is already
    /// loaded or loading at that epoch or a newer one (a newer epoch
    /// reloads), then starts finishing its prepared transactions; not
    /// `leader` drops its ids unless it was loaded at a newer epoch than
    /// `leader_epoch` (a retired partition: pass `i32::MAX`). Repeated
    /// calls are harmless. A replay that fails is logged and the partition
    /// stays unloaded (NOT_COORDINATOR) until the next call. The prepared
    /// transactions' completions start at once on the host the coordinator
    /// last served a request or tick on (inside a Tokio runtime), else at
    /// the next [`TxnCoordinator::tick`].
    pub fn on_leadership_change(
        &self,
        log: &dyn InternalLog,
        partition: i32,
        leader: bool,
        leader_epoch: i32,
    ) {
        if !leader {
            self.unload(partition, leader_epoch);
            return;
        }
        match self.load_partition(log, partition, leader_epoch) {
            Ok(prepared) => {
                if let Some(complete) = self.core.completer.get() {
                    for id in prepared {
                        complete(&self.core, &id);
                    }
                }
            }
            Err(e) => {
                warn!(partition, leader_epoch, error = %e, "cannot load a {TXN_TOPIC} partition")
            }
        }
    }

    /// The state partitions loaded or loading here, with their epochs.
    pub fn loaded_partitions(&self) -> Vec<(i32, i32)> {
        self.lock().loads.partitions()
    }

    /// Loads `partition` at `epoch`; returns the ids it holds in a Prepare
    /// state (empty when nothing was loaded).
    fn load_partition(
        &self,
        log: &dyn InternalLog,
        partition: i32,
        epoch: i32,
    ) -> Result<Vec<String>, BrokerError> {
        if !self.lock().loads.begin(partition, epoch) {
            return Ok(Vec::new());
        }
        let replayed = replay(log, partition);
        let mut inner = self.lock();
        let (fresh, records) = match replayed {
            Ok(r) => r,
            Err(e) => {
                inner.loads.abandon(partition, epoch);
                return Err(e);
            }
        };
        if !inner.loads.finish(partition, epoch) {
            return Ok(Vec::new());
        }
        // What an older epoch's load left is replaced by the replay.
        inner
            .txns
            .retain(|id, _| self.core.partition_of(id) != partition);
        let prepared: Vec<String> = fresh
            .values()
            .filter(|m| m.state.is_prepare())
            .map(|m| m.transactional_id.clone())
            .collect();
        let ids = fresh.len();
        inner.txns.extend(fresh);
        info!(
            partition,
            leader_epoch = epoch,
            records,
            transactional_ids = ids,
            prepared = prepared.len(),
            "loaded a {TXN_TOPIC} partition"
        );
        Ok(prepared)
    }

    /// Stops coordinating the ids of `partition` (when it was loaded at
    /// `epoch` or before). A completion task of a dropped id ends at its
    /// next step (it finds no prepared state).
    fn unload(&self, partition: i32, epoch: i32) {
        let mut inner = self.lock();
        if !inner.loads.unload(partition, epoch) {
            return;
        }
        let before = inner.txns.len();
        inner
            .txns
            .retain(|id, _| self.core.partition_of(id) != partition);
        let dropped = before - inner.txns.len();
        info!(
            partition,
            leader_epoch = epoch,
            transactional_ids = dropped,
            "unloaded a {TXN_TOPIC} partition"
        );
    }
}

/// Replays state partition `partition` into a fresh map (without the
/// coordinator's lock): the ids' states and how many records there were.
fn replay(
    log: &dyn InternalLog,
    partition: i32,
) -> Result<(HashMap<String, TxnMetadata>, usize), BrokerError> {
    let p = log
        .internal_partition(TXN_TOPIC, partition)
        .ok_or(BrokerError::NotLeaderOrFollower)?;
    let mut fresh = Inner::default();
    let records = crate::internal_topic::replay(&p, |r| apply_record(&mut fresh, r))?;
    Ok((fresh.txns, records))
}

fn apply_record(inner: &mut Inner, r: &Record) {
    let Some(key) = r.key.as_ref() else { return };
    let id = match records::decode_key(key) {
        Ok(id) => id,
        Err(e) => {
            warn!(error = %e, offset = r.offset, "skipping undecodable {TXN_TOPIC} key");
            return;
        }
    };
    match r.value.as_ref() {
        None => {
            inner.txns.remove(&id);
        }
        Some(v) => match records::decode_value(&id, v) {
            Ok(meta) => {
                inner.txns.insert(id, meta);
            }
            Err(e) => {
                warn!(error = %e, offset = r.offset, "skipping undecodable {TXN_TOPIC} value")
            }
        },
    }
}
