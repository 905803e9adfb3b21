//! State-machine tests of the classic group protocol, with explicit
//! instants instead of clocks.

use std::time::{Duration, Instant};

use crate::error::GroupError;
use bytes::Bytes;

use super::protocol::*;
use super::state::*;

fn cfg() -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::ZERO,
        ..GroupConfig::default()
    }
}

fn req(member: &str, instance: Option<&str>, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member.to_string(),
        group_instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(30),
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{member}-{p}"))))
            .collect(),
        require_known_member_id: true,
    }
}

fn now_result<T: std::fmt::Debug>(r: Reply<T>) -> T {
    match r {
        Reply::Now(v) => v,
        Reply::Later(mut rx) => rx.try_recv().expect("reply should be ready"),
    }
}

fn pending<T>(r: Reply<T>) -> tokio::sync::oneshot::Receiver<T> {
    match r {
        Reply::Later(rx) => rx,
        Reply::Now(_) => panic!("expected a deferred reply"),
    }
}

/// KIP-394 two-step join: returns the member id.
fn member_id(g: &mut Group, t: Instant) -> String {
    let r = now_result(g.join(req("", None, &["range"]), t, &cfg()));
    assert_eq!(r.error, Some(GroupError::MemberIdRequired));
    assert!(!r.member_id.is_empty());
    r.member_id
}

/// Joins one member into an empty group and syncs it: Stable, generation 1.
fn stable_single(t: Instant) -> (Group, String) {
    let mut g = Group::new("g");
    let id = member_id(&mut g, t);
    let j = now_result(g.join(req(&id, None, &["range"]), t, &cfg()));
    assert_eq!(
        (j.error, j.generation_id, j.leader.as_str()),
        (None, 1, id.as_str())
    );
    assert_eq!(j.members.len(), 1, "the leader gets the member list");
    assert_eq!(g.state, GroupState::CompletingRebalance);
    let s = now_result(g.sync(
        &id,
        None,
        1,
        Some("consumer"),
        Some("range"),
        vec![(id.clone(), Bytes::from_static(b"A"))],
        t,
    ));
    assert_eq!((s.error, &s.assignment[..]), (None, &b"A"[..]));
    assert_eq!(g.state, GroupState::Stable);
    assert!(g.take_dirty());
    (g, id)
}

#[test]
fn empty_to_stable() {
    let (g, _) = stable_single(Instant::now());
    assert_eq!(g.generation, 1);
    assert_eq!(g.protocol.as_deref(), Some("range"));
}

#[test]
fn unknown_member_and_bad_timeouts() {
    let t = Instant::now();
    let mut g = Group::new("g");
    let r = now_result(g.join(req("ghost", None, &["range"]), t, &cfg()));
    assert_eq!(r.error, Some(GroupError::UnknownMemberId));
    let mut bad = req("", None, &["range"]);
    bad.session_timeout = Duration::from_millis(10);
    assert_eq!(
        now_result(g.join(bad, t, &cfg())).error,
        Some(GroupError::InvalidSessionTimeout)
    );
    let mut bad = req("", None, &[]);
    bad.protocols.clear();
    assert_eq!(
        now_result(g.join(bad, t, &cfg())).error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    assert_eq!(
        g.heartbeat("ghost", None, 0, t),
        Some(GroupError::UnknownMemberId)
    );
}

#[test]
fn second_member_never_loses_the_first() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    // B arrives: rebalance; A's heartbeat tells it to rejoin.
    let b = member_id(&mut g, t);
    let mut b_join = pending(g.join(req(&b, None, &["range"]), t, &cfg()));
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&a, None, 1, t),
        Some(GroupError::RebalanceInProgress)
    );
    assert!(b_join.try_recv().is_err(), "B waits for A");
    // A rejoins: both get generation 2; A stays leader.
    let a_join = now_result(g.join(req(&a, None, &["range"]), t, &cfg()));
    let b_res = b_join.try_recv().expect("B answered");
    assert_eq!((a_join.generation_id, b_res.generation_id), (2, 2));
    assert_eq!(a_join.leader, a);
    assert_eq!(a_join.members.len(), 2);
    assert!(b_res.members.is_empty(), "followers get no member list");
    // Follower syncs first and waits; the leader's sync completes both.
    let mut b_sync = pending(g.sync(&b, None, 2, None, None, vec![], t));
    let a_sync = now_result(g.sync(
        &a,
        None,
        2,
        None,
        None,
        vec![
            (a.clone(), Bytes::from_static(b"pa")),
            (b.clone(), Bytes::from_static(b"pb")),
        ],
        t,
    ));
    assert_eq!(&a_sync.assignment[..], b"pa");
    assert_eq!(&b_sync.try_recv().expect("B synced").assignment[..], b"pb");
    assert_eq!(g.state, GroupState::Stable);
    assert_eq!(g.members().len(), 2);
}

