//! Produce validates every record of a batch, as Kafka's log validator does
//! (issue 12, items 4, 8 and 9): CRC-valid batches whose records lie about
//! their count, hold garbage, undecodable compression, wrong offset deltas
//! or trailing bytes are refused and nothing is stored; a compacted topic
//! names each keyless record (KIP-467); and a stored batch with a hostile
//! record count cannot make ListOffsets allocate for it.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use memorystreamer_log::codec;

/// A record: length varint, attributes, timestamp delta, offset delta, key,
/// value, no headers.
fn record(ts_delta: i64, offset_delta: i64, key: Option<&[u8]>, value: &[u8]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, v: i64) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        while u >= 0x80 {
            out.push((u as u8) | 0x80);
            u >>= 7;
        }
        out.push(u as u8);
    }
    let mut body = vec![0u8];
    varint(&mut body, ts_delta);
    varint(&mut body, offset_delta);
    match key {
        None => varint(&mut body, -1),
        Some(k) => {
            varint(&mut body, k.len() as i64);
            body.extend_from_slice(k);
        }
    }
    varint(&mut body, value.len() as i64);
    body.extend_from_slice(value);
    varint(&mut body, 0);
    let mut out = Vec::new();
    varint(&mut out, body.len() as i64);
    out.extend_from_slice(&body);
    out
}

/// A RecordBatch v2 around `payload` (already compressed with `codec`),
/// with the header claims given and a correct CRC.
fn forged(payload: &[u8], codec: i16, count: i32, last_delta: i32, base_ts: i64) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((49 + payload.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&codec.to_be_bytes());
    b.extend_from_slice(&last_delta.to_be_bytes());
    b.extend_from_slice(&base_ts.to_be_bytes());
    b.extend_from_slice(&(base_ts + 2).to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(payload);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn three_records() -> Vec<u8> {
    [
        record(0, 0, Some(b"k0"), b"v0"),
        record(1, 1, Some(b"k1"), b"v1"),
        record(2, 2, Some(b"k2"), b"v2"),
    ]
    .concat()
}

fn latest_offset(c: &mut Client, topic: &str) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-1),
            ])]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req);
    let p = &resp.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

fn offset_for_time(c: &mut Client, topic: &str, ts: i64) -> (i16, i64) {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts),
            ])]);
    let resp: ListOffsetsResponse = c.call(ApiKey::ListOffsets, 7, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset)
}

#[test]
fn crc_valid_batches_of_corrupt_records_are_refused_and_nothing_is_stored() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "corrupt", 1).topics[0].error_code, 0);
    let good = three_records();
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[1, 2, 3]);
    let mut garbage = good.clone();
    for byte in garbage.iter_mut().skip(4).take(8) {
        *byte = 0xff;
    }
    let bad_deltas = [
        record(0, 0, Some(b"k0"), b"v0"),
        record(1, 0, Some(b"k1"), b"v1"),
        record(2, 1, Some(b"k2"), b"v2"),
    ]
    .concat();
    let zstd = |section: &[u8]| codec::compress(codec::ZSTD, section).expect("zstd");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "count 2^31-1",
            forged(&good, 0, i32::MAX, i32::MAX - 1, 1000),
        ),
        ("count 4 for 3 records", forged(&good, 0, 4, 3, 1000)),
        ("count 2 for 3 records", forged(&good, 0, 2, 1, 1000)),
        ("garbage record bytes", forged(&garbage, 0, 3, 2, 1000)),
        ("trailing junk", forged(&trailing, 0, 3, 2, 1000)),
        ("offset deltas 0,0,1", forged(&bad_deltas, 0, 3, 2, 1000)),
        (
            "undecodable gzip",
            forged(b"this is not gzip at all", codec::GZIP, 3, 2, 1000),
        ),
        (
            "zstd count 2^31-1",
            forged(&zstd(&good), codec::ZSTD, i32::MAX, i32::MAX - 1, 1000),
        ),
        (
            "zstd trailing junk",
            forged(&zstd(&trailing), codec::ZSTD, 3, 2, 1000),
        ),
        (
            "zstd bad deltas",
            forged(&zstd(&bad_deltas), codec::ZSTD, 3, 2, 1000),
        ),
    ];
    for (what, batch) in cases {
        let p = produce(&mut c, "corrupt", Bytes::from(batch));
        assert!(
            p.error_code == 87 || p.error_code == 2,
            "{what}: answered {} (expected INVALID_RECORD or CORRUPT_MESSAGE)",
            p.error_code
        );
        assert_eq!(latest_offset(&mut c, "corrupt"), 0, "{what} was stored");
    }
    // The same records, honestly framed, are accepted, plain and compressed.
    let p = produce(&mut c, "corrupt", Bytes::from(forged(&good, 0, 3, 2, 1000)));
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let p = produce(
        &mut c,
        "corrupt",
        Bytes::from(forged(&zstd(&good), codec::ZSTD, 3, 2, 2000)),
    );
    assert_eq!((p.error_code, p.base_offset), (0, 3));
    assert_eq!(offset_for_time(&mut c, "corrupt", 2001), (0, 4));
}

