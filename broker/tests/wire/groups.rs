//! The classic consumer-group APIs (JoinGroup, SyncGroup, Heartbeat,
//! OffsetCommit, OffsetFetch, LeaveGroup, ListGroups, DescribeGroups,
//! DeleteGroups), and `__consumer_offsets` compaction and replay.
//!
//! Not transactional offset commits (`transactions.rs`).

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::common::*;

#[test]
fn join_sync_commit_fetch_round_trip() {
    let b = TestBroker::start(&[("group.initial.rebalance.delay.ms", "0")]);
    let mut c = b.connect();
    create_topic(&mut c, "gt", 2);
    let join = |member: &str| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("grp")))
            .with_session_timeout_ms(10_000)
            .with_rebalance_timeout_ms(10_000)
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(b"sub"))])
    };
    // KIP-394: first answer is MEMBER_ID_REQUIRED with the id to use.
    let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 9, &join(""));
    assert_eq!(r.error_code, 79);
    let member = r.member_id.to_string();
    let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 9, &join(&member));
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    assert_eq!(r.leader.as_str(), member);
    assert_eq!(r.members.len(), 1);
    assert_eq!(r.protocol_name.as_deref(), Some("range"));
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("grp")))
        .with_generation_id(1)
        .with_member_id(StrBytes::from_string(member.clone()))
        .with_assignments(vec![
            sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(StrBytes::from_string(member.clone()))
                .with_assignment(Bytes::from_static(b"\x00exact-bytes")),
        ]);
    let r: SyncGroupResponse = c.call(ApiKey::SyncGroup, 5, &sync);
    assert_eq!(
        (r.error_code, &r.assignment[..]),
        (0, &b"\x00exact-bytes"[..])
    );
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("grp")))
        .with_generation_id(1)
        .with_member_id(StrBytes::from_string(member.clone()));
    let r: HeartbeatResponse = c.call(ApiKey::Heartbeat, 4, &hb);
    assert_eq!(r.error_code, 0);
    let r: HeartbeatResponse = c.call(ApiKey::Heartbeat, 4, &hb.clone().with_generation_id(7));
    assert_eq!(r.error_code, 22, "ILLEGAL_GENERATION");
    // Commit with metadata; fetch it back (v7 single group, v8 batched).
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("grp")))
        .with_generation_id_or_member_epoch(1)
        .with_member_id(StrBytes::from_string(member.clone()))
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name("gt"))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(1)
                        .with_committed_offset(42)
                        .with_committed_metadata(Some(StrBytes::from_static_str("my-meta"))),
                ]),
        ]);
    let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &commit);
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let r: OffsetCommitResponse = c.call(
        ApiKey::OffsetCommit,
        8,
        &commit.clone().with_generation_id_or_member_epoch(5),
    );
    assert_eq!(r.topics[0].partitions[0].error_code, 22);
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("grp")))
        .with_topics(None);
    let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 7, &fetch);
    let p = &r.topics[0].partitions[0];
    assert_eq!(
        (p.partition_index, p.committed_offset, p.metadata.as_deref()),
        (1, 42, Some("my-meta"))
    );
    let fetch8 = OffsetFetchRequest::default().with_groups(vec![
        offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(StrBytes::from_static_str("grp")))
            .with_topics(Some(vec![
                offset_fetch_request::OffsetFetchRequestTopics::default()
                    .with_name(topic_name("gt"))
                    .with_partition_indexes(vec![0, 1]),
            ])),
    ]);
    let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 8, &fetch8);
    let ps = &r.groups[0].topics[0].partitions;
    assert_eq!((ps[0].committed_offset, ps[1].committed_offset), (-1, 42));
    // Non-empty groups cannot be deleted; after leaving they can.
    let del = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(StrBytes::from_static_str("grp"))]);
    let r: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, 2, &del);
    assert_eq!(r.results[0].error_code, 68, "NON_EMPTY_GROUP");
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("grp")))
        .with_members(vec![leave_group_request::MemberIdentity::default()
            .with_member_id(StrBytes::from_string(member))]);
    let r: LeaveGroupResponse = c.call(ApiKey::LeaveGroup, 5, &leave);
    assert_eq!((r.error_code, r.members[0].error_code), (0, 0));
    let r: ListGroupsResponse = c.call(ApiKey::ListGroups, 5, &ListGroupsRequest::default());
    assert_eq!(r.groups[0].group_state.as_str(), "Empty");
    let r: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, 2, &del);
    assert_eq!(r.results[0].error_code, 0);
    let r: DescribeGroupsResponse = c.call(
        ApiKey::DescribeGroups,
        6,
        &DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_static_str("grp"))]),
    );
    assert_eq!(
        r.groups[0].error_code, 69,
        "GROUP_ID_NOT_FOUND after deletion"
    );
}