#[test]
fn concurrent_joins_complete_together() {
    let t = Instant::now();
    let mut g = Group::new("g");
    let ids: Vec<String> = (0..3).map(|_| member_id(&mut g, t)).collect();
    let mut waiting: Vec<_> = ids
        .iter()
        .map(|id| g.join(req(id, None, &["range", "roundrobin"]), t, &cfg()))
        .collect();
    // With no initial delay, the first join completes alone (as in Kafka
    // with group.initial.rebalance.delay.ms=0); the others start a new one.
    let first = now_result(waiting.remove(0));
    assert_eq!(first.generation_id, 1);
    let mut g2: Vec<_> = waiting.into_iter().map(pending).collect();
    // The first member rejoins for the next generation.
    let again = now_result(g.join(req(&ids[0], None, &["range", "roundrobin"]), t, &cfg()));
    assert_eq!(again.generation_id, 2);
    for rx in &mut g2 {
        assert_eq!(rx.try_recv().expect("answered").generation_id, 2);
    }
    assert_eq!(g.members().len(), 3);
}

#[test]
fn initial_delay_gathers_members() {
    let t = Instant::now();
    let delayed = GroupConfig {
        initial_rebalance_delay: Duration::from_secs(3),
        ..GroupConfig::default()
    };
    let mut g = Group::new("g");
    let a = now_result(g.join(req("", None, &["range"]), t, &delayed)).member_id;
    let b = now_result(g.join(req("", None, &["range"]), t, &delayed)).member_id;
    let mut ra = pending(g.join(req(&a, None, &["range"]), t, &delayed));
    let mut rb = pending(g.join(
        req(&b, None, &["range"]),
        t + Duration::from_secs(1),
        &delayed,
    ));
    g.tick(t + Duration::from_secs(2), &delayed);
    assert!(ra.try_recv().is_err(), "still inside the initial delay");
    g.tick(t + Duration::from_secs(5), &delayed);
    let (x, y) = (ra.try_recv().expect("a"), rb.try_recv().expect("b"));
    assert_eq!((x.generation_id, y.generation_id), (1, 1));
}

#[test]
fn protocol_selection_by_vote() {
    let t = Instant::now();
    let mut g = Group::new("g");
    let a = member_id(&mut g, t);
    let b = member_id(&mut g, t);
    let delayed = GroupConfig {
        initial_rebalance_delay: Duration::from_secs(1),
        ..GroupConfig::default()
    };
    let ra = pending(g.join(req(&a, None, &["range", "cooperative-sticky"]), t, &delayed));
    let mut rb = pending(g.join(req(&b, None, &["cooperative-sticky", "range"]), t, &delayed));
    drop(ra);
    g.tick(t + Duration::from_secs(2), &delayed);
    let r = rb.try_recv().expect("joined");
    // One vote each: the first candidate (in the first member's order) wins.
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    // A newcomer without a common protocol is refused.
    let bad = now_result(g.join(req("", None, &["sticky-only"]), t, &delayed));
    assert_eq!(bad.error, Some(GroupError::InconsistentGroupProtocol));
}

#[test]
fn leave_and_session_expiry_rebalance() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    assert_eq!(g.leave(&a, None, t, &cfg()), None);
    assert_eq!(g.state, GroupState::Empty, "last member left");
    assert_eq!(g.generation, 2);
    assert_eq!(
        g.leave(&a, None, t, &cfg()),
        Some(GroupError::UnknownMemberId)
    );

    let (mut g, a) = stable_single(t);
    assert_eq!(g.heartbeat(&a, None, 1, t + Duration::from_secs(5)), None);
    g.tick(t + Duration::from_secs(14), &cfg());
    assert_eq!(
        g.state,
        GroupState::Stable,
        "heartbeat at 5 s keeps it until 15 s"
    );
    g.tick(t + Duration::from_secs(16), &cfg());
    assert_eq!(g.state, GroupState::Empty, "session expired");
    assert!(g.members().is_empty());
}

