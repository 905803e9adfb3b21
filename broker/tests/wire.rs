//! Wire-level tests: raw Kafka requests over TCP against an in-process
//! broker, for the behaviours real clients depend on and the bad input they
//! must never be able to break the broker with.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

#[test]
fn api_versions_header_is_v0_and_unknown_version_gets_ranges() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    // v3 request: the response header must be v0 (no tagged-field byte):
    // the frame is correlation id then error code 0 directly.
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("wire"))
        .with_client_software_version(StrBytes::from_static_str("1"));
    let id = c.send(ApiKey::ApiVersions, 3, &req);
    let frame = c.read_frame().expect("response");
    assert_eq!(&frame[0..4], &id.to_be_bytes());
    assert_eq!(
        &frame[4..6],
        &[0, 0],
        "error code right after the correlation id"
    );
    let mut rest = frame.slice(4..);
    let resp = ApiVersionsResponse::decode(&mut rest, 3).expect("decode");
    let produce = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == 0)
        .expect("produce advertised");
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Fetch as i16 && k.max_version >= 13));

    // A version from the future: v0-format answer, error 35, our ranges.
    let mut raw = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(99)
        .with_correlation_id(77)
        .encode(&mut raw, 1)
        .expect("header");
    let mut frame = (raw.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&raw);
    c.send_raw(&frame);
    let mut resp = c.read_frame().expect("response");
    let header = ResponseHeader::decode(&mut resp, 0).expect("header");
    assert_eq!(header.correlation_id, 77);
    let body = ApiVersionsResponse::decode(&mut resp, 0).expect("v0 body");
    assert_eq!(body.error_code, 35);
    assert!(!body.api_keys.is_empty());
}

#[test]
fn bad_frames_close_only_their_connection() {
    let b = TestBroker::start(&[("socket.request.max.bytes", "1048576")]);
    let mut healthy = b.connect();
    let cases: Vec<Vec<u8>> = vec![
        (-5i32).to_be_bytes().to_vec(),          // negative size
        (200_000_000i32).to_be_bytes().to_vec(), // oversized
        [&8i32.to_be_bytes()[..], &[0x7f, 0x7f, 0, 0, 0, 0, 0, 1]].concat(), // unknown API key
        [&6i32.to_be_bytes()[..], &[0, 3, 0, 1, 0, 0]].concat(), // header too short
        [
            &12i32.to_be_bytes()[..],
            &[0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff],
        ]
        .concat(), // garbage body
        [&8i32.to_be_bytes()[..], &[0, 0, 0, 1, 0, 0, 0, 1]].concat(), // Produce v1: legacy, refused
        // Metadata v1 declaring 2^31 topics: must not allocate (process abort).
        [
            &15i32.to_be_bytes()[..],
            &[0, 3, 0, 1, 0, 0, 0, 1, 0, 1, b'z', 0x7f, 0xff, 0xff, 0xf0],
        ]
        .concat(),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let mut c = b.connect();
        c.send_raw(bytes);
        assert!(c.is_closed(), "case {i}: connection should be closed");
    }
    // A truncated frame followed by the client hanging up.
    let mut c = b.connect();
    c.send_raw(&[0, 0, 0, 50, 0, 3]);
    drop(c);
    // Everyone else is still served.
    let r: MetadataResponse = healthy.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.cluster_id.as_deref().map(str::len), Some(22));
}

#[test]
fn metadata_null_empty_and_auto_create() {
    let b = TestBroker::start(&[("num.partitions", "2")]);
    let mut c = b.connect();
    create_topic(&mut c, "existing", 1);
    let all: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let names: Vec<(String, bool)> = all
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                t.is_internal,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("__consumer_offsets".to_string(), true),
            ("existing".to_string(), false)
        ],
        "null topics = all topics, internal ones flagged"
    );
    let none: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert!(none.topics.is_empty());
    let ask = |name: &str, auto: bool| {
        MetadataRequest::default()
            .with_allow_auto_topic_creation(auto)
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(topic_name(name)))]))
    };
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &ask("nope", false));
    assert_eq!(
        r.topics[0].error_code, 3,
        "no auto-creation when the request forbids it"
    );
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &ask("auto", true));
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 2, "num.partitions applies");
    assert!(!r.topics[0].topic_id.is_nil());

    let b2 = TestBroker::start(&[("auto.create.topics.enable", "false")]);
    let mut c2 = b2.connect();
    let r: MetadataResponse = c2.call(ApiKey::Metadata, 12, &ask("auto", true));
    assert_eq!(
        r.topics[0].error_code, 3,
        "broker setting forbids auto-creation"
    );
}

