//! The replica state of one partition (DESIGN §5, Kafka's ISR model): its
//! role, its leader epoch, its high watermark, and on a leader the fetch
//! state of each follower.
//!
//! It is a pure state machine: it takes events (become leader, become
//! follower, the local log end moved, a follower fetched, the leader sent
//! its high watermark, the log was truncated) and answers with the new high
//! watermark or a refusal. It never touches the log, a clock or the
//! network: [`super::Partition`] feeds it and applies what it answers.
//!
//! Rules:
//! * Leader epochs only move forward. A transition with an epoch below the
//!   current one is refused (FENCED_LEADER_EPOCH); one with the current
//!   epoch is accepted only when it changes nothing (the same image applied
//!   twice), since a change of role or leader always comes with a new epoch.
//! * The high watermark never passes the local log end offset.
//! * On a leader it is the smallest log end offset across the in-sync
//!   replicas (itself and the followers in the ISR) and never moves back; a
//!   follower whose log end is still unknown holds it where it is. A leader
//!   whose ISR is only itself therefore has high watermark = log end offset
//!   after every append, which is what a single-replica partition shows.
//! * On a follower it is the leader's high watermark, capped by the local log
//!   end; it moves back only when the log is truncated.

use std::collections::BTreeMap;

use crate::error::BrokerError;

/// A broker's node id.
pub type ReplicaId = i32;

/// Replica `me`'s followers of a partition with `replicas` and `isr`: those
/// in the ISR, and the others (each in replica-list order, `me` left out).
pub fn split_followers(
    me: ReplicaId,
    replicas: &[ReplicaId],
    isr: &[ReplicaId],
) -> (Vec<ReplicaId>, Vec<ReplicaId>) {
    let isr_followers = isr.iter().copied().filter(|r| *r != me).collect();
    let others = replicas
        .iter()
        .copied()
        .filter(|r| *r != me && !isr.contains(r))
        .collect();
    (isr_followers, others)
}

/// What this replica is for its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes produce requests, stamps its epoch into batches, and decides
    /// the high watermark.
    Leader,
    /// Copies the leader's log (fetching from `leader`); refuses produce
    /// with NOT_LEADER_OR_FOLLOWER.
    Follower {
        /// Node id of the leader it follows.
        leader: ReplicaId,
    },
}

/// What the leader knows of one follower, from the follower's fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's log end offset (the offset it last fetched from), -1
    /// until its first fetch to this leader.
    pub log_end_offset: i64,
    /// When it last fetched, in ms (-1: never).
    pub last_fetch_ms: i64,
    /// When it last had everything the leader had, in ms (-1: never);
    /// `replica.lag.time.max.ms` is measured from it.
    pub last_caught_up_ms: i64,
    /// In the ISR: the high watermark waits for it.
    pub in_sync: bool,
    /// Proposed for the ISR (an AlterPartition not yet committed): the
    /// high watermark already waits for it (Kafka's "maximal ISR"), but
    /// `min.insync.replicas` does not count it yet.
    pub pending_in_sync: bool,
}

impl FollowerState {
    fn unknown(in_sync: bool, now_ms: i64) -> Self {
        FollowerState {
            log_end_offset: -1,
            last_fetch_ms: -1,
            // As Kafka: an in-sync follower of a new leader counts as caught
            // up at the election, so it has `replica.lag.time.max.ms` to
            // fetch before it is dropped.
            last_caught_up_ms: if in_sync { now_ms } else { -1 },
            in_sync,
            pending_in_sync: false,
        }
    }

    /// The high watermark waits for it.
    fn holds_high_watermark(&self) -> bool {
        self.in_sync || self.pending_in_sync
    }
}

/// One partition's replica state (see the module docs for the rules).
#[derive(Debug, Clone)]
pub struct ReplicaState {
    role: Role,
    leader_epoch: i32,
    high_watermark: i64,
    /// The local log end offset as last reported.
    log_end_offset: i64,
    /// On a leader: the other replicas, by id. Empty on a follower.
    followers: BTreeMap<ReplicaId, FollowerState>,
    /// On a leader: its log end offset when it took this epoch (a follower
    /// joins the ISR only once it has reached it, as in Kafka).
    epoch_start_offset: i64,
}

