//! The replication side of a hosted partition: what the leader does when a
//! follower fetches (follower log ends, the ISR it wants, the divergence
//! check of KIP-320), what a follower does with the leader's answer
//! (append the leader's batches as they are, take its high watermark,
//! truncate a divergent tail), and the wait of an `acks=all` produce for
//! the high watermark.
//!
//! Every decision is the pure [`super::ReplicaState`]'s; this module applies
//! it to the log under the same lock order as appends (log, then replica
//! state) and publishes the offsets readers see. Not here: the fetch loop
//! and its connections (`crate::replica::fetcher`), committing ISR changes
//! (`crate::replica::isr`), request handling.

use std::sync::atomic::Ordering;

use memorystreamer_log::AppendInfo;
use tokio::time::Instant;

use super::{Partition, ReplicaId};
use crate::error::BrokerError;

impl Partition {
    /// The local log end offset.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log_end_offset()
    }

    /// The epoch of the last batch in the log, -1 when it is empty (what a
    /// follower sends as `last_fetched_epoch`).
    pub fn latest_epoch(&self) -> i32 {
        self.lock().latest_epoch().unwrap_or(-1)
    }

    /// Replicas counted for `min.insync.replicas` (this leader included).
    pub fn isr_size(&self) -> usize {
        self.replica().isr_size()
    }

    /// `min.insync.replicas` of this partition's topic.
    pub fn min_insync(&self) -> usize {
        self.min_insync.load(Ordering::Relaxed)
    }

    /// An `acks=all` produce may append: NOT_ENOUGH_REPLICAS when fewer
    /// replicas than `min.insync.replicas` are in sync.
    pub fn check_min_insync(&self) -> Result<(), BrokerError> {
        let (isr, required) = (self.isr_size(), self.min_insync());
        if isr < required {
            return Err(BrokerError::NotEnoughReplicas { isr, required });
        }
        Ok(())
    }

    /// On the leader: the committed ISR changed at the same epoch (see
    /// [`super::ReplicaState::update_isr`]).
    pub fn update_isr(
        &self,
        epoch: i32,
        isr_followers: &[ReplicaId],
        other_replicas: &[ReplicaId],
    ) -> Result<(), BrokerError> {
        let log = self.lock();
        let hw =
            self.replica()
                .update_isr(epoch, isr_followers, other_replicas, crate::now_ms())?;
        self.publish_offsets(&log, hw);
        drop(log);
        self.appended.notify_waiters();
        Ok(())
    }

    /// On the leader: the ISR to propose now, with the epoch it is
    /// proposed at, when it should change (see
    /// [`super::ReplicaState::desired_isr`]).
    pub fn desired_isr(&self, now_ms: i64, lag_max_ms: i64) -> Option<(i32, Vec<ReplicaId>)> {
        let replica = self.replica();
        replica
            .desired_isr(now_ms, lag_max_ms)
            .map(|isr| (replica.leader_epoch(), isr))
    }

    /// On the leader: `isr_followers` was proposed (see
    /// [`super::ReplicaState::propose_isr`]).
    pub fn propose_isr(&self, isr_followers: &[ReplicaId]) {
        self.replica().propose_isr(isr_followers);
    }

    /// Forgets proposals that were not committed.
    pub fn clear_proposals(&self) {
        let log = self.lock();
        let mut replica = self.replica();
        replica.clear_proposals();
        let hw = replica.on_local_append(log.log_end_offset());
        drop(replica);
        self.publish_offsets(&log, hw);
        drop(log);
        self.appended.notify_waiters();
    }

    /// On the leader: follower `replica` fetched at `fetch_offset`. Moves
    /// the high watermark as the ISR allows and wakes what waits on it.
    /// Returns the high watermark.
    pub fn on_follower_fetch(
        &self,
        replica: ReplicaId,
        fetch_offset: i64,
    ) -> Result<i64, BrokerError> {
        let before = self.high_watermark();
        let log = self.lock();
        let hw = self
            .replica()
            .on_follower_fetch(replica, fetch_offset, crate::now_ms())?;
        if hw != before {
            self.publish_offsets(&log, hw);
            drop(log);
            self.appended.notify_waiters();
        }
        Ok(hw)
    }

    /// On the leader, for a follower fetching at `fetch_offset` whose last
    /// batch has epoch `last_fetched_epoch` (KIP-320): None when its log is
    /// a prefix of this one, else the (epoch, end offset) it must truncate
    /// to (the fetch response's `diverging_epoch`).
    pub fn divergence(&self, last_fetched_epoch: i32, fetch_offset: i64) -> Option<(i32, i64)> {
        if last_fetched_epoch < 0 {
            return None;
        }
        let end = self.lock().end_offset_for_epoch(last_fetched_epoch);
        match end {
            Some((epoch, end_offset))
                if epoch == last_fetched_epoch && end_offset >= fetch_offset =>
            {
                None
            }
            Some((epoch, end_offset)) => Some((epoch, end_offset)),
            None => Some((-1, -1)),
        }
    }

    /// On a follower told by the leader that its log diverges after
    /// `leader_epoch`, which ends at `leader_end_offset` on the leader (a
    /// fetch's `diverging_epoch`): the offset to truncate to, by Kafka's
    /// rules (the smaller of the leader's end of that epoch and this log's
    /// own end of it). When the leader knows no epoch at or below ours,
    /// only what is committed (the high watermark) is kept.
    pub fn truncation_offset(&self, leader_epoch: i32, leader_end_offset: i64) -> i64 {
        let log = self.lock();
        let leo = log.log_end_offset();
        if leader_epoch < 0 || leader_end_offset < 0 {
            return self.high_watermark().min(leo);
        }
        let own_end = log
            .end_offset_for_epoch(leader_epoch)
            .map_or(leo, |(_, end)| end);
        leader_end_offset.min(own_end).min(leo)
    }

    /// On a follower: appends batches fetched from the leader as they are
    /// (offsets and epochs assigned by the leader), then takes the leader's
    /// high watermark `leader_hw`. Returns what was appended (None: no
    /// whole batch).
    pub fn append_as_follower(
        &self,
        records: &[u8],
        leader_hw: i64,
    ) -> Result<Option<AppendInfo>, BrokerError> {
        let (info, flush) = {
            let mut log = self.lock();
            if !matches!(self.replica().role(), super::Role::Follower { .. }) {
                return Err(BrokerError::NotLeaderOrFollower);
            }
            let info = log.append_as_follower(records)?;
            let mut replica = self.replica();
            replica.on_local_append(log.log_end_offset());
            let hw = replica.on_leader_high_watermark(leader_hw)?;
            drop(replica);
            let flush = match &info {
                Some(i) if i.flush_needed => Some((log.begin_flush(), log.log_end_offset())),
                _ => {
                    self.publish_offsets(&log, hw);
                    None
                }
            };
            (info, flush)
        };
        if let Some((plan, covered)) = flush {
            self.sync(&plan, covered)?;
        }
        if let Some(i) = &info {
            self.metrics
                .records_in
                .increment((i.last_offset - i.base_offset + 1).max(0) as u64);
        }
        self.appended.notify_waiters();
        Ok(info)
    }

    /// On a follower: the leader's high watermark arrived without records.
    pub fn on_leader_high_watermark(&self, leader_hw: i64) -> Result<(), BrokerError> {
        let before = self.high_watermark();
        let log = self.lock();
        let hw = self.replica().on_leader_high_watermark(leader_hw)?;
        if hw != before {
            self.publish_offsets(&log, hw);
            drop(log);
            self.appended.notify_waiters();
        }
        Ok(())
    }

    /// On a follower: the leader's log start moved to `leader_start`
    /// (retention or DeleteRecords there): this log's start follows, up to
    /// its own high watermark (Kafka's `maybeIncrementLogStartOffset`).
    pub fn follow_log_start(&self, leader_start: i64) -> Result<(), BrokerError> {
        if leader_start <= self.log_start_offset() {
            return Ok(());
        }
        let removed = {
            let mut log = self.lock();
            if matches!(self.replica().role(), super::Role::Leader) {
                return Err(BrokerError::NotLeaderOrFollower);
            }
            let target = leader_start.min(self.high_watermark());
            if target <= log.log_start_offset() {
                return Ok(());
            }
            let (start, removed) = log.delete_records_before(target)?;
            self.log_start_offset.store(start, Ordering::Release);
            self.publish_offsets(&log, self.high_watermark());
            removed
        };
        removed.delete_files()?;
        Ok(())
    }

    /// On a follower: removes every record at or above `offset` (a tail the
    /// new leader does not have).
    pub fn truncate_to(&self, offset: i64) -> Result<(), BrokerError> {
        let mut log = self.lock();
        if matches!(self.replica().role(), super::Role::Leader) {
            return Err(BrokerError::NotLeaderOrFollower);
        }
        log.truncate_to(offset)?;
        let hw = self.replica().on_truncate(log.log_end_offset());
        self.publish_offsets(&log, hw);
        Ok(())
    }

    /// On a follower below the leader's log start: empties the log and
    /// starts it at `offset`.
    pub fn truncate_fully_and_start_at(&self, offset: i64) -> Result<(), BrokerError> {
        let mut log = self.lock();
        if matches!(self.replica().role(), super::Role::Leader) {
            return Err(BrokerError::NotLeaderOrFollower);
        }
        log.truncate_fully_and_start_at(offset)?;
        let mut replica = self.replica();
        replica.on_truncate(log.log_end_offset());
        let hw = replica.on_leader_high_watermark(offset)?;
        drop(replica);
        self.log_start_offset
            .store(log.log_start_offset(), Ordering::Release);
        self.publish_offsets(&log, hw);
        Ok(())
    }

    /// An `acks=all` produce appended up to `end_offset` (exclusive): waits
    /// until the high watermark reaches it, this replica stops leading
    /// (NOT_LEADER_OR_FOLLOWER) or `deadline` passes (REQUEST_TIMED_OUT).
    /// Once reached, `min_insync` is checked again as Kafka does
    /// (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank meanwhile).
    pub async fn wait_for_high_watermark(
        &self,
        end_offset: i64,
        min_insync: usize,
        deadline: Instant,
    ) -> Result<(), BrokerError> {
        loop {
            let notified = self.appended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.high_watermark() >= end_offset {
                let isr = self.isr_size();
                return if isr < min_insync {
                    Err(BrokerError::NotEnoughReplicasAfterAppend {
                        isr,
                        required: min_insync,
                    })
                } else {
                    Ok(())
                };
            }
            if !matches!(self.replica().role(), super::Role::Leader) {
                return Err(BrokerError::NotLeaderOrFollower);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(BrokerError::RequestTimedOut);
            }
        }
    }
}