#[test]
fn create_topics_validation() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "ok", 3).topics[0].error_code, 0);
    assert_eq!(create_topic(&mut c, "ok", 3).topics[0].error_code, 36);
    assert_eq!(create_topic(&mut c, "bad/name", 1).topics[0].error_code, 17);
    assert_eq!(create_topic(&mut c, "zero", 0).topics[0].error_code, 37);
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("rf3"))
            .with_num_partitions(1)
            .with_replication_factor(3),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(r.topics[0].error_code, 38);
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("cfg"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("segment.bytes"))
                .with_value(Some(StrBytes::from_static_str("lots")))]),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(r.topics[0].error_code, 40);
    assert!(r.topics[0]
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("segment.bytes"));
    // validate_only writes nothing.
    let req = CreateTopicsRequest::default()
        .with_validate_only(true)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name("dry"))
            .with_num_partitions(4)
            .with_replication_factor(1)]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!((r.topics[0].error_code, r.topics[0].num_partitions), (0, 4));
    assert_eq!(
        create_topic(&mut c, "dry", 1).topics[0].error_code,
        0,
        "dry run left nothing behind"
    );
    // Delete, then the name is free again.
    let del = DeleteTopicsRequest::default().with_topic_names(vec![topic_name("ok")]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 0);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 3);
    assert_eq!(create_topic(&mut c, "ok", 1).topics[0].error_code, 0);
    // The internal offsets topic can be neither deleted nor re-created.
    let del =
        DeleteTopicsRequest::default().with_topic_names(vec![topic_name("__consumer_offsets")]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 42, "INVALID_REQUEST");
    assert_eq!(
        create_topic(&mut c, "__consumer_offsets", 1).topics[0].error_code,
        36
    );
}

#[test]
fn produce_validation_errors() {
    let b = TestBroker::start(&[("message.max.bytes", "2000")]);
    let mut c = b.connect();
    create_topic(&mut c, "t", 1);
    // Bad CRC.
    let mut bad = batch(&["a", "b"], -1, -1, Compression::None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        produce(&mut c, "t", Bytes::from(bad)).error_code,
        2,
        "CORRUPT_MESSAGE"
    );
    // Magic 1 (legacy format).
    let mut legacy = batch(&["a"], -1, -1, Compression::None).to_vec();
    legacy[16] = 1;
    assert_eq!(
        produce(&mut c, "t", Bytes::from(legacy)).error_code,
        87,
        "INVALID_RECORD"
    );
    // Two batches in one partition (v3+ allows exactly one).
    let two = [
        batch(&["a"], -1, -1, Compression::None),
        batch(&["b"], -1, -1, Compression::None),
    ]
    .concat();
    assert_eq!(produce(&mut c, "t", Bytes::from(two)).error_code, 87);
    // Empty / truncated records.
    assert_eq!(produce(&mut c, "t", Bytes::new()).error_code, 2);
    let t = batch(&["abc"], -1, -1, Compression::None);
    assert_eq!(produce(&mut c, "t", t.slice(..t.len() - 1)).error_code, 2);
    // Too large.
    let big = "x".repeat(3000);
    assert_eq!(
        produce(&mut c, "t", batch(&[&big], -1, -1, Compression::None)).error_code,
        10
    );
    // Unknown partition and topic.
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("t", 5, batch(&["a"], -1, -1, Compression::None), 1),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 3);
    // Bad acks.
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("t", 0, batch(&["a"], -1, -1, Compression::None), 2),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    // Nothing of the above was stored.
    let ok = produce(&mut c, "t", batch(&["fine"], -1, -1, Compression::None));
    assert_eq!((ok.error_code, ok.base_offset), (0, 0));
}

#[test]
fn idempotent_duplicates_and_gaps() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "idem", 1);
    let pid: InitProducerIdResponse = c.call(
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(-1),
    );
    assert_eq!(pid.error_code, 0);
    let id = pid.producer_id.0;
    assert!(id >= 0);
    let first = batch(&["a", "b", "c"], id, 0, Compression::Lz4);
    assert_eq!(produce(&mut c, "idem", first.clone()).base_offset, 0);
    let second = batch(&["d"], id, 3, Compression::Gzip);
    assert_eq!(produce(&mut c, "idem", second.clone()).base_offset, 3);
    // Retried duplicates: success with the original offsets, nothing appended.
    let dup = produce(&mut c, "idem", first);
    assert_eq!((dup.error_code, dup.base_offset), (0, 0));
    let dup = produce(&mut c, "idem", second);
    assert_eq!((dup.error_code, dup.base_offset), (0, 3));
    // A gap is OUT_OF_ORDER_SEQUENCE_NUMBER.
    assert_eq!(
        produce(&mut c, "idem", batch(&["x"], id, 9, Compression::None)).error_code,
        45
    );
    let next = produce(&mut c, "idem", batch(&["e"], id, 4, Compression::None));
    assert_eq!((next.error_code, next.base_offset), (0, 4));
    // A second producer gets a different id.
    let pid2: InitProducerIdResponse = c.call(
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(-1),
    );
    assert_ne!(pid2.producer_id.0, id);
}