impl ReplicaState {
    /// A leader at `leader_epoch` whose ISR is only itself (a
    /// single-replica partition), over a log ending at `log_end_offset`.
    pub fn leader(leader_epoch: i32, log_end_offset: i64) -> Self {
        ReplicaState {
            role: Role::Leader,
            leader_epoch,
            high_watermark: log_end_offset,
            log_end_offset,
            followers: BTreeMap::new(),
            epoch_start_offset: log_end_offset,
        }
    }

    /// A follower of `leader` at `leader_epoch` over a log ending at
    /// `log_end_offset`, with `high_watermark` (capped by the log end) until
    /// the leader sends its own.
    pub fn follower(
        leader_epoch: i32,
        leader: ReplicaId,
        log_end_offset: i64,
        high_watermark: i64,
    ) -> Self {
        ReplicaState {
            role: Role::Follower { leader },
            leader_epoch,
            high_watermark: high_watermark.min(log_end_offset),
            log_end_offset,
            followers: BTreeMap::new(),
            epoch_start_offset: log_end_offset,
        }
    }

    /// The state of this replica (`me`) for a partition led by `leader`
    /// (`-1`: none) at `leader_epoch` with `replicas` and `isr`, over a log
    /// spanning `log_start_offset..log_end_offset`, at `now_ms`: what a
    /// partition opens with. A leader whose ISR has other members starts
    /// its high watermark at the log start and lets the followers' fetches
    /// move it (it does not know what they have); alone in the ISR, at the
    /// log end. A follower starts at the log start until the leader's first
    /// answer.
    #[allow(clippy::too_many_arguments)]
    pub fn for_assignment(
        me: ReplicaId,
        leader: ReplicaId,
        leader_epoch: i32,
        replicas: &[ReplicaId],
        isr: &[ReplicaId],
        log_start_offset: i64,
        log_end_offset: i64,
        now_ms: i64,
    ) -> Self {
        if leader != me {
            return ReplicaState::follower(leader_epoch, leader, log_end_offset, log_start_offset);
        }
        let (isr_followers, others) = split_followers(me, replicas, isr);
        let mut s = ReplicaState::leader(leader_epoch, log_end_offset);
        if !isr_followers.is_empty() {
            s.high_watermark = log_start_offset.min(log_end_offset);
        }
        s.followers = isr_followers
            .iter()
            .map(|id| (*id, FollowerState::unknown(true, now_ms)))
            .chain(
                others
                    .iter()
                    .map(|id| (*id, FollowerState::unknown(false, now_ms))),
            )
            .collect();
        s
    }

    /// True when the followers are exactly `isr_followers` (in sync) and
    /// `other_replicas` (not in sync), ids distinct.
    pub fn has_followers(&self, isr_followers: &[ReplicaId], other_replicas: &[ReplicaId]) -> bool {
        self.followers.len() == isr_followers.len() + other_replicas.len()
            && isr_followers
                .iter()
                .all(|id| self.followers.get(id).is_some_and(|f| f.in_sync))
            && other_replicas
                .iter()
                .all(|id| self.followers.get(id).is_some_and(|f| !f.in_sync))
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// The high watermark: consumers read below it.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// The local log end offset as last reported.
    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset
    }

    /// On a leader, what it knows of each follower.
    pub fn followers(&self) -> &BTreeMap<ReplicaId, FollowerState> {
        &self.followers
    }

    /// The epoch to stamp into a produced batch: refused with
    /// NOT_LEADER_OR_FOLLOWER unless this replica is the leader.
    pub fn epoch_for_append(&self) -> Result<i32, BrokerError> {
        match self.role {
            Role::Leader => Ok(self.leader_epoch),
            Role::Follower { .. } => Err(BrokerError::NotLeaderOrFollower),
        }
    }

    /// Refuses an epoch older than the current one, and the current one when
    /// it would change something.
    fn check_epoch(&self, epoch: i32, unchanged: bool) -> Result<bool, BrokerError> {
        if epoch > self.leader_epoch {
            return Ok(true);
        }
        if epoch == self.leader_epoch && unchanged {
            return Ok(false);
        }
        Err(BrokerError::FencedLeaderEpoch {
            current: self.leader_epoch,
            requested: epoch,
        })
    }

