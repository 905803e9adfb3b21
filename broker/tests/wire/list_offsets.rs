//! ListOffsets: the special timestamps (latest, earliest, max timestamp)
//! and lookups by time inside compressed batches.
//!
//! Not the log start moved by retention or DeleteRecords (`delete_records.rs`).

use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;

#[test]
fn list_offsets_special_and_by_time() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "lo", 1);
    // Timestamps 1000, 1001, 1002 (batch helper) in each batch.
    produce(
        &mut c,
        "lo",
        batch(&["a", "b", "c"], -1, -1, Compression::Zstd),
    );
    produce(&mut c, "lo", batch(&["d", "e"], -1, -1, Compression::None));
    let ask = |ts: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic_name("lo"))
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(ts),
                ])])
    };
    let mut q = |ts: i64| {
        let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 8, &ask(ts));
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        (p.offset, p.timestamp)
    };
    assert_eq!(q(-1).0, 5);
    assert_eq!(q(-2).0, 0);
    assert_eq!(q(-3), (2, 1002), "first record holding the max timestamp");
    assert_eq!(q(1001), (1, 1001), "record-exact inside a compressed batch");
    assert_eq!(q(1000).0, 0);
    assert_eq!(q(5000), (-1, -1), "after every record: -1, not 0");
}

/// The request's `current_leader_epoch` is checked (older: FENCED, newer:
/// UNKNOWN, -1: no check) and the answer carries the leader epoch (v4+).
#[test]
fn list_offsets_checks_and_reports_leader_epochs() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "loe", 1);
    produce(&mut c, "loe", batch(&["a", "b"], -1, -1, Compression::None));
    let mut q = |ts: i64, current: i32| {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                .with_name(topic_name("loe"))
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(ts)
                        .with_current_leader_epoch(current),
                ])]);
        let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 8, &req);
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.offset, p.leader_epoch)
    };
    assert_eq!(q(-1, -1), (0, 2, 0), "latest: the current epoch");
    assert_eq!(q(-1, 0), (0, 2, 0));
    assert_eq!(q(-2, 0), (0, 0, 0), "earliest: the first cached epoch");
    assert_eq!(q(1001, -1), (0, 1, 0), "by time: the batch's epoch");
    assert_eq!(q(5000, -1), (0, -1, -1), "nothing found: no epoch");
    assert_eq!(q(-1, 3), (75, -1, -1), "UNKNOWN_LEADER_EPOCH");
    // Older than the current epoch (0 here; -1 alone means "no check").
    assert_eq!(q(-1, -2), (74, -1, -1), "FENCED_LEADER_EPOCH");
}