#[test]
fn fetch_long_poll_kip74_and_mid_batch() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "f", 1);
    // Empty partition, max_wait 300 ms: waits, then answers with empty
    // (not null) records.
    let start = Instant::now();
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 300, 1, 1 << 20));
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "an empty fetch must wait"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.records.as_ref().map(Bytes::len), Some(0));

    // A long fetch is woken by a produce on another connection.
    let port = b.port;
    let waiter = std::thread::spawn(move || {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut c = Client { s, next_id: 1 };
        let start = Instant::now();
        let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 20_000, 1, 1 << 20));
        (start.elapsed(), r)
    });
    // Give the fetch time to park (it is correct either way: if the produce
    // lands first, the fetch answers at once).
    std::thread::sleep(Duration::from_millis(200));
    produce(
        &mut c,
        "f",
        batch(&["one", "two", "three"], -1, -1, Compression::Snappy),
    );
    let (waited, r) = waiter.join().expect("waiter");
    assert!(
        waited < Duration::from_secs(10),
        "fetch not woken by the append"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 3);
    assert!(!p.records.as_ref().map(Bytes::is_empty).unwrap_or(true));

    // Mid-batch offset: the whole containing batch comes back.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 1, 0, 1, 1 << 20));
    let recs = r.responses[0].partitions[0]
        .records
        .clone()
        .expect("records");
    assert_eq!(
        i64::from_be_bytes(recs[0..8].try_into().expect("8 bytes")),
        0,
        "batch starts at 0"
    );

    // KIP-74: max_bytes smaller than the first batch still returns it.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 0, 1, 10));
    assert!(
        r.responses[0].partitions[0]
            .records
            .as_ref()
            .map(Bytes::len)
            .unwrap_or(0)
            > 10
    );

    // Out of range.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 50, 0, 1, 1 << 20));
    assert_eq!(r.responses[0].partitions[0].error_code, 1);
}

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

#[test]
fn restart_keeps_topics_data_and_cluster_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let cluster_id;
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        create_topic(&mut c, "keep", 2);
        produce(
            &mut c,
            "keep",
            batch(&["x", "y"], -1, -1, Compression::None),
        );
        let r: DescribeClusterResponse = c.call(
            ApiKey::DescribeCluster,
            1,
            &DescribeClusterRequest::default(),
        );
        cluster_id = r.cluster_id.to_string();
        assert_eq!(r.brokers.len(), 1);
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default(),
    );
    assert_eq!(r.cluster_id.to_string(), cluster_id);
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let keep = r
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("keep"))
        .expect("topic survives");
    assert_eq!(keep.partitions.len(), 2);
    let ok = produce(&mut c, "keep", batch(&["z"], -1, -1, Compression::None));
    assert_eq!(ok.base_offset, 2, "offsets continue after restart");
}

#[test]
fn pipelined_requests_answered_in_order() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let ids: Vec<i32> = (0..20)
        .map(|_| {
            c.send(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default().with_topics(Some(vec![])),
            )
        })
        .collect();
    for id in ids {
        let _: MetadataResponse = c.recv(12, id);
    }
}

#[test]
fn find_coordinator_single_and_batched() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let r: FindCoordinatorResponse = c.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g1")),
    );
    assert_eq!(
        (r.error_code, r.node_id.0, r.port),
        (0, 1, i32::from(b.port))
    );
    let req = FindCoordinatorRequest::default().with_coordinator_keys(vec![
        StrBytes::from_static_str("g1"),
        StrBytes::from_static_str("g2"),
    ]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(r.coordinators.len(), 2);
    assert!(r
        .coordinators
        .iter()
        .all(|k| k.error_code == 0 && k.node_id.0 == 1));
    // Transaction coordinators: this node (the topic is created on demand).
    let req = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![StrBytes::from_static_str("tx")]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(
        (r.coordinators[0].error_code, r.coordinators[0].node_id.0),
        (0, 1)
    );
    // An unknown key type is a bad request.
    let req = FindCoordinatorRequest::default()
        .with_key_type(7)
        .with_coordinator_keys(vec![StrBytes::from_static_str("x")]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(r.coordinators[0].error_code, 42);
}

/// A transactional batch (producer id, epoch, sequence from `seq`).
fn txn_batch(values: &[&str], producer_id: i64, epoch: i16, seq: i32) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: seq + i as i32,
            timestamp: 1_000,
            key: None,
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf.freeze()
}