fn offsets_partition_size(c: &mut Client) -> i64 {
    let req = DescribeLogDirsRequest::default().with_topics(None);
    let r: DescribeLogDirsResponse = c.call(ApiKey::DescribeLogDirs, 4, &req);
    r.results[0]
        .topics
        .iter()
        .find(|t| t.name.as_str() == "__consumer_offsets")
        .map(|t| t.partitions.iter().map(|p| p.partition_size).sum())
        .unwrap_or(-1)
}

fn simple_commit(c: &mut Client, group: &'static str, partition: i32, offset: i64) -> i16 {
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![
            offset_commit_request::OffsetCommitRequestTopic::default()
                .with_name(topic_name("oc"))
                .with_partitions(vec![
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(partition)
                        .with_committed_offset(offset),
                ]),
        ]);
    let r: OffsetCommitResponse = c.call(ApiKey::OffsetCommit, 8, &commit);
    r.topics[0].partitions[0].error_code
}

fn committed(c: &mut Client, group: &'static str) -> Vec<(i32, i64)> {
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str(group)))
        .with_topics(None);
    let r: OffsetFetchResponse = c.call(ApiKey::OffsetFetch, 7, &fetch);
    let mut v: Vec<(i32, i64)> = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (p.partition_index, p.committed_offset))
        })
        .collect();
    v.sort_unstable();
    v
}

/// `__consumer_offsets` is compacted by the cleaner like any compacted
/// topic, and the coordinator's replay after a restart still finds the
/// newest commit of every partition and no deleted group.
#[test]
fn consumer_offsets_are_compacted_and_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let props = [
        ("log.dirs", data.as_str()),
        ("offsets.topic.num.partitions", "1"),
        ("offsets.topic.segment.bytes", "2048"),
        ("log.cleaner.backoff.ms", "50"),
    ];
    {
        let b = TestBroker::start(&props);
        let mut c = b.connect();
        create_topic(&mut c, "oc", 2);
        assert_eq!(simple_commit(&mut c, "gone", 0, 5), 0);
        for i in 1..=400 {
            assert_eq!(simple_commit(&mut c, "keep", 0, i), 0);
        }
        assert_eq!(simple_commit(&mut c, "keep", 1, 7), 0);
        let del = DeleteGroupsRequest::default()
            .with_groups_names(vec![GroupId(StrBytes::from_static_str("gone"))]);
        let r: DeleteGroupsResponse = c.call(ApiKey::DeleteGroups, 2, &del);
        assert_eq!(r.results[0].error_code, 0);
        // 400 commits of ~100 bytes each: well over 20 KiB before cleaning.
        let before = offsets_partition_size(&mut c);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Appends roll segments, so the cleaner can work on sealed ones.
            assert_eq!(simple_commit(&mut c, "keep", 1, 7), 0);
            let now = offsets_partition_size(&mut c);
            if now * 4 < before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "__consumer_offsets not compacted: {before} -> {now} bytes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let b = TestBroker::start(&props);
    let mut c = b.connect();
    assert_eq!(committed(&mut c, "keep"), vec![(0, 400), (1, 7)]);
    assert!(
        committed(&mut c, "gone").is_empty(),
        "deleted group came back"
    );
}
