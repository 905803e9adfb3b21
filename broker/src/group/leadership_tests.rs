//! The group coordinator moving with leadership of `__consumer_offsets`
//! partitions, on two in-memory nodes (node B opens a copy of node A's
//! logs, as a follower that fetched everything): committed offsets and
//! groups are served by the new leader right after its load, the old one
//! answers NOT_COORDINATOR and fails members waiting in a rebalance, a
//! partition being replayed answers COORDINATOR_LOAD_IN_PROGRESS, and
//! repeated notifications are harmless.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::protocol::{GroupConfig, GroupState, JoinRequest, Reply};
use super::{CommitEntry, GroupCoordinator, OFFSETS_TOPIC};
use crate::coordinator::memory::MemoryHost;
use crate::coordinator::{InternalLog, MetadataView};
use crate::error::GroupError;
use crate::replica::partition::Partition;

const PARTITIONS: i32 = 3;
/// Node id of node B.
const NODE_B: i32 = 2;

fn coordinator() -> GroupCoordinator {
    let config = GroupConfig {
        initial_rebalance_delay: Duration::ZERO,
        ..GroupConfig::default()
    };
    GroupCoordinator::new(config, PARTITIONS)
}

/// Node A: the offsets topic and topic "t", every partition led here and
/// loaded.
fn node_a(dir: &Path) -> Arc<MemoryHost> {
    let host = MemoryHost::open(dir, &[(OFFSETS_TOPIC, PARTITIONS), ("t", 2)], coordinator())
        .expect("open node A");
    host.groups.load(&host).expect("load");
    host
}

/// Node B: a copy of node A's logs, nothing loaded.
fn node_b(a: &MemoryHost, dir: &Path) -> Arc<MemoryHost> {
    a.open_copy(dir, coordinator()).expect("open node B")
}

fn commit(
    host: &Arc<MemoryHost>,
    group: &str,
    member: &str,
    generation: i32,
    offset: i64,
) -> Vec<Option<GroupError>> {
    let entry = CommitEntry {
        topic: "t".into(),
        partition: 0,
        offset,
        leader_epoch: -1,
        metadata: String::new(),
    };
    host.groups
        .commit(host, group, member, None, generation, &[entry])
}

fn committed(host: &MemoryHost, group: &str) -> Option<i64> {
    host.groups
        .fetch_offsets(group, Some(&[("t".to_string(), 0)]))
        .first()
        .and_then(|(_, v)| v.as_ref().map(|v| v.offset))
}

fn join_request(member_id: &str) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout: Duration::from_secs(30),
        rebalance_timeout: Duration::from_secs(30),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
        require_known_member_id: false,
    }
}

/// The answer of a request that completes at once (possibly through a
/// receiver already filled).
fn now<T>(r: Reply<T>) -> T {
    match r {
        Reply::Now(v) => v,
        Reply::Later(mut rx) => rx.try_recv().expect("reply should be ready"),
    }
}

/// One member joins "g" and syncs: Stable at generation 1.
fn join_and_sync(host: &Arc<MemoryHost>) -> String {
    let join = now(host.groups.join(host, "g", join_request("")));
    assert_eq!((join.error, join.generation_id), (None, 1));
    let member = join.member_id;
    let sync = now(host.groups.sync(
        host,
        "g",
        &member,
        None,
        1,
        Some("consumer"),
        Some("range"),
        vec![(member.clone(), Bytes::from_static(b"assignment"))],
    ));
    assert_eq!(sync.error, None);
    member
}

/// A group whose offsets partition is not `partition`.
fn group_elsewhere(host: &MemoryHost, partition: i32) -> String {
    (0..)
        .map(|i| format!("other-{i}"))
        .find(|g| host.groups.partition_of(g) != partition)
        .expect("some group hashes to another partition")
}

#[test]
fn offsets_and_groups_move_to_the_new_leader_and_the_old_one_answers_not_coordinator() {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a = node_a(dir_a.path());
    let p = a.groups.partition_of("g");
    let other = group_elsewhere(&a, p);
    let member = join_and_sync(&a);
    assert_eq!(commit(&a, "g", &member, 1, 42), vec![None]);
    assert_eq!(commit(&a, &other, "", -1, 7), vec![None]);
    let b = node_b(&a, dir_b.path());
    assert_eq!(
        b.groups.check_coordinator("g"),
        Err(GroupError::NotCoordinator),
        "nothing is served before B leads"
    );

    // A loses the partition: its appends are refused before it is told.
    a.follow(OFFSETS_TOPIC, p, 1, NODE_B).expect("A follows");
    assert_eq!(
        commit(&a, "g", &member, 1, 41),
        vec![Some(GroupError::NotCoordinator)],
        "a follower's refused append is NOT_COORDINATOR"
    );
    a.groups.on_leadership_change(a.as_ref(), p, false, 1);
    b.lead(OFFSETS_TOPIC, p, 1).expect("B leads");
    b.groups.on_leadership_change(b.as_ref(), p, true, 1);

    assert_eq!(
        committed(&b, "g"),
        Some(42),
        "readable right after the load"
    );
    assert_eq!(b.groups.check_coordinator("g"), Ok(()));
    assert_eq!(
        b.groups.with_group("g", |g| g.map(|g| (
            g.state,
            g.generation,
            g.members().len()
        ))),
        Some((GroupState::Stable, 1, 1)),
        "the group comes back as stored"
    );
    assert_eq!(
        b.groups.heartbeat("g", &member, None, 1),
        None,
        "its member carries on"
    );
    assert_eq!(commit(&b, "g", &member, 1, 43), vec![None]);

    assert_eq!(
        a.groups.check_coordinator("g"),
        Err(GroupError::NotCoordinator)
    );
    assert_eq!(
        a.groups.heartbeat("g", &member, None, 1),
        Some(GroupError::NotCoordinator)
    );
    assert_eq!(
        commit(&a, "g", &member, 1, 44),
        vec![Some(GroupError::NotCoordinator)]
    );
    assert_eq!(committed(&a, "g"), None, "dropped from A's memory");
    assert!(a.groups.list().iter().all(|l| l.group_id != "g"));

    assert_eq!(
        a.groups.check_coordinator(&other),
        Ok(()),
        "A keeps its other partitions"
    );
    assert_eq!(committed(&a, &other), Some(7));
    assert_eq!(
        b.groups.check_coordinator(&other),
        Err(GroupError::NotCoordinator)
    );
}