#[test]
fn transaction_apis_on_the_wire() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "tw", 2);
    let tx = || TransactionalId(StrBytes::from_static_str("wire-tx"));
    let find: FindCoordinatorResponse = c.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key_type(1)
            .with_key(StrBytes::from_static_str("wire-tx")),
    );
    assert_eq!(find.error_code, 0);
    // InitProducerId v4 for a new instance of "wire-tx".
    let init_req = |timeout_ms: i32| {
        InitProducerIdRequest::default()
            .with_transactional_id(Some(tx()))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    // EndTxn v3 for (producer id, epoch).
    let end_req = |pid: ProducerId, epoch: i16, committed: bool| {
        EndTxnRequest::default()
            .with_transactional_id(tx())
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(committed)
    };
    // transaction.timeout.ms above transaction.max.timeout.ms.
    let init: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(900_001));
    assert_eq!(init.error_code, 50);
    let init: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(60_000));
    assert_eq!(init.error_code, 0);
    let (pid, epoch) = (init.producer_id, init.producer_epoch);

    // A transactional batch for a partition not added: refused (KIP-890).
    let mut req = produce_req("tw", 0, txn_batch(&["early"], pid.0, epoch, 0), -1);
    req.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 48);

    let add: AddPartitionsToTxnResponse = c.call(
        ApiKey::AddPartitionsToTxn,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(tx())
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(topic_name("tw"))
                    .with_partitions(vec![0]),
            ]),
    );
    let code = add.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
    assert_eq!(code, 0);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    // A transactional batch without the transactional id is refused.
    let no_id = produce_req("tw", 0, txn_batch(&["x"], pid.0, epoch, 1), -1);
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &no_id);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 87);

    // Broker-style verification (v4): partition 0 is in, partition 1 not.
    let verify: AddPartitionsToTxnResponse = c.call(
        ApiKey::AddPartitionsToTxn,
        4,
        &AddPartitionsToTxnRequest::default().with_transactions(vec![
            add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                .with_transactional_id(tx())
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_verify_only(true)
                .with_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic_name("tw"))
                        .with_partitions(vec![0, 1]),
                ]),
        ]),
    );
    let codes: Vec<i16> = verify.results_by_transaction[0].topic_results[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect();
    assert_eq!(codes, vec![0, 48]);

    // Describe: the open transaction, at the coordinator and the partition.
    let d: DescribeTransactionsResponse = c.call(
        ApiKey::DescribeTransactions,
        0,
        &DescribeTransactionsRequest::default().with_transactional_ids(vec![
            tx(),
            TransactionalId(StrBytes::from_static_str("nobody")),
        ]),
    );
    let s0 = &d.transaction_states[0];
    assert_eq!(
        (s0.error_code, s0.transaction_state.as_str(), s0.producer_id),
        (0, "Ongoing", pid)
    );
    assert_eq!(s0.topics[0].partitions, vec![0]);
    assert_eq!(d.transaction_states[1].error_code, 105);
    let p: DescribeProducersResponse = c.call(
        ApiKey::DescribeProducers,
        0,
        &DescribeProducersRequest::default().with_topics(vec![
            describe_producers_request::TopicRequest::default()
                .with_name(topic_name("tw"))
                .with_partition_indexes(vec![0]),
        ]),
    );
    let prod = &p.topics[0].partitions[0].active_producers[0];
    assert_eq!(
        (
            prod.producer_id,
            prod.current_txn_start_offset,
            prod.last_sequence
        ),
        (pid, 0, 0)
    );
    let l: ListTransactionsResponse = c.call(
        ApiKey::ListTransactions,
        1,
        &ListTransactionsRequest::default()
            .with_state_filters(vec![
                StrBytes::from_static_str("Ongoing"),
                StrBytes::from_static_str("Bogus"),
            ])
            .with_duration_filter(-1),
    );
    assert_eq!(l.transaction_states.len(), 1);
    assert_eq!(
        l.unknown_state_filters,
        vec![StrBytes::from_static_str("Bogus")]
    );

    // read_committed sees nothing yet and reports the LSO.
    let mut f = fetch_req("tw", 0, 0, 1, 1 << 20);
    f.isolation_level = 1;
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
    let pd = &r.responses[0].partitions[0];
    assert_eq!((pd.high_watermark, pd.last_stable_offset), (1, 0));
    assert!(pd.records.as_ref().is_none_or(|r| r.is_empty()));

    let end: EndTxnResponse = c.call(ApiKey::EndTxn, 3, &end_req(pid, epoch, false));
    assert_eq!(end.error_code, 0);
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
    let pd = &r.responses[0].partitions[0];
    assert_eq!((pd.high_watermark, pd.last_stable_offset), (2, 2));
    let aborted = pd.aborted_transactions.clone().unwrap_or_default();
    assert_eq!(aborted.len(), 1);
    assert_eq!((aborted[0].producer_id, aborted[0].first_offset), (pid, 0));
    // A late retry of the ended transaction's batch is answered as the
    // duplicate it is, not refused by verification.
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &req);
    let pr = &resp.responses[0].partition_responses[0];
    assert_eq!((pr.error_code, pr.base_offset), (0, 0));
    // A new batch for the ended transaction is refused (KIP-890).
    let mut late = produce_req("tw", 0, txn_batch(&["late"], pid.0, epoch, 1), -1);
    late.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &late);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 48);
    // A new instance bumps the epoch; the old epoch is then fenced
    // (PRODUCER_FENCED for EndTxn v2+).
    let init2: InitProducerIdResponse = c.call(ApiKey::InitProducerId, 4, &init_req(60_000));
    assert_eq!((init2.error_code, init2.producer_id), (0, pid));
    assert_eq!(init2.producer_epoch, epoch + 1);
    let end: EndTxnResponse = c.call(ApiKey::EndTxn, 3, &end_req(pid, epoch, true));
    assert_eq!(end.error_code, 90);
    // A batch of the fenced epoch: the partition leader answers
    // INVALID_PRODUCER_EPOCH with log start offset -1, as Kafka's does
    // (its verification turns PRODUCER_FENCED into it; ours said 90).
    let mut stale = produce_req("tw", 0, txn_batch(&["stale"], pid.0, epoch, 2), -1);
    stale.transactional_id = Some(tx());
    let resp: ProduceResponse = c.call(ApiKey::Produce, 9, &stale);
    let pr = &resp.responses[0].partition_responses[0];
    assert_eq!((pr.error_code, pr.log_start_offset), (47, -1));

    // TxnOffsetCommit for a group whose offsets partition was not added to
    // the transaction is refused (KIP-890 verification, as for produce).
    let commit: TxnOffsetCommitResponse = c.call(
        ApiKey::TxnOffsetCommit,
        3,
        &TxnOffsetCommitRequest::default()
            .with_transactional_id(tx())
            .with_group_id(GroupId(StrBytes::from_static_str("wire-group")))
            .with_producer_id(pid)
            .with_producer_epoch(init2.producer_epoch)
            .with_generation_id(-1)
            .with_topics(vec![
                txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(topic_name("tw"))
                    .with_partitions(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ]),
    );
    assert_eq!(commit.topics[0].partitions[0].error_code, 48);

    // A marker from an epoch older than one already written is skipped
    // (answered without error, nothing appended), so a coordinator never
    // retries it forever.
    let marker = |epoch: i16| {
        WriteTxnMarkersRequest::default().with_markers(vec![
            write_txn_markers_request::WritableTxnMarker::default()
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_transaction_result(true)
                .with_coordinator_epoch(0)
                .with_topics(vec![
                    write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(topic_name("tw"))
                        .with_partition_indexes(vec![1]),
                ]),
        ])
    };
    let r: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, 1, &marker(epoch + 5));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    let hw = |c: &mut Client| {
        let mut f = fetch_req("tw", 0, 0, 1, 1 << 20);
        f.topics[0].partitions[0].partition = 1;
        let r: FetchResponse = c.call(ApiKey::Fetch, 12, &f);
        r.responses[0].partitions[0].high_watermark
    };
    assert_eq!(hw(&mut c), 1, "the newer marker is written");
    let r: WriteTxnMarkersResponse = c.call(ApiKey::WriteTxnMarkers, 1, &marker(epoch));
    assert_eq!(r.markers[0].topics[0].partitions[0].error_code, 0);
    assert_eq!(hw(&mut c), 1, "the fenced marker is not");
}

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