    /// Becomes (or stays) the leader at `epoch`, with `isr_followers` the
    /// other replicas in the ISR (empty for a single replica) and
    /// `other_replicas` those out of it, over a log ending at
    /// `log_end_offset`, at `now_ms`. Followers start with an unknown log
    /// end, so the high watermark waits for their first fetch (it never
    /// moves back). Returns the high watermark.
    pub fn become_leader(
        &mut self,
        epoch: i32,
        isr_followers: &[ReplicaId],
        other_replicas: &[ReplicaId],
        log_end_offset: i64,
        now_ms: i64,
    ) -> Result<i64, BrokerError> {
        let unchanged =
            self.role == Role::Leader && self.has_followers(isr_followers, other_replicas);
        if !self.check_epoch(epoch, unchanged)? {
            return Ok(self.on_local_append(log_end_offset));
        }
        self.role = Role::Leader;
        self.leader_epoch = epoch;
        self.followers = isr_followers
            .iter()
            .map(|id| (*id, FollowerState::unknown(true, now_ms)))
            .chain(
                other_replicas
                    .iter()
                    .map(|id| (*id, FollowerState::unknown(false, now_ms))),
            )
            .collect();
        self.log_end_offset = log_end_offset;
        self.epoch_start_offset = log_end_offset;
        self.high_watermark = self.high_watermark.min(log_end_offset);
        Ok(self.advance_leader_high_watermark())
    }

    /// Becomes (or stays) a follower of `leader` at `epoch`, over a log
    /// ending at `log_end_offset`. The high watermark is kept (capped by the
    /// log end) until the leader sends its own. Returns the high watermark.
    pub fn become_follower(
        &mut self,
        epoch: i32,
        leader: ReplicaId,
        log_end_offset: i64,
    ) -> Result<i64, BrokerError> {
        let unchanged = self.role == Role::Follower { leader };
        if !self.check_epoch(epoch, unchanged)? {
            return Ok(self.high_watermark);
        }
        self.role = Role::Follower { leader };
        self.leader_epoch = epoch;
        self.followers.clear();
        self.log_end_offset = log_end_offset;
        self.high_watermark = self.high_watermark.min(log_end_offset);
        Ok(self.high_watermark)
    }

    /// The local log end moved to `log_end_offset` (an append). On a
    /// leader the high watermark follows as far as the ISR allows. Returns
    /// the high watermark.
    pub fn on_local_append(&mut self, log_end_offset: i64) -> i64 {
        self.log_end_offset = log_end_offset;
        match self.role {
            Role::Leader => self.advance_leader_high_watermark(),
            Role::Follower { .. } => {
                self.high_watermark = self.high_watermark.min(log_end_offset);
                self.high_watermark
            }
        }
    }

    /// The log was truncated to end at `log_end_offset` (a follower
    /// reconciling with a new leader): the high watermark comes down with
    /// it if it was past it. Returns the high watermark.
    pub fn on_truncate(&mut self, log_end_offset: i64) -> i64 {
        self.log_end_offset = log_end_offset;
        self.high_watermark = self.high_watermark.min(log_end_offset);
        self.high_watermark
    }

    /// On a follower: the leader's high watermark arrived with a fetch
    /// response. Returns the local high watermark (the leader's, capped by
    /// the local log end, never moving back).
    pub fn on_leader_high_watermark(&mut self, leader_hw: i64) -> Result<i64, BrokerError> {
        if self.role == Role::Leader {
            return Err(BrokerError::NotLeaderOrFollower);
        }
        let hw = leader_hw.min(self.log_end_offset);
        if hw > self.high_watermark {
            self.high_watermark = hw;
        }
        Ok(self.high_watermark)
    }

    /// On the leader: follower `replica` fetched at `fetch_offset` (so its
    /// log ends there) at `now_ms`. Refused when this replica is not the
    /// leader or `replica` is not one of the partition's replicas. Returns
    /// the high watermark.
    pub fn on_follower_fetch(
        &mut self,
        replica: ReplicaId,
        fetch_offset: i64,
        now_ms: i64,
    ) -> Result<i64, BrokerError> {
        if self.role != Role::Leader {
            return Err(BrokerError::NotLeaderOrFollower);
        }
        let leo = self.log_end_offset;
        let Some(f) = self.followers.get_mut(&replica) else {
            return Err(BrokerError::NotLeaderOrFollower);
        };
        f.log_end_offset = fetch_offset.min(leo);
        f.last_fetch_ms = now_ms;
        if fetch_offset >= leo {
            f.last_caught_up_ms = now_ms;
        }
        Ok(self.advance_leader_high_watermark())
    }

