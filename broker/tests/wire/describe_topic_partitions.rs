//! DescribeTopicPartitions (pagination with a cursor), with the other
//! per-partition describes in the same test: OffsetForLeaderEpoch and
//! DescribeLogDirs; OffsetForLeaderEpoch across the epoch bump of a restart.

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;

#[test]
fn describe_topic_partitions_log_dirs_and_leader_epochs() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "dtp", 3);
    produce(&mut c, "dtp", batch(&["a", "b"], -1, -1, Compression::None));
    // Paginated: 2 partitions per page, continued with the cursor.
    let req = DescribeTopicPartitionsRequest::default()
        .with_response_partition_limit(2)
        .with_topics(vec![
            describe_topic_partitions_request::TopicRequest::default().with_name(topic_name("dtp")),
            describe_topic_partitions_request::TopicRequest::default()
                .with_name(topic_name("missing")),
        ]);
    let r: DescribeTopicPartitionsResponse = c.call(ApiKey::DescribeTopicPartitions, 0, &req);
    let t = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("dtp"))
        .expect("dtp");
    assert_eq!(t.partitions.len(), 2);
    assert!(!t.topic_id.is_nil());
    let cursor = r.next_cursor.clone().expect("more to come");
    assert_eq!(
        (cursor.topic_name.as_str(), cursor.partition_index),
        ("dtp", 2)
    );
    let r: DescribeTopicPartitionsResponse = c.call(
        ApiKey::DescribeTopicPartitions,
        0,
        &req.clone().with_cursor(Some(
            describe_topic_partitions_request::Cursor::default()
                .with_topic_name(topic_name("dtp"))
                .with_partition_index(2),
        )),
    );
    let t = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("dtp"))
        .expect("dtp");
    assert_eq!(
        t.partitions
            .iter()
            .map(|p| p.partition_index)
            .collect::<Vec<_>>(),
        vec![2]
    );
    let missing = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("missing"))
        .expect("missing");
    assert_eq!(missing.error_code, 3);

    // OffsetForLeaderEpoch: epoch 0 ends at the log end.
    let req = OffsetForLeaderEpochRequest::default().with_topics(vec![
        offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
            .with_topic(topic_name("dtp"))
            .with_partitions(vec![
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(0)
                    .with_leader_epoch(0),
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(1)
                    .with_current_leader_epoch(5)
                    .with_leader_epoch(0),
                // An epoch above every epoch of the log: undefined.
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(7),
                // Older than the current epoch (-1 alone skips the check).
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(2)
                    .with_current_leader_epoch(-2)
                    .with_leader_epoch(0),
                offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                    .with_partition(9)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(0),
            ]),
    ]);
    let r: OffsetForLeaderEpochResponse = c.call(ApiKey::OffsetForLeaderEpoch, 4, &req);
    let ps = &r.topics[0].partitions;
    assert_eq!(
        (ps[0].error_code, ps[0].leader_epoch, ps[0].end_offset),
        (0, 0, 2)
    );
    assert_eq!(ps[1].error_code, 75, "UNKNOWN_LEADER_EPOCH");
    assert_eq!(
        (ps[2].error_code, ps[2].leader_epoch, ps[2].end_offset),
        (0, -1, -1)
    );
    assert_eq!(
        (ps[3].error_code, ps[3].leader_epoch, ps[3].end_offset),
        (74, -1, -1),
        "FENCED_LEADER_EPOCH"
    );
    assert_eq!(ps[4].error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");

    // DescribeLogDirs: one dir, sizes of the partitions.
    let r: DescribeLogDirsResponse = c.call(
        ApiKey::DescribeLogDirs,
        4,
        &DescribeLogDirsRequest::default().with_topics(None),
    );
    assert_eq!(r.results.len(), 1);
    let t = r.results[0]
        .topics
        .iter()
        .find(|t| t.name.as_str() == "dtp")
        .expect("dtp");
    assert_eq!(t.partitions.len(), 3);
    assert!(t.partitions.iter().any(|p| p.partition_size > 0));
    // v4: the file system's space, as Kafka reports it (not -1, "unknown").
    let (total, usable) = (r.results[0].total_bytes, r.results[0].usable_bytes);
    assert!(
        total > 0 && (0..=total).contains(&usable),
        "total {total}, usable {usable}"
    );
}

fn end_offset_for(c: &mut Client, topic: &str, current: i32, epoch: i32) -> (i16, i32, i64) {
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-2))
        .with_topics(vec![
            offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(current)
                        .with_leader_epoch(epoch),
                ]),
        ]);
    let r: OffsetForLeaderEpochResponse = c.call(ApiKey::OffsetForLeaderEpoch, 4, &req);
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

/// A restart elects the node again with a new leader epoch: the old epoch
/// ends where the new one starts, a client holding the old epoch is
/// FENCED_LEADER_EPOCH, and Metadata reports the new epoch.
#[test]
fn offset_for_leader_epoch_after_an_epoch_bump() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        create_topic(&mut c, "bump", 1);
        produce(
            &mut c,
            "bump",
            batch(&["a", "b"], -1, -1, Compression::None),
        );
        assert_eq!(end_offset_for(&mut c, "bump", 0, 0), (0, 0, 2));
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name("bump"))),
        ])),
    );
    let epoch = r.topics[0].partitions[0].leader_epoch;
    assert!(epoch > 0, "a restart bumps the leader epoch, got {epoch}");
    produce(&mut c, "bump", batch(&["c"], -1, -1, Compression::None));
    assert_eq!(
        end_offset_for(&mut c, "bump", epoch, 0),
        (0, 0, 2),
        "epoch 0 ends where the next one starts"
    );
    assert_eq!(end_offset_for(&mut c, "bump", -1, epoch), (0, epoch, 3));
    assert_eq!(end_offset_for(&mut c, "bump", 0, 0), (74, -1, -1));
    assert_eq!(end_offset_for(&mut c, "bump", epoch + 1, 0), (75, -1, -1));
}