#[test]
fn create_partitions_grows_topics_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let grow = |name: &str, count: i32, validate_only: bool, assignments: Option<Vec<i32>>| {
        CreatePartitionsRequest::default()
            .with_validate_only(validate_only)
            .with_topics(vec![
                create_partitions_request::CreatePartitionsTopic::default()
                    .with_name(topic_name(name))
                    .with_count(count)
                    .with_assignments(assignments.map(|a| {
                        a.into_iter()
                            .map(|b| {
                                create_partitions_request::CreatePartitionsAssignment::default()
                                    .with_broker_ids(vec![BrokerId(b)])
                            })
                            .collect()
                    })),
            ])
    };
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        create_topic(&mut c, "grow", 1);
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("grow", 3, true, None));
        assert_eq!(
            (r.results.len(), r.results[0].error_code),
            (1, 0),
            "validate_only answers the topic"
        );
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("grow", 1, false, None));
        assert_eq!(r.results[0].error_code, 37, "cannot shrink or keep");
        let r: CreatePartitionsResponse =
            c.call(ApiKey::CreatePartitions, 3, &grow("nope", 2, false, None));
        assert_eq!(r.results[0].error_code, 3);
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            3,
            &grow("grow", 3, false, Some(vec![1, 9])),
        );
        assert_eq!(r.results[0].error_code, 39, "broker 9 does not exist");
        let r: CreatePartitionsResponse = c.call(
            ApiKey::CreatePartitions,
            3,
            &grow("grow", 3, false, Some(vec![1, 1])),
        );
        assert_eq!(r.results[0].error_code, 0);
        let r: ProduceResponse = c.call(
            ApiKey::Produce,
            9,
            &produce_req("grow", 2, batch(&["new"], -1, -1, Compression::None), -1),
        );
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name("grow"))),
        ])),
    );
    assert_eq!(r.topics[0].partitions.len(), 3, "growth survives a restart");
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("grow", 2, batch(&["again"], -1, -1, Compression::None), -1),
    );
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 1);
}

