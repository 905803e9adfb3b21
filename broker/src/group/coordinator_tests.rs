//! The group coordinator on the in-memory host (real offsets partitions in
//! a temporary directory, no broker): join, sync, commit and fetch, what
//! survives a restart, and how its refusals reach the wire.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::protocol::{GroupConfig, GroupState, JoinRequest, Reply};
use super::{CommitEntry, GroupCoordinator, OFFSETS_TOPIC};
use crate::coordinator::memory::MemoryHost;
use crate::error::GroupError;

const OFFSETS_PARTITIONS: i32 = 3;

/// A host with the offsets topic and topic "t" (2 partitions); the group
/// coordinator replayed what the directory holds.
fn open(dir: &Path) -> Arc<MemoryHost> {
    let config = GroupConfig {
        initial_rebalance_delay: Duration::ZERO,
        ..GroupConfig::default()
    };
    let host = MemoryHost::open(
        dir,
        &[(OFFSETS_TOPIC, OFFSETS_PARTITIONS), ("t", 2)],
        GroupCoordinator::new(config, OFFSETS_PARTITIONS),
    )
    .expect("open host");
    host.groups.load(&host).expect("load");
    host
}

fn now<T>(r: Reply<T>) -> T {
    match r {
        Reply::Now(v) => v,
        Reply::Later(mut rx) => rx.try_recv().expect("reply should be ready"),
    }
}

fn entry(partition: i32, offset: i64, metadata: &str) -> CommitEntry {
    CommitEntry {
        topic: "t".into(),
        partition,
        offset,
        leader_epoch: 4,
        metadata: metadata.into(),
    }
}

/// One member joins "g" and syncs: the group is Stable at generation 1.
fn join_and_sync(host: &Arc<MemoryHost>) -> String {
    let join = now(host.groups.join(
        host,
        "g",
        JoinRequest {
            member_id: String::new(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(30),
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
            require_known_member_id: false,
        },
    ));
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
    assert_eq!(&sync.assignment[..], b"assignment");
    member
}

#[test]
fn commits_are_fetched_and_replayed_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = open(dir.path());
    let member = join_and_sync(&host);
    let results = host.groups.commit(
        &host,
        "g",
        &member,
        None,
        1,
        &[
            entry(0, 42, "m"),
            entry(7, 1, ""),
            entry(1, 9, &"x".repeat(5000)),
        ],
    );
    assert_eq!(
        results,
        vec![
            None,
            Some(GroupError::UnknownTopicOrPartition),
            Some(GroupError::OffsetMetadataTooLarge)
        ]
    );
    assert_eq!(
        host.groups
            .commit(&host, "g", &member, None, 2, &[entry(1, 5, "")]),
        vec![Some(GroupError::IllegalGeneration)]
    );
    let fetched = host.groups.fetch_offsets("g", None);
    assert_eq!(fetched.len(), 1);
    let ((topic, partition), value) = &fetched[0];
    let value = value.as_ref().expect("committed");
    assert_eq!(
        (topic.as_str(), *partition, value.offset, value.leader_epoch),
        ("t", 0, 42, 4)
    );
    assert_eq!(value.metadata, "m");
    drop(host);

    let host = open(dir.path());
    let fetched = host
        .groups
        .fetch_offsets("g", Some(&[("t".into(), 0), ("t".into(), 1)]));
    assert_eq!(fetched[0].1.as_ref().map(|v| v.offset), Some(42));
    assert_eq!(fetched[1].1, None);
    let groups = host.groups.list();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (
            groups[0].group_id.as_str(),
            groups[0].protocol_type.as_str(),
            groups[0].state
        ),
        ("g", "consumer", GroupState::Stable),
        "the group's membership is replayed too"
    );
    // The replayed member still owns its generation.
    assert_eq!(
        host.groups
            .commit(&host, "g", &member, None, 1, &[entry(1, 5, "")]),
        vec![None]
    );
}

#[test]
fn deleted_group_stays_deleted_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = open(dir.path());
    assert_eq!(
        host.groups
            .commit(&host, "g", "", None, -1, &[entry(0, 3, "")]),
        vec![None]
    );
    assert_eq!(host.groups.delete(&host, "g"), None);
    assert_eq!(
        host.groups.delete(&host, "g"),
        Some(GroupError::GroupIdNotFound)
    );
    drop(host);
    let host = open(dir.path());
    assert!(host.groups.list().is_empty());
    assert!(host.groups.fetch_offsets("g", None).is_empty());
}

#[test]
fn a_commit_that_cannot_be_written_fails_with_the_write_error_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = open(dir.path());
    host.release(OFFSETS_TOPIC, host.groups.partition_of("g"));
    let results = host.groups.commit(
        &host,
        "g",
        "",
        None,
        -1,
        &[entry(0, 3, ""), entry(1, 4, "")],
    );
    assert_eq!(results.len(), 2);
    for r in &results {
        let e = r.as_ref().expect("refused");
        assert!(matches!(e, GroupError::Write(_)), "{e:?}");
        // The append's own failure decides the code: the partition is not
        // hosted here, UNKNOWN_TOPIC_OR_PARTITION (3).
        assert_eq!(e.code(), 3);
    }
    assert!(host.groups.fetch_offsets("g", None).is_empty());
}
