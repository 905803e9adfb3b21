//! Request builders shared by the differential scenarios (one version per
//! API, chosen so both brokers support it), and the ApiVersions scenario.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use memorystreamer_compat_tests::differential::wire::{
    record_batch, str_bytes, topic_name, Answer, ProducerFields, WireClient,
};

use super::Side;

/// Request versions used by every scenario.
pub const CREATE_TOPICS_V: i16 = 7;
pub const METADATA_V: i16 = 12;
pub const PRODUCE_V: i16 = 9;
pub const FETCH_V: i16 = 12;
pub const LIST_OFFSETS_V: i16 = 8;
pub const DELETE_RECORDS_V: i16 = 2;

/// ApiVersions v3 (the version current clients send first) and v0 (the
/// fallback), compared key by key.
pub fn api_versions(side: &mut Side) {
    let mut c = side.client();
    let req = ApiVersionsRequest::default()
        .with_client_software_name(str_bytes("differential"))
        .with_client_software_version(str_bytes("1.0"));
    let v3: Answer<ApiVersionsResponse> = c.call(ApiKey::ApiVersions, 3, &req);
    side.rec.answer("v3", &v3);
    let v0: Answer<ApiVersionsResponse> =
        c.call(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default());
    side.rec.answer("v0", &v0);
    // A client software name Kafka's validation refuses (KIP-511: only
    // [a-zA-Z0-9.-], starting and ending alphanumeric).
    let bad = ApiVersionsRequest::default()
        .with_client_software_name(str_bytes("-bad name-"))
        .with_client_software_version(str_bytes("1.0"));
    let bad: Answer<ApiVersionsResponse> = c.call(ApiKey::ApiVersions, 3, &bad);
    side.rec
        .answer("invalid_software_name.error_code", &error_code_of(&bad));
}

fn error_code_of(a: &Answer<ApiVersionsResponse>) -> Answer<i16> {
    match a {
        Answer::Response(r) => Answer::Response(r.error_code),
        Answer::Closed => Answer::Closed,
    }
}

/// A CreateTopics request for one topic.
pub fn creatable(
    name: &str,
    partitions: i32,
    replication: i16,
    configs: &[(&str, &str)],
) -> create_topics_request::CreatableTopic {
    create_topics_request::CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(partitions)
        .with_replication_factor(replication)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    create_topics_request::CreatableTopicConfig::default()
                        .with_name(str_bytes(k))
                        .with_value(Some(str_bytes(v)))
                })
                .collect(),
        )
}

/// CreateTopics with these topics.
pub fn create_topics(
    c: &mut WireClient,
    topics: Vec<create_topics_request::CreatableTopic>,
    validate_only: bool,
) -> Answer<CreateTopicsResponse> {
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000)
        .with_validate_only(validate_only);
    c.call(ApiKey::CreateTopics, CREATE_TOPICS_V, &req)
}

/// Creates one topic, asserts it worked, and waits (bounded) until every
/// partition answers ListOffsets: Kafka's brokers learn of a new topic
/// asynchronously after CreateTopics returns, and clients wait for that
/// too (setup, not an observation).
pub fn create_topic(c: &mut WireClient, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let r = create_topics(c, vec![creatable(name, partitions, 1, configs)], false)
        .expect_response("CreateTopics");
    assert_eq!(
        r.topics[0].error_code, 0,
        "creating {name}: {:?}",
        r.topics[0]
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    for p in 0..partitions {
        loop {
            let r = list_offsets(c, name, &[(p, -1)], 0).expect_response("ListOffsets");
            if r.topics[0].partitions[0].error_code == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "topic {name} partition {p} never became ready: {r:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Produce of one batch to one partition.
pub fn produce(
    c: &mut WireClient,
    topic: &str,
    partition: i32,
    records: Bytes,
    transactional_id: Option<&str>,
) -> Answer<ProduceResponse> {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_transactional_id(transactional_id.map(|t| TransactionalId(str_bytes(t))))
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records)),
            ])]);
    c.call(ApiKey::Produce, PRODUCE_V, &req)
}

/// Produces `n` plain records with timestamps `base_ts`, `base_ts + 10`, ...
pub fn produce_plain(
    c: &mut WireClient,
    topic: &str,
    partition: i32,
    n: usize,
    base_ts: i64,
) -> Answer<ProduceResponse> {
    let values: Vec<Vec<u8>> = (0..n).map(|i| format!("value-{i}").into_bytes()).collect();
    let records: Vec<_> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (None, v.as_slice(), base_ts + 10 * i as i64))
        .collect();
    produce(
        c,
        topic,
        partition,
        record_batch(&records, ProducerFields::NONE),
        None,
    )
}

/// A read-uncommitted Fetch of one partition from `offset`, not waiting.
pub fn fetch(
    c: &mut WireClient,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Answer<FetchResponse> {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_isolation_level(0)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(1 << 20)])]);
    c.call(ApiKey::Fetch, FETCH_V, &req)
}

/// ListOffsets of `(partition, timestamp)` pairs of one topic.
pub fn list_offsets(
    c: &mut WireClient,
    topic: &str,
    queries: &[(i32, i64)],
    isolation_level: i8,
) -> Answer<ListOffsetsResponse> {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(
                queries
                    .iter()
                    .map(|(p, ts)| {
                        list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(*p)
                            .with_current_leader_epoch(-1)
                            .with_timestamp(*ts)
                    })
                    .collect(),
            )]);
    c.call(ApiKey::ListOffsets, LIST_OFFSETS_V, &req)
}

/// Metadata for these topics (no auto-creation).
pub fn metadata(c: &mut WireClient, topics: &[&str]) -> Answer<MetadataResponse> {
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(
            topics
                .iter()
                .map(|t| {
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(t)))
                })
                .collect(),
        ));
    c.call(ApiKey::Metadata, METADATA_V, &req)
}

