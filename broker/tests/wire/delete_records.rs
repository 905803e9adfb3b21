//! The log start offset: retention deleting old segments and DeleteRecords
//! moving the start, as ListOffsets and Fetch then see it.

use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::common::*;

fn list_offset(c: &mut Client, topic: &str, ts: i64) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts),
            ])]);
    let r: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 8, &req);
    r.topics[0].partitions[0].offset
}

#[test]
fn retention_deletes_old_segments_and_delete_records_moves_the_start() {
    let b = TestBroker::start(&[("log.retention.check.interval.ms", "50")]);
    let mut c = b.connect();
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("ret"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(
                [("segment.bytes", "1024"), ("retention.bytes", "2048")]
                    .iter()
                    .map(|(k, v)| {
                        create_topics_request::CreatableTopicConfig::default()
                            .with_name(StrBytes::from_static_str(k))
                            .with_value(Some(StrBytes::from_static_str(v)))
                    })
                    .collect(),
            ),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(r.topics[0].error_code, 0);
    let payload = "r".repeat(200);
    // Current timestamps: only the size limit can delete anything.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    for _ in 0..60 {
        let b = batch_at(&[&payload], -1, -1, Compression::None, now);
        assert_eq!(produce(&mut c, "ret", b).error_code, 0);
    }
    // The cleaner runs every 50 ms (possibly already during the produce
    // loop): poll (bounded) until about 2 KiB of the 60 x ~270 B batches
    // is left, i.e. the start passed offset 40.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut start = list_offset(&mut c, "ret", -2);
    while start <= 40 {
        assert!(
            Instant::now() < deadline,
            "retention.bytes never trimmed the log (start {start})"
        );
        std::thread::sleep(Duration::from_millis(20));
        start = list_offset(&mut c, "ret", -2);
    }
    assert!(
        start < 60,
        "the active segment is never deleted (start {start})"
    );
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("ret", 0, 0, 1, 1 << 20));
    assert_eq!(
        r.responses[0].partitions[0].error_code, 1,
        "OFFSET_OUT_OF_RANGE below the start"
    );
    assert!(r.responses[0].partitions[0].log_start_offset >= start);

    // DeleteRecords moves it further; -1 means up to the high watermark.
    let del = |offset: i64| {
        DeleteRecordsRequest::default().with_topics(vec![
            delete_records_request::DeleteRecordsTopic::default()
                .with_name(topic_name("ret"))
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(offset),
                ]),
        ])
    };
    let r: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, 2, &del(58));
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.error_code, p.low_watermark), (0, 58));
    assert_eq!(list_offset(&mut c, "ret", -2), 58);
    let r: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, 2, &del(500));
    assert_eq!(r.topics[0].partitions[0].error_code, 1, "beyond the end");
    let r: DeleteRecordsResponse = c.call(ApiKey::DeleteRecords, 2, &del(-1));
    assert_eq!(r.topics[0].partitions[0].low_watermark, 60);
    let ok = produce(&mut c, "ret", batch(&["after"], -1, -1, Compression::None));
    assert_eq!((ok.error_code, ok.base_offset), (0, 60));
}