#[test]
fn members_waiting_in_a_rebalance_get_not_coordinator_when_the_partition_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = node_a(dir.path());
    let p = a.groups.partition_of("g");
    join_and_sync(&a);
    let Reply::Later(mut waiting) = a.groups.join(&a, "g", join_request("")) else {
        panic!("a second member waits for the first to rejoin");
    };
    assert!(waiting.try_recv().is_err(), "still waiting");
    a.follow(OFFSETS_TOPIC, p, 1, NODE_B).expect("A follows");
    a.groups.on_leadership_change(a.as_ref(), p, false, 1);
    let answer = waiting
        .try_recv()
        .expect("answered when the partition is unloaded");
    assert_eq!(answer.error, Some(GroupError::NotCoordinator));
    let join = now(a.groups.join(&a, "g", join_request("")));
    assert_eq!(join.error, Some(GroupError::NotCoordinator));
}

/// A host that records what the coordinator answers for "g" whenever the
/// replay asks it for a partition (while the partition is loading).
struct Probe<'a> {
    host: &'a MemoryHost,
    replays: AtomicUsize,
    seen: Mutex<Vec<Result<(), GroupError>>>,
}

impl<'a> Probe<'a> {
    fn new(host: &'a MemoryHost) -> Self {
        Probe {
            host,
            replays: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl InternalLog for Probe<'_> {
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.replays.fetch_add(1, Ordering::SeqCst);
        // Would deadlock if the load held the coordinator's lock here.
        let answer = self.host.groups.check_coordinator("g");
        self.seen.lock().expect("probe lock").push(answer);
        self.host.internal_partition(topic, index)
    }

    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        self.host.internal_partitions(topic)
    }
}

impl MetadataView for Probe<'_> {
    fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.host.partition_exists(topic, index)
    }
}

#[test]
fn a_loading_partition_answers_load_in_progress_and_notifications_are_idempotent() {
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a = node_a(dir_a.path());
    let p = a.groups.partition_of("g");
    assert_eq!(commit(&a, "g", "", -1, 5), vec![None]);
    let b = node_b(&a, dir_b.path());
    b.lead(OFFSETS_TOPIC, p, 1).expect("B leads");
    let probe = Probe::new(&b);

    b.groups.on_leadership_change(&probe, p, true, 1);
    assert_eq!(
        *probe.seen.lock().expect("probe lock"),
        vec![Err(GroupError::CoordinatorLoadInProgress)],
        "answered during the replay, which does not hold the lock"
    );
    assert_eq!(committed(&b, "g"), Some(5));
    assert_eq!(GroupError::CoordinatorLoadInProgress.code(), 14);

    b.groups.on_leadership_change(&probe, p, true, 1);
    b.groups.on_leadership_change(&probe, p, true, 0);
    assert_eq!(
        probe.replays.load(Ordering::SeqCst),
        1,
        "the same or an older epoch does not reload"
    );
    assert_eq!(commit(&b, "g", "", -1, 6), vec![None]);
    assert_eq!(committed(&b, "g"), Some(6), "in-memory state kept");
    b.groups.on_leadership_change(&probe, p, false, 0);
    assert_eq!(
        b.groups.check_coordinator("g"),
        Ok(()),
        "an unload older than the load is stale"
    );

    b.lead(OFFSETS_TOPIC, p, 2).expect("B leads at epoch 2");
    b.groups.on_leadership_change(&probe, p, true, 2);
    assert_eq!(
        probe.replays.load(Ordering::SeqCst),
        2,
        "a newer epoch reloads"
    );
    assert_eq!(committed(&b, "g"), Some(6), "reloaded from the log");
    assert!(b.groups.loaded_partitions().contains(&(p, 2)));

    b.groups.on_leadership_change(&probe, p, false, 2);
    b.groups.on_leadership_change(&probe, p, false, 2);
    assert_eq!(
        b.groups.check_coordinator("g"),
        Err(GroupError::NotCoordinator)
    );
    assert!(!b.groups.loaded_partitions().iter().any(|(q, _)| *q == p));
}