/// DeleteRecords up to `offset` on one partition.
pub fn delete_records(
    c: &mut WireClient,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Answer<DeleteRecordsResponse> {
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default()
                    .with_partition_index(partition)
                    .with_offset(offset),
            ])]);
    c.call(ApiKey::DeleteRecords, DELETE_RECORDS_V, &req)
}

/// Error codes a client retries: COORDINATOR_NOT_AVAILABLE,
/// COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR, CONCURRENT_TRANSACTIONS.
pub const RETRIABLE: &[i16] = &[14, 15, 16, 51];

/// InitProducerId (v4), retried as clients do while the answer is
/// [`RETRIABLE`]; only the final answer is returned.
pub fn init_producer_id(
    c: &mut WireClient,
    transactional_id: Option<&str>,
) -> Answer<InitProducerIdResponse> {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(transactional_id.map(|t| TransactionalId(str_bytes(t))))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r: Answer<InitProducerIdResponse> = c.call(ApiKey::InitProducerId, 4, &req);
        match &r {
            Answer::Response(x)
                if RETRIABLE.contains(&x.error_code) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50))
            }
            _ => return r,
        }
    }
}

/// Makes the broker's group and transaction coordinators and its producer
/// id allocation ready (Kafka creates `__consumer_offsets` and
/// `__transaction_state` on first use and answers "not available" until
/// they are loaded), so scenarios see steady-state answers. Bounded.
pub fn warm_up(port: u16) {
    let mut c = WireClient::connect(port, "differential-warm-up").expect("connect");
    let deadline = Instant::now() + Duration::from_secs(60);
    for key_type in [0i8, 1] {
        loop {
            let req = FindCoordinatorRequest::default()
                .with_key_type(key_type)
                .with_coordinator_keys(vec![str_bytes("warm-up")]);
            let r: FindCoordinatorResponse = c
                .call(ApiKey::FindCoordinator, 4, &req)
                .expect_response("FindCoordinator");
            if r.coordinators.first().is_some_and(|x| x.error_code == 0) {
                break;
            }
            assert!(Instant::now() < deadline, "coordinator never ready: {r:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for txn in [None, Some("warm-up")] {
        let r = init_producer_id(&mut c, txn).expect_response("InitProducerId");
        assert_eq!(r.error_code, 0, "InitProducerId during warm-up: {r:?}");
    }
}

/// One record batch's header, as a reader sees it.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
pub struct BatchSummary {
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub attributes: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
    pub size: usize,
    /// Max timestamp of data batches (`None` for control batches, whose
    /// timestamp is the broker's clock).
    pub max_timestamp: Option<i64>,
}

/// What a consumer reads from partition 0 of `topic` from offset 0 with
/// `isolation_level`, fetching until the end (clients loop: one Fetch may
/// legitimately return less than everything).
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
pub struct LogRead {
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub batches: Vec<BatchSummary>,
    /// `(producer_id, first_offset)`, deduplicated, in order.
    pub aborted_transactions: Vec<AbortedTxn>,
}

/// An aborted transaction a Fetch reported.
#[derive(Debug, PartialEq)]
#[allow(dead_code)] // read through Debug
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}

/// Splits fetched bytes into whole v2 batches (a trailing partial batch
/// is ignored, as clients do).
fn batches(bytes: &[u8]) -> Vec<BatchSummary> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= bytes.len() {
        let size = 12 + be_i32(bytes, at + 8) as usize;
        if at + size > bytes.len() {
            break;
        }
        let b = &bytes[at..at + size];
        let attributes = be_i16(b, 21);
        out.push(BatchSummary {
            base_offset: be_i64(b, 0),
            last_offset_delta: be_i32(b, 23),
            attributes,
            producer_id: be_i64(b, 43),
            producer_epoch: be_i16(b, 51),
            base_sequence: be_i32(b, 53),
            records_count: be_i32(b, 57),
            size,
            max_timestamp: (attributes & 0x20 == 0).then(|| be_i64(b, 35)),
        });
        at += size;
    }
    out
}

/// Reads partition 0 of `topic` to its end with `isolation_level`.
pub fn read_log(c: &mut WireClient, topic: &str, isolation_level: i8) -> LogRead {
    let mut read = LogRead {
        error_code: 0,
        high_watermark: -1,
        last_stable_offset: -1,
        log_start_offset: -1,
        batches: Vec::new(),
        aborted_transactions: Vec::new(),
    };
    let mut offset = 0;
    for _ in 0..100 {
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_isolation_level(isolation_level)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(1 << 20)])]);
        let r: FetchResponse = c
            .call(ApiKey::Fetch, FETCH_V, &req)
            .expect_response("Fetch");
        let p = &r.responses[0].partitions[0];
        read.error_code = p.error_code;
        read.high_watermark = p.high_watermark;
        read.last_stable_offset = p.last_stable_offset;
        read.log_start_offset = p.log_start_offset;
        for a in p.aborted_transactions.iter().flatten() {
            let a = AbortedTxn {
                producer_id: a.producer_id.0,
                first_offset: a.first_offset,
            };
            if !read.aborted_transactions.contains(&a) {
                read.aborted_transactions.push(a);
            }
        }
        let got = batches(p.records.as_deref().unwrap_or_default());
        let Some(last) = got.last() else { break };
        offset = last.base_offset + i64::from(last.last_offset_delta) + 1;
        read.batches.extend(got);
        let end = if isolation_level == 1 {
            read.last_stable_offset
        } else {
            read.high_watermark
        };
        if p.error_code != 0 || offset >= end {
            break;
        }
    }
    read
}