fn describe_topic(c: &mut Client, topic: &str, keys: Option<Vec<&str>>) -> DescribeConfigsResponse {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(topic.to_string()))
                .with_configuration_keys(keys.map(|k| {
                    k.into_iter()
                        .map(|s| StrBytes::from_string(s.to_string()))
                        .collect()
                })),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

fn config_value(r: &DescribeConfigsResponse, key: &str) -> Option<(String, i8)> {
    r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .map(|c| {
            (
                c.value.as_deref().unwrap_or("").to_string(),
                c.config_source,
            )
        })
}

#[test]
fn describe_and_alter_topic_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let incremental = |ops: Vec<(&str, i8, Option<&str>)>, validate_only: bool| {
        IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("cfg"))
                    .with_configs(
                        ops.into_iter()
                            .map(|(k, op, v)| {
                                incremental_alter_configs_request::AlterableConfig::default()
                                    .with_name(StrBytes::from_string(k.to_string()))
                                    .with_config_operation(op)
                                    .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                            })
                            .collect(),
                    ),
            ])
    };
    {
        let b = TestBroker::start(&[("log.dirs", &data), ("message.max.bytes", "5000")]);
        let mut c = b.connect();
        create_topic(&mut c, "cfg", 1);
        // Every Kafka topic key is described, with defaults and sources.
        let r = describe_topic(&mut c, "cfg", None);
        assert_eq!(r.results[0].error_code, 0);
        assert!(r.results[0].configs.len() >= 30);
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("604800000".into(), 5)),
            "Kafka default (log.retention.hours not set)"
        );
        assert_eq!(
            config_value(&r, "max.message.bytes"),
            Some(("5000".into(), 4)),
            "from the broker setting"
        );
        assert!(r.results[0]
            .configs
            .iter()
            .all(|c| c.documentation.is_some()));
        // Synonyms as Kafka 4.1 lists them: the broker key behind the
        // default, none where there is none or it has a null default (this
        // assertion required a synonym for every key before).
        let synonyms = |key: &str| -> Vec<(String, i8)> {
            r.results[0]
                .configs
                .iter()
                .find(|c| c.name.as_str() == key)
                .map(|c| {
                    c.synonyms
                        .iter()
                        .map(|s| (s.name.to_string(), s.source))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            synonyms("max.message.bytes"),
            vec![("message.max.bytes".into(), 4)]
        );
        assert_eq!(
            synonyms("file.delete.delay.ms"),
            vec![("log.segment.delete.delay.ms".into(), 5)]
        );
        assert_eq!(synonyms("preallocate"), vec![("log.preallocate".into(), 5)]);
        assert_eq!(
            synonyms("message.timestamp.after.max.ms"),
            vec![("log.message.timestamp.after.max.ms".into(), 5)]
        );
        for key in [
            "retention.ms",
            "segment.ms",
            "flush.ms",
            "segment.jitter.ms",
        ] {
            assert_eq!(synonyms(key), vec![], "{key}: null broker default");
        }
        assert_eq!(synonyms("leader.replication.throttled.replicas"), vec![]);
        let r = describe_topic(&mut c, "cfg", Some(vec!["cleanup.policy", "no.such.key"]));
        assert_eq!(r.results[0].configs.len(), 1, "only known requested keys");

        // SET and APPEND, then SUBTRACT and DELETE.
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(
                vec![
                    ("max.message.bytes", 0, Some("100")),
                    ("cleanup.policy", 2, Some("compact")),
                ],
                false,
            ),
        );
        assert_eq!(
            r.responses[0].error_code, 0,
            "{:?}",
            r.responses[0].error_message
        );
        let r = describe_topic(&mut c, "cfg", None);
        assert_eq!(
            config_value(&r, "cleanup.policy"),
            Some(("delete,compact".into(), 1))
        );
        assert_eq!(
            config_value(&r, "max.message.bytes"),
            Some(("100".into(), 1))
        );
        // The new limit takes effect at once.
        let big = "y".repeat(300);
        assert_eq!(
            produce(&mut c, "cfg", batch(&[&big], -1, -1, Compression::None)).error_code,
            10
        );
        // Bad values and APPEND on a non-list key are INVALID_CONFIG naming the key.
        for ops in [
            vec![("segment.bytes", 0, Some("tiny"))],
            vec![("retention.ms", 2, Some("5"))],
            vec![("bogus.key", 0, Some("1"))],
        ] {
            let r: IncrementalAlterConfigsResponse =
                c.call(ApiKey::IncrementalAlterConfigs, 1, &incremental(ops, false));
            assert_eq!(r.responses[0].error_code, 40);
        }
        // validate_only changes nothing.
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(vec![("retention.ms", 0, Some("1000"))], true),
        );
        assert_eq!(r.responses[0].error_code, 0);
        assert_eq!(
            config_value(&describe_topic(&mut c, "cfg", None), "retention.ms").map(|v| v.1),
            Some(5)
        );
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(
                vec![
                    ("cleanup.policy", 3, Some("delete")),
                    ("max.message.bytes", 1, None),
                ],
                false,
            ),
        );
        assert_eq!(r.responses[0].error_code, 0);
        // The size limit is back to the default (no MESSAGE_TOO_LARGE); the
        // topic is compact-only now, so the keyless record is INVALID_RECORD.
        assert_eq!(
            produce(&mut c, "cfg", batch(&[&big], -1, -1, Compression::None)).error_code,
            87
        );
    }
    // Durable across a restart.
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r = describe_topic(&mut c, "cfg", None);
    assert_eq!(
        config_value(&r, "cleanup.policy"),
        Some(("compact".into(), 1))
    );
    // Legacy AlterConfigs replaces every override.
    let req = AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("cfg"))
            .with_configs(vec![alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("3600000")))]),
    ]);
    let r: AlterConfigsResponse = c.call(ApiKey::AlterConfigs, 2, &req);
    assert_eq!(r.responses[0].error_code, 0);
    let r = describe_topic(&mut c, "cfg", None);
    assert_eq!(
        config_value(&r, "retention.ms"),
        Some(("3600000".into(), 1))
    );
    assert_eq!(
        config_value(&r, "cleanup.policy").map(|v| v.1),
        Some(5),
        "replaced, so back to default"
    );
    // Broker resource: static configs, read-only.
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(None),
    ]);
    let r: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req);
    let n = r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "num.partitions")
        .expect("num.partitions");
    assert_eq!(
        (n.value.as_deref(), n.read_only, n.config_source),
        (Some("1"), true, 5),
        "not set anywhere: Kafka's default"
    );
    let l = r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "listeners")
        .expect("listeners");
    assert_eq!(
        (l.read_only, l.config_source),
        (false, 4),
        "set at start-up; per-broker dynamic in Kafka, so not read-only"
    );
}

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
            ]),
    ]);
    let r: OffsetForLeaderEpochResponse = c.call(ApiKey::OffsetForLeaderEpoch, 4, &req);
    let ps = &r.topics[0].partitions;
    assert_eq!(
        (ps[0].error_code, ps[0].leader_epoch, ps[0].end_offset),
        (0, 0, 2)
    );
    assert_eq!(ps[1].error_code, 75, "UNKNOWN_LEADER_EPOCH");

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

