//! Unit tests of the replica state machine, with explicit time.
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
    assert_eq!(s.become_leader(1, &[], &[], 5, 0).expect("newer epoch"), 5);
    assert_eq!(s.leader_epoch(), 1);
    assert_eq!(s.epoch_for_append().expect("leader"), 1);
}

#[test]
fn become_leader_refuses_an_older_epoch_and_a_changed_same_epoch() {
    let mut s = ReplicaState::leader(4, 7);
    fenced(s.become_leader(3, &[], &[], 7, 0), 4, 3);
    // Same epoch, different ISR: a change needs a new epoch.
    fenced(s.become_leader(4, &[2], &[], 7, 0), 4, 4);
    // Same epoch, nothing changed: accepted (an image applied twice).
    assert_eq!(s.become_leader(4, &[], &[], 7, 0).expect("same"), 7);
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
    fenced(s.become_leader(3, &[], &[], 9, 0), 3, 3);
    assert_eq!(s.become_leader(4, &[], &[], 9, 0).expect("leader again"), 9);
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
    assert_eq!(
        s.become_leader(1, &[2, 3], &[4], 10, 0).expect("leader"),
        10
    );
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
    // An ISR follower counts as caught up at the election (time 0 here).
    assert_eq!(s.followers()[&2].last_caught_up_ms, 0);
    assert_eq!(s.on_follower_fetch(2, 20, 1_200).expect("fetch"), 20);
    assert_eq!(s.high_watermark(), s.log_end_offset());
    // A follower fetching from past the leader's log end is capped.
    assert_eq!(s.on_follower_fetch(2, 99, 1_300).expect("fetch"), 20);
    assert_eq!(s.followers()[&2].log_end_offset, 20);
}

#[test]
fn the_leader_high_watermark_never_moves_back() {
    let mut s = ReplicaState::leader(0, 10);
    s.become_leader(1, &[2], &[], 10, 0).expect("leader");
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

#[test]
fn a_follower_starts_with_its_high_watermark_capped_by_its_log_end() {
    let s = ReplicaState::follower(4, 2, 10, 25);
    assert_eq!(s.role(), Role::Follower { leader: 2 });
    assert_eq!(s.leader_epoch(), 4);
    assert_eq!(s.high_watermark(), 10);
    assert!(s.followers().is_empty());
    assert!(matches!(
        s.epoch_for_append(),
        Err(BrokerError::NotLeaderOrFollower)
    ));
}

#[test]
fn a_committed_isr_shrink_releases_the_high_watermark_held_by_a_dead_follower() {
    let mut s = ReplicaState::leader(0, 0);
    s.become_leader(1, &[2, 3], &[], 0, 1_000).expect("leader");
    s.on_local_append(10);
    assert_eq!(s.on_follower_fetch(2, 10, 1_100).expect("fetch"), 0);
    // Follower 3 never fetches: the high watermark waits for it ...
    assert_eq!(s.isr_size(), 3);
    assert_eq!(
        s.desired_isr(1_000 + 30_000, 30_000),
        None,
        "not lagging yet"
    );
    assert_eq!(
        s.desired_isr(1_000 + 30_001, 30_000),
        Some(vec![2]),
        "3 lagged replica.lag.time.max.ms since the election"
    );
    // ... until the shrink is committed (not merely proposed).
    assert_eq!(s.high_watermark(), 0);
    assert_eq!(s.update_isr(1, &[2], &[3], 31_002).expect("isr"), 10);
    assert_eq!(s.isr_size(), 2);
    assert!(!s.followers()[&3].in_sync);
    assert_eq!(
        s.followers()[&2].log_end_offset,
        10,
        "what is known is kept"
    );
}

#[test]
fn a_caught_up_follower_is_proposed_for_the_isr_and_holds_the_high_watermark_while_pending() {
    let mut s = ReplicaState::leader(0, 0);
    s.become_leader(1, &[], &[2], 5, 0).expect("leader");
    assert_eq!(s.high_watermark(), 5, "the ISR is the leader alone");
    s.on_local_append(8);
    assert_eq!(s.high_watermark(), 8, "ISR is the leader alone");
    s.on_follower_fetch(2, 4, 10).expect("fetch");
    assert_eq!(s.desired_isr(10, 30_000), None, "below the high watermark");
    s.on_follower_fetch(2, 8, 20).expect("fetch");
    assert_eq!(s.desired_isr(20, 30_000), Some(vec![2]));
    s.propose_isr(&[2]);
    assert_eq!(s.desired_isr(20, 30_000), None, "pending");
    assert_eq!(
        s.isr_size(),
        1,
        "min.insync.replicas counts committed members only"
    );
    s.on_local_append(12);
    assert_eq!(s.high_watermark(), 8, "the pending member holds it");
    // The proposal was stale: cleared, proposed again later.
    s.clear_proposals();
    assert_eq!(s.on_local_append(12), 12);
    s.on_follower_fetch(2, 12, 30).expect("fetch");
    assert_eq!(s.desired_isr(30, 30_000), Some(vec![2]));
    s.propose_isr(&[2]);
    assert_eq!(s.update_isr(1, &[2], &[], 40).expect("committed"), 12);
    assert_eq!(s.isr_size(), 2);
    assert_eq!(s.desired_isr(40, 30_000), None);
}

#[test]
fn a_follower_below_the_epoch_start_does_not_join_the_isr() {
    let mut s = ReplicaState::leader(0, 20);
    // New leader at offset 20; its HW is still 5 (followers unknown).
    let mut s2 = ReplicaState::follower(0, 9, 20, 5);
    s2.become_leader(1, &[], &[2], 20, 0).expect("leader");
    s2.on_follower_fetch(2, 10, 1).expect("fetch");
    assert_eq!(s2.desired_isr(1, 30_000), None, "10 < epoch start 20");
    s2.on_follower_fetch(2, 20, 2).expect("fetch");
    assert_eq!(s2.desired_isr(2, 30_000), Some(vec![2]));
    // update_isr is refused at another epoch or on a follower.
    assert!(matches!(
        s2.update_isr(2, &[2], &[], 3),
        Err(BrokerError::FencedLeaderEpoch { .. })
    ));
    s.become_follower(1, 9, 20).expect("follower");
    assert!(matches!(
        s.update_isr(1, &[], &[], 3),
        Err(BrokerError::NotLeaderOrFollower)
    ));
    assert_eq!(s.desired_isr(3, 30_000), None);
}