#[test]
fn member_that_does_not_rejoin_is_dropped_at_rebalance_timeout() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    let b = member_id(&mut g, t);
    let mut rb = pending(g.join(req(&b, None, &["range"]), t, &cfg()));
    // A keeps heartbeating (so its session does not expire) but never rejoins.
    for s in 1..30 {
        let at = t + Duration::from_secs(s);
        g.heartbeat(&a, None, 1, at);
        g.tick(at, &cfg());
    }
    assert!(rb.try_recv().is_err());
    g.tick(t + Duration::from_secs(31), &cfg());
    let r = rb.try_recv().expect("completed at the rebalance timeout");
    assert_eq!((r.generation_id, r.leader.as_str()), (2, b.as_str()));
    assert_eq!(g.members().len(), 1);
}

#[test]
fn sync_errors() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    assert_eq!(
        now_result(g.sync(&a, None, 7, None, None, vec![], t)).error,
        Some(GroupError::IllegalGeneration)
    );
    assert_eq!(
        now_result(g.sync("x", None, 1, None, None, vec![], t)).error,
        Some(GroupError::UnknownMemberId)
    );
    assert_eq!(
        now_result(g.sync(&a, None, 1, Some("connect"), None, vec![], t)).error,
        Some(GroupError::InconsistentGroupProtocol)
    );
    // Stable: the stored assignment again, byte for byte.
    assert_eq!(
        &now_result(g.sync(&a, None, 1, None, None, vec![], t)).assignment[..],
        b"A"
    );
}

#[test]
fn members_without_assignment_get_empty_bytes() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    let b = member_id(&mut g, t);
    let mut rb = pending(g.join(req(&b, None, &["range"]), t, &cfg()));
    now_result(g.join(req(&a, None, &["range"]), t, &cfg()));
    rb.try_recv().expect("joined");
    let mut sb = pending(g.sync(&b, None, 2, None, None, vec![], t));
    now_result(g.sync(
        &a,
        None,
        2,
        None,
        None,
        vec![(a.clone(), Bytes::from_static(b"all"))],
        t,
    ));
    let r = sb.try_recv().expect("synced");
    assert_eq!((r.error, r.assignment.len()), (None, 0));
}

#[test]
fn static_member_restart_keeps_assignment_without_rebalance() {
    let t = Instant::now();
    let mut g = Group::new("g");
    let j = now_result(g.join(req("", Some("inst-1"), &["range"]), t, &cfg()));
    assert_eq!(
        j.error, None,
        "static members skip the member-id round trip"
    );
    let old = j.member_id.clone();
    now_result(g.sync(
        &old,
        Some("inst-1"),
        1,
        None,
        None,
        vec![(old.clone(), Bytes::from_static(b"P0"))],
        t,
    ));
    assert_eq!(g.state, GroupState::Stable);
    // Restart: same instance id, no member id.
    let j2 = now_result(g.join(
        req("", Some("inst-1"), &["range"]),
        t + Duration::from_secs(2),
        &cfg(),
    ));
    assert_eq!(j2.error, None);
    assert_ne!(j2.member_id, old);
    assert_eq!(j2.generation_id, 1, "no rebalance");
    assert_eq!(g.state, GroupState::Stable);
    let s = now_result(g.sync(&j2.member_id, Some("inst-1"), 1, None, None, vec![], t));
    assert_eq!(&s.assignment[..], b"P0");
    // The old incarnation is fenced.
    assert_eq!(
        g.heartbeat(&old, Some("inst-1"), 1, t),
        Some(GroupError::FencedInstanceId)
    );
    assert_eq!(
        now_result(g.sync(&old, Some("inst-1"), 1, None, None, vec![], t)).error,
        Some(GroupError::FencedInstanceId)
    );
}

