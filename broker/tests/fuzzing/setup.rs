//! The broker's state before fuzzing starts: three topics with data (one
//! rolling small segments under retention, one compacted), a transactional
//! producer and a consumer group with a member, so that generated requests
//! can name things that exist. Built through `api::dispatch` like the fuzzed
//! requests.
//!
//! Not the fuzzed requests themselves (`requests.rs`, `groups.rs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use memorystreamer_broker::api::{self, Reply};
use memorystreamer_broker::context::{RequestContext, Session};
use memorystreamer_protocol_kafka::request::decode_header;

use super::alloc::RUN_SEED;
use super::fields::{self, sb, tn};
use super::harness::Harness;
use super::rng::Rng;

impl Harness {
    /// One call through dispatch, for the set-up.
    async fn call<Req, Resp>(&self, api: ApiKey, version: i16, req: &Req) -> Resp
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        let mut frame = fields::frame(api, version, 1, req).expect("encode set-up request");
        let header = decode_header(&mut frame, api::table()).expect("set-up header");
        // As from the broker's PLAINTEXT listener: addresses in answers
        // are that listener's.
        let mut session = Session {
            listener: Arc::from("PLAINTEXT"),
            ..Session::default()
        };
        let reply = api::dispatch(
            &self.broker,
            &mut RequestContext::new(&header, &mut session),
            frame,
        )
        .await
        .expect("set-up request answered");
        let Reply::Frame(frame) = reply else {
            panic!("no answer to a set-up request")
        };
        let mut body = frame.slice(4..);
        ResponseHeader::decode(&mut body, Resp::header_version(version)).expect("header");
        Resp::decode(&mut body, version).expect("set-up response")
    }

    /// Topics with data, a group with a member, a transactional producer.
    pub async fn set_up(&mut self) {
        let mut created = Vec::new();
        // fuzz-b rolls small segments and keeps few of them (retention runs
        // under fetches); fuzz-c is compacted with small segments, so the
        // cleaner works through whatever Produce accepted.
        type Configs = &'static [(&'static str, &'static str)];
        let topics: [(&str, i32, Configs); 3] = [
            ("fuzz-a", 3, &[]),
            (
                "fuzz-b",
                1,
                &[("segment.bytes", "4096"), ("retention.bytes", "8192")],
            ),
            (
                "fuzz-c",
                2,
                &[
                    ("cleanup.policy", "compact"),
                    ("segment.bytes", "4096"),
                    ("min.cleanable.dirty.ratio", "0.01"),
                    ("delete.retention.ms", "0"),
                ],
            ),
        ];
        for (name, partitions, configs) in topics {
            let t = create_topics_request::CreatableTopic::default()
                .with_name(tn(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            create_topics_request::CreatableTopicConfig::default()
                                .with_name(sb(k))
                                .with_value(Some(sb(v)))
                        })
                        .collect(),
                );
            created.push(t);
        }
        let resp: CreateTopicsResponse = self
            .call(
                ApiKey::CreateTopics,
                7,
                &CreateTopicsRequest::default()
                    .with_topics(created)
                    .with_timeout_ms(5000),
            )
            .await;
        for t in &resp.topics {
            assert_eq!(t.error_code, 0, "creating {:?}", t.name);
            self.ctx
                .topics
                .push((t.name.0.to_string(), t.topic_id, t.num_partitions));
        }
        let mut rng = Rng::for_input(RUN_SEED.load(Ordering::Relaxed), u64::MAX);
        for (name, _, partitions) in self.ctx.topics.clone() {
            for p in 0..partitions {
                let req = ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(5000)
                    .with_topic_data(vec![produce_request::TopicProduceData::default()
                        .with_name(tn(&name))
                        .with_partition_data(vec![
                            produce_request::PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(fields::record_batch(&mut rng, None, true))),
                        ])]);
                let resp: ProduceResponse = self.call(ApiKey::Produce, 9, &req).await;
                assert_eq!(
                    resp.responses[0].partition_responses[0].error_code, 0,
                    "set-up produce"
                );
            }
        }
        self.ctx.txn_id = "fuzz-txn".into();
        let find: FindCoordinatorResponse = self
            .call(
                ApiKey::FindCoordinator,
                3,
                &FindCoordinatorRequest::default()
                    .with_key_type(1)
                    .with_key(sb("fuzz-txn")),
            )
            .await;
        assert_eq!(find.error_code, 0, "set-up FindCoordinator");
        // The transaction coordinator may still be loading its partition
        // (NOT_COORDINATOR 16, COORDINATOR_LOAD_IN_PROGRESS 14, both
        // retriable): ask again, as a client does, until a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let resp = loop {
            let resp: InitProducerIdResponse = self
                .call(
                    ApiKey::InitProducerId,
                    4,
                    &InitProducerIdRequest::default()
                        .with_transactional_id(Some(TransactionalId(sb("fuzz-txn"))))
                        .with_transaction_timeout_ms(60_000),
                )
                .await;
            if !matches!(resp.error_code, 14 | 16) || std::time::Instant::now() >= deadline {
                break resp;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(resp.error_code, 0, "set-up InitProducerId");
        self.ctx.producer = (resp.producer_id.0, resp.producer_epoch);
        self.ctx.group = "fuzz-group".into();
        let join = |member: &str| {
            JoinGroupRequest::default()
                .with_group_id(GroupId(sb("fuzz-group")))
                .with_session_timeout_ms(600_000)
                .with_rebalance_timeout_ms(1_000)
                .with_member_id(sb(member))
                .with_protocol_type(sb("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(sb("range"))
                .with_metadata(Bytes::from_static(b"\0\0"))])
        };
        let first: JoinGroupResponse = self.call(ApiKey::JoinGroup, 9, &join("")).await;
        let second: JoinGroupResponse = self
            .call(ApiKey::JoinGroup, 9, &join(first.member_id.as_str()))
            .await;
        assert_eq!(second.error_code, 0, "set-up JoinGroup");
        self.ctx.member_id = second.member_id.to_string();
        self.ctx.generation = second.generation_id;
        let sync: SyncGroupResponse = self
            .call(
                ApiKey::SyncGroup,
                5,
                &SyncGroupRequest::default()
                    .with_group_id(GroupId(sb("fuzz-group")))
                    .with_generation_id(second.generation_id)
                    .with_member_id(second.member_id.clone())
                    .with_protocol_type(Some(sb("consumer")))
                    .with_protocol_name(Some(sb("range")))
                    .with_assignments(vec![
                        sync_group_request::SyncGroupRequestAssignment::default()
                            .with_member_id(second.member_id.clone())
                            .with_assignment(Bytes::from_static(b"\0\0")),
                    ]),
            )
            .await;
        assert_eq!(sync.error_code, 0, "set-up SyncGroup");
    }
}