    /// On the leader: the committed ISR changed at the same leader epoch
    /// (an AlterPartition took effect): `isr_followers` are now in sync and
    /// `other_replicas` are not. What is known of each follower is kept.
    /// Refused when not the leader at `epoch`. Returns the high watermark,
    /// which moves on when a slow follower left the ISR.
    pub fn update_isr(
        &mut self,
        epoch: i32,
        isr_followers: &[ReplicaId],
        other_replicas: &[ReplicaId],
        now_ms: i64,
    ) -> Result<i64, BrokerError> {
        if self.role != Role::Leader {
            return Err(BrokerError::NotLeaderOrFollower);
        }
        if epoch != self.leader_epoch {
            return Err(BrokerError::FencedLeaderEpoch {
                current: self.leader_epoch,
                requested: epoch,
            });
        }
        let mut next = BTreeMap::new();
        for (ids, in_sync) in [(isr_followers, true), (other_replicas, false)] {
            for id in ids {
                let mut f = self
                    .followers
                    .get(id)
                    .copied()
                    .unwrap_or_else(|| FollowerState::unknown(in_sync, now_ms));
                if in_sync && !f.in_sync && f.last_caught_up_ms < 0 {
                    f.last_caught_up_ms = now_ms;
                }
                f.in_sync = in_sync;
                f.pending_in_sync = false;
                next.insert(*id, f);
            }
        }
        self.followers = next;
        Ok(self.advance_leader_high_watermark())
    }

    /// Replicas counted for `min.insync.replicas`: this leader and the
    /// followers in the committed ISR.
    pub fn isr_size(&self) -> usize {
        1 + self.followers.values().filter(|f| f.in_sync).count()
    }

    /// On the leader: the ISR it should ask the controller for at `now_ms`,
    /// when it differs from the committed one (followers only; the caller
    /// adds itself). An in-sync follower that has not been caught up for
    /// `lag_max_ms` (`replica.lag.time.max.ms`) leaves; an out-of-sync one
    /// whose log end reached the high watermark and this epoch's start
    /// joins (Kafka's rules). None when nothing should change or a proposed
    /// addition is still pending.
    pub fn desired_isr(&self, now_ms: i64, lag_max_ms: i64) -> Option<Vec<ReplicaId>> {
        if self.role != Role::Leader {
            return None;
        }
        let mut changed = false;
        let mut isr = Vec::new();
        for (id, f) in &self.followers {
            if f.pending_in_sync {
                return None;
            }
            let keep = if f.in_sync {
                f.last_caught_up_ms >= 0 && now_ms - f.last_caught_up_ms <= lag_max_ms
            } else {
                f.log_end_offset >= 0
                    && f.log_end_offset >= self.high_watermark
                    && f.log_end_offset >= self.epoch_start_offset
            };
            if keep != f.in_sync {
                changed = true;
            }
            if keep {
                isr.push(*id);
            }
        }
        changed.then_some(isr)
    }

    /// On the leader: `isr_followers` was proposed to the controller. The
    /// followers it adds hold the high watermark from now on (so no record
    /// is committed without them once they may be elected), but count for
    /// `min.insync.replicas` only once the change is committed.
    pub fn propose_isr(&mut self, isr_followers: &[ReplicaId]) {
        for id in isr_followers {
            if let Some(f) = self.followers.get_mut(id) {
                if !f.in_sync {
                    f.pending_in_sync = true;
                }
            }
        }
    }

    /// Clears proposals that were not committed (the next
    /// [`ReplicaState::desired_isr`] proposes again).
    pub fn clear_proposals(&mut self) {
        for f in self.followers.values_mut() {
            f.pending_in_sync = false;
        }
    }

    /// Leader: the high watermark moves up to the smallest log end offset
    /// of the ISR (never down, never past the local log end).
    fn advance_leader_high_watermark(&mut self) -> i64 {
        let isr_min = self
            .followers
            .values()
            .filter(|f| f.holds_high_watermark())
            .map(|f| f.log_end_offset)
            .fold(self.log_end_offset, i64::min);
        if isr_min > self.high_watermark {
            self.high_watermark = isr_min;
        }
        self.high_watermark
    }
}

#[cfg(test)]
mod tests;