#[test]
fn a_stored_batch_with_a_hostile_record_count_cannot_abort_list_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    {
        let b = TestBroker::start_at(&data, &[]);
        let mut c = b.connect();
        assert_eq!(create_topic(&mut c, "hostile", 1).topics[0].error_code, 0);
        let p = produce(
            &mut c,
            "hostile",
            Bytes::from(forged(&three_records(), 0, 3, 2, 1000)),
        );
        assert_eq!(p.error_code, 0);
    }
    // As if an older version (or a disk) had stored it: a CRC-valid batch
    // at offset 3 that claims 2^31-1 records, zstd-compressed.
    let section = codec::compress(codec::ZSTD, &three_records()).expect("zstd");
    let mut batch = forged(&section, codec::ZSTD, i32::MAX, i32::MAX - 1, 5000);
    batch[0..8].copy_from_slice(&3i64.to_be_bytes());
    let seg = data.join("hostile-0").join(format!("{:020}.log", 0));
    let mut bytes = std::fs::read(&seg).expect("segment");
    bytes.extend_from_slice(&batch);
    std::fs::write(&seg, bytes).expect("write segment");
    let b = TestBroker::start_at(&data, &[]);
    let mut c = b.connect();
    // kafka-protocol's decoder reserved memory for 2^31 records here and
    // aborted the process; the log's walker refuses the batch instead.
    let (code, _) = offset_for_time(&mut c, "hostile", 5000);
    assert_ne!(code, 0, "the hostile batch was decoded as if valid");
    assert_eq!(offset_for_time(&mut c, "hostile", 1001), (0, 1));
}

fn keyed_records(n: usize, keyless: impl Fn(usize) -> bool) -> Bytes {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32 - 1,
            timestamp: 1_000 + i as i64,
            key: (!keyless(i)).then(|| Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::Lz4,
        },
    )
    .expect("encode");
    buf.freeze()
}

#[test]
fn a_compacted_topic_names_each_keyless_record() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("compacted"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(kafka_protocol::protocol::StrBytes::from_static_str(
                    "cleanup.policy",
                ))
                .with_value(Some(
                    kafka_protocol::protocol::StrBytes::from_static_str("compact"),
                ))]),
    ]);
    let resp: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(resp.topics[0].error_code, 0);
    let keyless = |i: usize| i % 10 == 3;
    let records = keyed_records(100, keyless);
    for version in [8i16, 9] {
        let resp: ProduceResponse = c.call(
            ApiKey::Produce,
            version,
            &produce_req("compacted", 0, records.clone(), -1),
        );
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 87, "v{version}");
        let named: Vec<i32> = p.record_errors.iter().map(|e| e.batch_index).collect();
        let expected: Vec<i32> = (0..100).filter(|i| keyless(*i as usize)).collect();
        assert_eq!(
            named, expected,
            "v{version}: every keyless record named, no other"
        );
        assert!(p.record_errors.iter().all(|e| e
            .batch_index_error_message
            .as_deref()
            .is_some_and(|m| m.contains("without key"))));
        assert!(p.error_message.is_some());
    }
    assert_eq!(latest_offset(&mut c, "compacted"), 0, "nothing stored");
    let p = produce(&mut c, "compacted", keyed_records(100, |_| false));
    assert_eq!((p.error_code, p.base_offset), (0, 0));
}