fn broker_resource_ops(
    c: &mut Client,
    resource: &str,
    ops: Vec<(&str, i8, Option<&str>)>,
) -> IncrementalAlterConfigsResponse {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_string(resource.to_string()))
            .with_configs(
                ops.into_iter()
                    .map(|(k, op, v)| {
                        incremental_alter_configs_request::AlterableConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_config_operation(op)
                            .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            ),
    ]);
    c.call(ApiKey::IncrementalAlterConfigs, 1, &req)
}

fn describe_broker(c: &mut Client, resource: &str) -> DescribeConfigsResponse {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_string(resource.to_string()))
                .with_configuration_keys(None),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

/// Dynamic broker configs: the cluster default (resource "", what
/// `kafka-configs --entity-default` sends) and the per-broker resource,
/// Kafka's precedence and sources, synonyms, static keys refused, durable.
#[test]
fn dynamic_broker_configs_layer_and_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    {
        let b = TestBroker::start(&[("log.dirs", &data), ("log.retention.hours", "24")]);
        let mut c = b.connect();
        create_topic(&mut c, "dyn", 1);
        let r = describe_broker(&mut c, "1");
        assert_eq!(
            config_value(&r, "log.retention.ms"),
            Some(("".into(), 5)),
            "log.retention.hours is not log.retention.ms: Kafka's null value, default source"
        );
        let r = describe_topic(&mut c, "dyn", Some(vec!["retention.ms"]));
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("86400000".into(), 4)),
            "a static broker setting reached through a synonym"
        );
        // Cluster-wide default.
        let r = broker_resource_ops(&mut c, "", vec![("log.retention.ms", 0, Some("5000000"))]);
        assert_eq!(
            r.responses[0].error_code, 0,
            "{:?}",
            r.responses[0].error_message
        );
        let r = describe_broker(&mut c, "");
        assert_eq!(
            config_value(&r, "log.retention.ms"),
            Some(("5000000".into(), 3))
        );
        assert_eq!(r.results[0].configs.len(), 1, "only the dynamic defaults");
        let r = describe_topic(&mut c, "dyn", Some(vec!["retention.ms"]));
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("5000000".into(), 3))
        );
        // Per-broker wins over the cluster default; synonyms list both.
        let r = broker_resource_ops(&mut c, "1", vec![("log.retention.ms", 0, Some("6000000"))]);
        assert_eq!(r.responses[0].error_code, 0);
        let r = describe_broker(&mut c, "1");
        let e = r.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == "log.retention.ms")
            .expect("log.retention.ms");
        assert_eq!(
            (e.value.as_deref(), e.config_source, e.read_only),
            (Some("6000000"), 2, false)
        );
        let sources: Vec<i8> = e.synonyms.iter().map(|s| s.source).collect();
        // No default synonym: Kafka's default of log.retention.ms is null.
        assert_eq!(sources, vec![2, 3]);
        // Static keys, bad values, unknown keys and other brokers are refused
        // (the first two with Kafka's INVALID_REQUEST).
        for (resource, key, value, code) in [
            ("1", "num.partitions", "3", 42),
            ("1", "log.retention.ms", "soon", 42),
            ("1", "no.such.key", "1", 40),
            ("7", "log.retention.ms", "1", 42),
        ] {
            let r = broker_resource_ops(&mut c, resource, vec![(key, 0, Some(value))]);
            assert_eq!(r.responses[0].error_code, code, "{resource} {key}={value}");
        }
        // A dynamic message.max.bytes takes effect on the next produce.
        let r = broker_resource_ops(&mut c, "", vec![("message.max.bytes", 0, Some("100"))]);
        assert_eq!(r.responses[0].error_code, 0);
        let big = "x".repeat(500);
        assert_eq!(
            produce(&mut c, "dyn", batch(&[&big], -1, -1, Compression::None)).error_code,
            10
        );
        let r = broker_resource_ops(&mut c, "", vec![("message.max.bytes", 1, None)]);
        assert_eq!(r.responses[0].error_code, 0);
        assert_eq!(
            produce(&mut c, "dyn", batch(&[&big], -1, -1, Compression::None)).error_code,
            0
        );
    }
    let b = TestBroker::start(&[("log.dirs", &data), ("log.retention.hours", "24")]);
    let mut c = b.connect();
    let r = describe_broker(&mut c, "1");
    assert_eq!(
        config_value(&r, "log.retention.ms"),
        Some(("6000000".into(), 2))
    );
    let r = describe_broker(&mut c, "");
    assert_eq!(
        config_value(&r, "log.retention.ms"),
        Some(("5000000".into(), 3))
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

/// A data directory from before the quorum (single-voter `metadata.log`)
/// is imported once into the Raft log and keeps its topics.
#[test]
fn pre_quorum_metadata_is_imported_once() {
    use memorystreamer_raft::{MetadataLog, MetadataRecord};
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d");
    let meta = data.join("__cluster_metadata-0");
    let id = uuid::Uuid::new_v4();
    {
        let (mut log, _) = MetadataLog::open(&meta.join("metadata.log")).expect("legacy log");
        log.append(&[
            MetadataRecord::TopicCreated {
                topic_id: id,
                name: "legacy".into(),
                partitions: 1,
                replication_factor: 1,
                configs: vec![("retention.ms".into(), "1234".into())],
            },
            MetadataRecord::PartitionCreated {
                topic_id: id,
                partition: 0,
                leader: 1,
                leader_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
            },
        ])
        .expect("append");
    }
    let data_s = data.display().to_string();
    for _ in 0..2 {
        let b = TestBroker::start(&[("log.dirs", &data_s)]);
        let mut c = b.connect();
        let r = describe_topic(&mut c, "legacy", Some(vec!["retention.ms"]));
        assert_eq!(config_value(&r, "retention.ms"), Some(("1234".into(), 1)));
        assert_eq!(
            produce(&mut c, "legacy", batch(&["a"], -1, -1, Compression::None)).error_code,
            0
        );
    }
    assert!(!meta.join("metadata.log").exists());
    assert!(meta.join("metadata.log.imported").exists());
    assert!(meta.join("raft.log").exists());
}
