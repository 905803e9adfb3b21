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
}

impl FollowerState {
    fn unknown(in_sync: bool) -> Self {
        FollowerState {
            log_end_offset: -1,
            last_fetch_ms: -1,
            last_caught_up_ms: -1,
            in_sync,
        }
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
        }
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
    /// `log_end_offset`. Followers start with an unknown log end, so the
    /// high watermark waits for their first fetch (it never moves back).
    /// Returns the high watermark.
    pub fn become_leader(
        &mut self,
        epoch: i32,
        isr_followers: &[ReplicaId],
        other_replicas: &[ReplicaId],
        log_end_offset: i64,
    ) -> Result<i64, BrokerError> {
        let same_followers = {
            let isr = self.followers.iter().filter(|(_, f)| f.in_sync).count();
            isr == isr_followers.len()
                && self.followers.len() == isr_followers.len() + other_replicas.len()
                && isr_followers
                    .iter()
                    .all(|id| self.followers.get(id).is_some_and(|f| f.in_sync))
                && other_replicas
                    .iter()
                    .all(|id| self.followers.get(id).is_some_and(|f| !f.in_sync))
        };
        let unchanged = self.role == Role::Leader && same_followers;
        if !self.check_epoch(epoch, unchanged)? {
            return Ok(self.on_local_append(log_end_offset));
        }
        self.role = Role::Leader;
        self.leader_epoch = epoch;
        self.followers = isr_followers
            .iter()
            .map(|id| (*id, FollowerState::unknown(true)))
            .chain(
                other_replicas
                    .iter()
                    .map(|id| (*id, FollowerState::unknown(false))),
            )
            .collect();
        self.log_end_offset = log_end_offset;
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

    /// Leader: the high watermark moves up to the smallest log end offset
    /// of the ISR (never down, never past the local log end).
    fn advance_leader_high_watermark(&mut self) -> i64 {
        let isr_min = self
            .followers
            .values()
            .filter(|f| f.in_sync)
            .map(|f| f.log_end_offset)
            .fold(self.log_end_offset, i64::min);
        if isr_min > self.high_watermark {
            self.high_watermark = isr_min;
        }
        self.high_watermark
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fenced(r: Result<i64, BrokerError>, current: i32, requested: i32) {
        match r {
            Err(BrokerError::FencedLeaderEpoch {
                current: c,
                requested: q,
            }) => assert_eq!((c, q), (current, requested)),
            other => panic!("expected FencedLeaderEpoch, got {other:?}"),
        }
    }

    #[test]
    fn a_single_replica_leader_has_its_high_watermark_at_the_log_end_after_every_append() {
        let mut s = ReplicaState::leader(3, 10);
        assert_eq!(s.role(), Role::Leader);
        assert_eq!(s.leader_epoch(), 3);
        assert_eq!(s.high_watermark(), 10);
        assert_eq!(s.epoch_for_append().expect("leader"), 3);
        for leo in [11, 15, 100] {
            assert_eq!(s.on_local_append(leo), leo);
            assert_eq!(s.high_watermark(), s.log_end_offset());
        }
    }

    #[test]
    fn become_leader_with_a_newer_epoch_moves_the_epoch_and_keeps_the_high_watermark() {
        let mut s = ReplicaState::leader(0, 5);
        assert_eq!(s.become_leader(1, &[], &[], 5).expect("newer epoch"), 5);
        assert_eq!(s.leader_epoch(), 1);
        assert_eq!(s.epoch_for_append().expect("leader"), 1);
    }

    #[test]
    fn become_leader_refuses_an_older_epoch_and_a_changed_same_epoch() {
        let mut s = ReplicaState::leader(4, 7);
        fenced(s.become_leader(3, &[], &[], 7), 4, 3);
        // Same epoch, different ISR: a change needs a new epoch.
        fenced(s.become_leader(4, &[2], &[], 7), 4, 4);
        // Same epoch, nothing changed: accepted (an image applied twice).
        assert_eq!(s.become_leader(4, &[], &[], 7).expect("same"), 7);
        assert_eq!(s.leader_epoch(), 4);
        assert!(s.followers().is_empty());
    }

    #[test]
    fn become_follower_refuses_an_older_epoch_and_produce_afterwards() {
        let mut s = ReplicaState::leader(2, 9);
        fenced(s.become_follower(1, 7, 9), 2, 1);
        fenced(s.become_follower(2, 7, 9), 2, 2);
        assert_eq!(s.role(), Role::Leader, "refused transitions change nothing");
        assert_eq!(s.become_follower(3, 7, 9).expect("newer epoch"), 9);
        assert_eq!(s.role(), Role::Follower { leader: 7 });
        assert_eq!(s.leader_epoch(), 3);
        assert!(matches!(
            s.epoch_for_append(),
            Err(BrokerError::NotLeaderOrFollower)
        ));
        // The same image again is accepted; another leader at the same
        // epoch is not.
        assert_eq!(s.become_follower(3, 7, 9).expect("same"), 9);
        fenced(s.become_follower(3, 8, 9), 3, 3);
        // Back to leader only with a newer epoch.
        fenced(s.become_leader(3, &[], &[], 9), 3, 3);
        assert_eq!(s.become_leader(4, &[], &[], 9).expect("leader again"), 9);
        assert_eq!(s.epoch_for_append().expect("leader"), 4);
    }

    #[test]
    fn a_follower_takes_the_leaders_high_watermark_capped_by_its_log_end() {
        let mut s = ReplicaState::leader(0, 0);
        s.become_follower(1, 5, 0).expect("follower");
        assert_eq!(s.on_local_append(10), 0, "appends do not move it");
        assert_eq!(s.on_leader_high_watermark(6).expect("follower"), 6);
        assert_eq!(
            s.on_leader_high_watermark(25).expect("follower"),
            10,
            "capped by the local log end"
        );
        assert_eq!(
            s.on_leader_high_watermark(4).expect("follower"),
            10,
            "never moves back"
        );
        assert!(s.high_watermark() <= s.log_end_offset());
    }

    #[test]
    fn truncation_brings_the_high_watermark_down_to_the_log_end() {
        let mut s = ReplicaState::leader(0, 20);
        s.become_follower(1, 5, 20).expect("follower");
        assert_eq!(s.high_watermark(), 20);
        assert_eq!(s.on_truncate(12), 12);
        assert_eq!(s.log_end_offset(), 12);
        assert!(s.high_watermark() <= s.log_end_offset());
        assert_eq!(s.on_truncate(15), 12, "truncation never raises it");
    }

    #[test]
    fn becoming_follower_caps_the_high_watermark_at_the_log_end() {
        let mut s = ReplicaState::leader(0, 30);
        assert_eq!(s.become_follower(1, 2, 25).expect("follower"), 25);
        assert!(s.high_watermark() <= s.log_end_offset());
    }

    #[test]
    fn a_leader_with_followers_in_the_isr_waits_for_the_slowest() {
        let mut s = ReplicaState::leader(0, 10);
        assert_eq!(s.become_leader(1, &[2, 3], &[4], 10).expect("leader"), 10);
        assert_eq!(s.followers().len(), 3);
        assert!(!s.followers()[&4].in_sync);
        assert_eq!(s.on_local_append(20), 10, "followers' log ends unknown");
        assert_eq!(s.on_follower_fetch(2, 18, 1_000).expect("fetch"), 10);
        assert_eq!(s.on_follower_fetch(3, 14, 1_000).expect("fetch"), 14);
        assert_eq!(
            s.on_follower_fetch(4, 0, 1_000).expect("fetch"),
            14,
            "an out-of-sync replica does not hold it"
        );
        assert_eq!(s.on_follower_fetch(3, 20, 1_100).expect("fetch"), 18);
        assert_eq!(s.followers()[&3].last_caught_up_ms, 1_100);
        assert_eq!(s.followers()[&2].last_caught_up_ms, -1);
        assert_eq!(s.on_follower_fetch(2, 20, 1_200).expect("fetch"), 20);
        assert_eq!(s.high_watermark(), s.log_end_offset());
        // A follower fetching from past the leader's log end is capped.
        assert_eq!(s.on_follower_fetch(2, 99, 1_300).expect("fetch"), 20);
        assert_eq!(s.followers()[&2].log_end_offset, 20);
    }

    #[test]
    fn the_leader_high_watermark_never_moves_back() {
        let mut s = ReplicaState::leader(0, 10);
        s.become_leader(1, &[2], &[], 10).expect("leader");
        assert_eq!(s.high_watermark(), 10, "kept while the follower is unknown");
        assert_eq!(s.on_follower_fetch(2, 4, 1).expect("fetch"), 10);
        assert!(s.high_watermark() <= s.log_end_offset());
    }

    #[test]
    fn follower_events_are_refused_in_the_wrong_role() {
        let mut s = ReplicaState::leader(0, 10);
        assert!(matches!(
            s.on_follower_fetch(9, 5, 1),
            Err(BrokerError::NotLeaderOrFollower)
        ));
        assert!(matches!(
            s.on_leader_high_watermark(5),
            Err(BrokerError::NotLeaderOrFollower)
        ));
        s.become_follower(1, 9, 10).expect("follower");
        assert!(matches!(
            s.on_follower_fetch(9, 5, 1),
            Err(BrokerError::NotLeaderOrFollower)
        ));
    }
}
