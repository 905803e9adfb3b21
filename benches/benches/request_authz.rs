//! What authorization costs a request, in process: the same Produce
//! (one partition, a batch of 100 records of 100 B, acks=1) and the same
//! Fetch (1 MiB from the start of that partition) dispatched to a broker
//! without an authorizer, as `User:ANONYMOUS`, and to one with Kafka's
//! `StandardAuthorizer`, 1000 unrelated ACLs and the bench user's own, as
//! `User:bench`. The difference is the authorization overhead per request
//! on the hot path (issue 16: under 1 % of broker CPU), without the client
//! and scheduling noise of an end-to-end run (`benches/security.sh`).
//!
//! Before measuring, the setup checks that the authorizer is in force: the
//! same Produce as `User:intruder` is refused with
//! TOPIC_AUTHORIZATION_FAILED. Run with
//! `cargo bench -p memorystreamer-benches --bench request_authz`.

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateAclsRequest, CreateAclsResponse, CreateTopicsRequest,
    CreateTopicsResponse, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse,
    RequestHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::Compression;
use memorystreamer_broker::api::{self, Reply};
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::context::{KafkaPrincipal, RequestContext, Session};
use memorystreamer_broker::Broker;
use memorystreamer_protocol_kafka::request::decode_header;

const TOPIC: &str = "bench";
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;

/// A batch of 100 records of 100 B.
fn batch() -> Bytes {
    common::batch_with(100, 100, Compression::None)
}

/// A request frame body (header + request, without the size prefix).
fn frame<R: Encodable + HeaderVersion>(key: ApiKey, version: i16, req: &R) -> Bytes {
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("bench")))
        .encode(&mut body, R::header_version(version))
        .expect("header");
    req.encode(&mut body, version).expect("body");
    body.freeze()
}

/// One in-process broker and the runtime it runs on.
struct Bench {
    rt: tokio::runtime::Runtime,
    broker: Arc<Broker>,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn open(authorizer: bool) -> Bench {
        let dir = tempfile::tempdir().expect("tmp");
        let mut props = BTreeMap::new();
        let mut set = |k: &str, v: &str| props.insert(k.to_string(), v.to_string());
        set("log.dirs", &dir.path().display().to_string());
        set("listeners", "PLAINTEXT://127.0.0.1:0");
        if authorizer {
            set(
                "authorizer.class.name",
                "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            );
            set("super.users", "User:admin");
        }
        let config = BrokerConfig::from_properties(&props, LogFormat::Text).expect("config");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let broker = Arc::new(rt.block_on(Broker::open(config)).expect("open broker"));
        Bench {
            rt,
            broker,
            _dir: dir,
        }
    }

    /// Dispatches `body` as `principal`; the response body after its header.
    async fn call(broker: &Arc<Broker>, principal: &KafkaPrincipal, body: Bytes) -> Bytes {
        let mut frame = body;
        let header = decode_header(&mut frame, api::table()).expect("header");
        let mut session = Session {
            listener: Arc::from("PLAINTEXT"),
            principal: principal.clone(),
            ..Session::default()
        };
        match api::dispatch(
            broker,
            &mut RequestContext::new(&header, &mut session),
            frame,
        )
        .await
        {
            Ok(Reply::Frame(b)) => b,
            Ok(Reply::None) => panic!("no response"),
            Err(e) => panic!("request failed: {e}"),
        }
    }

    fn answer<T: Decodable + HeaderVersion>(
        &self,
        principal: &KafkaPrincipal,
        body: Bytes,
        version: i16,
    ) -> T {
        let mut resp = self.rt.block_on(Self::call(&self.broker, principal, body));
        // Size prefix, correlation id, then tagged fields in flexible headers.
        let _ = resp.split_to(8);
        if T::header_version(version) >= 1 {
            let _ = resp.split_to(1);
        }
        T::decode(&mut resp, version).expect("response")
    }
}

fn acl(resource_type: i8, name: &str, pattern: i8, principal: &str, operation: i8) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from(name.to_string()))
        .with_resource_pattern_type(pattern)
        .with_principal(StrBytes::from(principal.to_string()))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(operation)
        .with_permission_type(3)
}

/// Opens a broker with the topic (and, with `authorizer`, the ACLs).
fn setup(authorizer: bool) -> Bench {
    let b = Bench::open(authorizer);
    let admin = KafkaPrincipal::parse(if authorizer {
        "User:admin"
    } else {
        "User:ANONYMOUS"
    });
    let create = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_num_partitions(1)
            .with_replication_factor(1)]);
    let r: CreateTopicsResponse = b.answer(&admin, frame(ApiKey::CreateTopics, 7, &create), 7);
    assert_eq!(r.topics[0].error_code, 0, "{r:?}");
    if authorizer {
        // Topic = 2, Group = 3; literal = 3, prefixed = 4; Read = 3,
        // Write = 4, Describe = 8.
        let mut creations: Vec<AclCreation> = (0..1000)
            .map(|i| match i % 4 {
                0 => acl(2, &format!("orders-{i}"), 3, &format!("User:u{i}"), 4),
                1 => acl(2, &format!("team-{i}-"), 4, &format!("User:u{i}"), 3),
                2 => acl(3, &format!("group-{i}"), 3, &format!("User:u{i}"), 3),
                _ => acl(2, "bench", 3, &format!("User:u{i}"), 8),
            })
            .collect();
        creations.push(acl(2, TOPIC, 3, "User:bench", 4));
        creations.push(acl(2, TOPIC, 3, "User:bench", 3));
        let req = CreateAclsRequest::default().with_creations(creations);
        let r: CreateAclsResponse = b.answer(&admin, frame(ApiKey::CreateAcls, 3, &req), 3);
        assert!(r.results.iter().all(|x| x.error_code == 0), "{r:?}");
        // In force: a principal without ACLs is refused.
        let intruder = KafkaPrincipal::parse("User:intruder");
        let r: ProduceResponse = b.answer(&intruder, produce(), 9);
        assert_eq!(
            r.responses[0].partition_responses[0].error_code,
            TOPIC_AUTHORIZATION_FAILED
        );
    }
    b
}

fn produce() -> Bytes {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch()))])]);
    frame(ApiKey::Produce, 9, &req)
}

fn fetch() -> Bytes {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    frame(ApiKey::Fetch, 12, &req)
}

fn bench(c: &mut Criterion) {
    for (name, authorizer, principal) in [
        ("no_authorizer", false, "User:ANONYMOUS"),
        ("authorizer_1002_acls", true, "User:bench"),
    ] {
        let b = setup(authorizer);
        let who = KafkaPrincipal::parse(principal);
        let r: ProduceResponse = b.answer(&who, produce(), 9);
        assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
        let (p, f) = (produce(), fetch());
        let r: FetchResponse = b.answer(&who, f.clone(), 12);
        assert_eq!(r.responses[0].partitions[0].error_code, 0);
        c.bench_function(&format!("request_authz/produce_100x100B/{name}"), |x| {
            x.iter(|| {
                b.rt.block_on(Bench::call(&b.broker, &who, black_box(p.clone())))
            })
        });
        c.bench_function(&format!("request_authz/fetch_1MiB/{name}"), |x| {
            x.iter(|| {
                b.rt.block_on(Bench::call(&b.broker, &who, black_box(f.clone())))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