#[test]
fn static_restart_with_new_metadata_keeps_the_generation_unless_the_protocol_changes() {
    let t = Instant::now();
    // Two static members, "a" (leader) and "b", stable in generation 2.
    let mut g = Group::new("g");
    let a = now_result(g.join(req("", Some("a"), &["range", "roundrobin"]), t, &cfg())).member_id;
    now_result(g.sync(&a, Some("a"), 1, None, None, vec![], t));
    let mut b_join = pending(g.join(req("", Some("b"), &["range", "roundrobin"]), t, &cfg()));
    let a_join = now_result(g.join(req(&a, Some("a"), &["range", "roundrobin"]), t, &cfg()));
    let b = b_join.try_recv().expect("b joined").member_id;
    assert_eq!(
        (a_join.generation_id, a_join.leader.as_str()),
        (2, a.as_str())
    );
    let mut b_sync = pending(g.sync(&b, Some("b"), 2, None, None, vec![], t));
    let plan = vec![
        (a.clone(), Bytes::from_static(b"A")),
        (b.clone(), Bytes::from_static(b"B")),
    ];
    now_result(g.sync(&a, Some("a"), 2, None, None, plan, t));
    assert_eq!(&b_sync.try_recv().expect("b synced").assignment[..], b"B");
    assert_eq!(g.state, GroupState::Stable);

    // A restarted client no longer lists its owned partitions: new metadata.
    let restarted = |inst: &str, protocols: &[&str]| {
        let mut r = req("", Some(inst), protocols);
        for (_, meta) in &mut r.protocols {
            *meta = Bytes::from(format!("restarted-{inst}"));
        }
        r
    };
    // The leader restarts: same generation, the member list, told to keep
    // the assignment (KIP-814); SyncGroup hands back its old assignment.
    let j = now_result(g.join(restarted("a", &["range", "roundrobin"]), t, &cfg()));
    assert_eq!(
        (j.error, j.generation_id, g.state),
        (None, 2, GroupState::Stable)
    );
    assert_eq!(
        (j.leader.as_str(), j.skip_assignment, j.members.len()),
        (j.member_id.as_str(), true, 2)
    );
    let s = now_result(g.sync(&j.member_id, Some("a"), 2, None, None, vec![], t));
    assert_eq!(&s.assignment[..], b"A");
    // A follower restarts: same generation, nothing to skip.
    let j = now_result(g.join(restarted("b", &["range", "roundrobin"]), t, &cfg()));
    assert_eq!(
        (j.error, j.generation_id, j.skip_assignment, j.members.len()),
        (None, 2, false, 0)
    );
    assert_eq!(g.state, GroupState::Stable);
    // A restart that changes the protocol the group would pick rebalances.
    let _waits = pending(g.join(restarted("b", &["roundrobin"]), t, &cfg()));
    assert_eq!(g.state, GroupState::PreparingRebalance);
}

#[test]
fn commit_checks() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    assert_eq!(g.check_commit(&a, None, 1), Ok(()));
    assert_eq!(
        g.check_commit(&a, None, 0),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        g.check_commit("x", None, 1),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        g.check_commit("", None, -1),
        Err(GroupError::UnknownMemberId)
    );
    g.leave(&a, None, t, &cfg());
    assert_eq!(
        g.check_commit("", None, -1),
        Ok(()),
        "simple commits to an empty group"
    );
}

#[test]
fn stored_round_trip_restores_stable_group() {
    let t = Instant::now();
    let (g, a) = stable_single(t);
    let stored = g.to_stored();
    let mut back = Group::from_stored("g", &stored, t);
    assert_eq!(back.state, GroupState::Stable);
    assert_eq!(back.generation, 1);
    assert_eq!(
        back.heartbeat(&a, None, 1, t),
        None,
        "members continue after a restart"
    );
    assert_eq!(
        &now_result(back.sync(&a, None, 1, None, None, vec![], t)).assignment[..],
        b"A"
    );
}

#[test]
fn leader_that_never_syncs_is_dropped_at_the_sync_deadline() {
    let t = Instant::now();
    let (mut g, a) = stable_single(t);
    let b = member_id(&mut g, t);
    let mut rb = pending(g.join(req(&b, None, &["range"]), t, &cfg()));
    now_result(g.join(req(&a, None, &["range"]), t, &cfg()));
    assert_eq!(rb.try_recv().expect("joined").generation_id, 2);
    // B syncs and waits; leader A never does. B keeps heartbeating.
    let mut sb = pending(g.sync(&b, None, 2, None, None, vec![], t));
    for s in 1..=31 {
        let at = t + Duration::from_secs(s);
        g.heartbeat(&b, None, 2, at);
        g.tick(at, &cfg());
    }
    assert_eq!(
        sb.try_recv().expect("told").error,
        Some(GroupError::RebalanceInProgress)
    );
    assert_eq!(g.state, GroupState::PreparingRebalance);
    assert_eq!(g.members().len(), 1);
    assert_eq!(g.members()[0].member_id, b);
}
