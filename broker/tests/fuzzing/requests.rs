//! Valid requests for every API the broker serves, at any version, built with
//! `kafka-protocol`'s request structs from a few randomly chosen field values
//! (`fields.rs`). These are the seeds the mutator starts from. This file has
//! the topic, data and admin APIs; `groups.rs` the group, offset and
//! transaction ones.
//!
//! Optional fields are set at random; a combination the chosen version cannot
//! carry fails to encode and another draw is tried, so no per-version table
//! of field availability is needed here.

use bytes::Bytes;
use kafka_protocol::messages::*;
use uuid::Uuid;

use super::fields::{
    frame, group, offset, opt_pick, partition, record_batch, sb, tn, topic, txn_id, vec_of,
    wait_ms, Ctx,
};
use super::rng::Rng;

/// The request of `api` at `version` as a whole frame body, or None when no
/// random draw encodes at this version (then the caller uses the default
/// request). `records` is the batch a Produce carries.
pub fn build(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    rng: &mut Rng,
    ctx: &Ctx,
    records: Option<Bytes>,
) -> Option<Bytes> {
    let v = version;
    let id = correlation_id;
    match api {
        ApiKey::Produce => {
            let (name, topic_id) = topic(rng, ctx);
            let records = records.unwrap_or_else(|| record_batch(rng, None, false));
            let mut td = produce_request::TopicProduceData::default().with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition(rng))
                    .with_records(Some(records)),
            ]);
            if v >= 13 {
                td = td.with_topic_id(topic_id);
            } else {
                td = td.with_name(tn(&name));
            }
            let req = ProduceRequest::default()
                .with_acks(rng.pick(&[-1, 1, 0, 2]))
                .with_timeout_ms(wait_ms(rng).max(1) * 100)
                .with_transactional_id(if rng.chance(20) {
                    Some(TransactionalId(sb(&txn_id(rng, ctx))))
                } else {
                    None
                })
                .with_topic_data(vec![td]);
            frame(api, v, id, &req)
        }
        ApiKey::Fetch => {
            let (name, topic_id) = topic(rng, ctx);
            let mut ft =
                fetch_request::FetchTopic::default().with_partitions(vec_of(rng, 3, |rng| {
                    fetch_request::FetchPartition::default()
                        .with_partition(partition(rng))
                        .with_fetch_offset(offset(rng))
                        .with_partition_max_bytes(rng.pick(&[0, 1, 1024, 1 << 20, i32::MAX]))
                        .with_current_leader_epoch(if v >= 9 { rng.pick(&[-1, 0, 5]) } else { -1 })
                }));
            if v >= 13 {
                ft = ft.with_topic_id(topic_id);
            } else {
                ft = ft.with_topic(tn(&name));
            }
            let req = FetchRequest::default()
                .with_max_wait_ms(wait_ms(rng))
                .with_min_bytes(rng.pick(&[0, 1, 1 << 20]))
                .with_max_bytes(rng.pick(&[0, 1024, 50 << 20, i32::MAX]))
                .with_isolation_level(rng.pick(&[0, 1]))
                .with_session_epoch(if v >= 7 { rng.pick(&[-1, 0, 1]) } else { -1 })
                .with_topics(vec![ft]);
            frame(api, v, id, &req)
        }
        ApiKey::ListOffsets => {
            let (name, _) = topic(rng, ctx);
            let req = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(if v >= 2 { rng.pick(&[0, 1]) } else { 0 })
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(tn(&name))
                    .with_partitions(vec_of(rng, 3, |rng| {
                        list_offsets_request::ListOffsetsPartition::default()
                            .with_partition_index(partition(rng))
                            .with_timestamp(rng.pick(&[
                                -1,
                                -2,
                                -3,
                                -4,
                                -5,
                                0,
                                1_000,
                                1_002,
                                i64::MAX,
                            ]))
                    }))]);
            frame(api, v, id, &req)
        }
        ApiKey::Metadata => {
            let topics = if v >= 1 && rng.chance(30) {
                None
            } else {
                Some(vec_of(rng, 3, |rng| {
                    let (name, tid) = topic(rng, ctx);
                    let t = metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(tn(&name)));
                    if v >= 10 && rng.chance(30) {
                        t.with_topic_id(tid).with_name(None)
                    } else {
                        t
                    }
                }))
            };
            let req = MetadataRequest::default()
                .with_topics(topics)
                .with_allow_auto_topic_creation(v < 4 || rng.chance(50))
                .with_include_topic_authorized_operations(v >= 8 && rng.chance(30))
                .with_include_cluster_authorized_operations(
                    (8..=10).contains(&v) && rng.chance(30),
                );
            frame(api, v, id, &req)
        }
        ApiKey::ApiVersions => {
            let req = if v >= 3 {
                ApiVersionsRequest::default()
                    .with_client_software_name(sb(rng.pick(&["wire-fuzz", "", "a.b-c"])))
                    .with_client_software_version(sb(rng.pick(&["1.0", "", "x"])))
            } else {
                ApiVersionsRequest::default()
            };
            frame(api, v, id, &req)
        }
        ApiKey::CreateTopics => {
            let req = CreateTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_validate_only(v >= 1 && rng.chance(30))
                .with_topics(vec_of(rng, 2, |rng| {
                    let mut t = create_topics_request::CreatableTopic::default()
                        .with_name(tn(&format!("fuzz-new-{}", rng.below(20))))
                        .with_num_partitions(rng.pick(&[1, 2, -1, 0]))
                        .with_replication_factor(rng.pick(&[1, -1, 3]));
                    if rng.chance(30) {
                        t = t.with_configs(vec![
                            create_topics_request::CreatableTopicConfig::default()
                                .with_name(sb(rng.pick(&[
                                    "cleanup.policy",
                                    "retention.ms",
                                    "bogus",
                                    "max.message.bytes",
                                ])))
                                .with_value(opt_pick(rng, &["compact", "1000", "-1", "x"])),
                        ]);
                    }
                    if rng.chance(20) {
                        t = t
                            .with_num_partitions(-1)
                            .with_replication_factor(-1)
                            .with_assignments(vec![
                                create_topics_request::CreatableReplicaAssignment::default()
                                    .with_partition_index(rng.pick(&[0, 1, -1]))
                                    .with_broker_ids(vec![BrokerId(rng.pick(&[1, 0, 99]))]),
                            ]);
                    }
                    t
                }));
            frame(api, v, id, &req)
        }
        ApiKey::DeleteTopics => {
            let name = format!("fuzz-new-{}", rng.below(20));
            let req = if v >= 6 {
                DeleteTopicsRequest::default().with_topics(vec![
                    delete_topics_request::DeleteTopicState::default()
                        .with_name(if rng.chance(70) {
                            Some(tn(&name))
                        } else {
                            None
                        })
                        .with_topic_id(Uuid::from_u128(rng.next_u64() as u128)),
                ])
            } else {
                DeleteTopicsRequest::default().with_topic_names(vec![tn(&name)])
            };
            frame(api, v, id, &req.with_timeout_ms(1000))
        }
        ApiKey::InitProducerId => {
            let req = InitProducerIdRequest::default()
                .with_transactional_id(if rng.chance(50) {
                    Some(TransactionalId(sb(&txn_id(rng, ctx))))
                } else {
                    None
                })
                .with_transaction_timeout_ms(rng.pick(&[60_000, 1, -1, i32::MAX]))
                .with_producer_id(ProducerId(if v >= 3 && rng.chance(30) {
                    ctx.producer.0
                } else {
                    -1
                }))
                .with_producer_epoch(if v >= 3 && rng.chance(30) {
                    ctx.producer.1
                } else {
                    -1
                });
            frame(api, v, id, &req)
        }
        ApiKey::DescribeCluster => {
            let req = DescribeClusterRequest::default()
                .with_include_cluster_authorized_operations(rng.chance(50))
                .with_endpoint_type(if v >= 1 { rng.pick(&[1, 2, 3]) } else { 1 })
                .with_include_fenced_brokers(v >= 2 && rng.chance(50));
            frame(api, v, id, &req)
        }
        ApiKey::FindCoordinator => {
            let key = if rng.chance(50) {
                group(rng, ctx)
            } else {
                txn_id(rng, ctx)
            };
            let key_type = rng.pick(&[0, 1, 2]);
            let req = if v >= 4 {
                FindCoordinatorRequest::default()
                    .with_key_type(key_type)
                    .with_coordinator_keys(vec_of(rng, 3, |_| sb(&key)))
            } else {
                FindCoordinatorRequest::default()
                    .with_key(sb(&key))
                    .with_key_type(if v >= 1 { key_type } else { 0 })
            };
            frame(api, v, id, &req)
        }
        ApiKey::CreatePartitions => {
            let (name, _) = topic(rng, ctx);
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(1000)
                .with_validate_only(rng.chance(50))
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(tn(&name))
                        .with_count(rng.pick(&[1, 3, 4, 5, 0, -1]))
                        .with_assignments(if rng.chance(30) {
                            Some(vec![
                                create_partitions_request::CreatePartitionsAssignment::default()
                                    .with_broker_ids(vec![BrokerId(rng.pick(&[1, 0, 99]))]),
                            ])
                        } else {
                            None
                        }),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::DescribeConfigs => {
            let (name, _) = topic(rng, ctx);
            let broker = rng.chance(30);
            let req = DescribeConfigsRequest::default()
                .with_include_synonyms(v >= 1 && rng.chance(50))
                .with_include_documentation(v >= 3 && rng.chance(50))
                .with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(if broker { 4 } else { rng.pick(&[2, 2, 8, 0]) })
                        .with_resource_name(sb(if broker {
                            rng.pick(&["1", "", "x"])
                        } else {
                            &name
                        }))
                        .with_configuration_keys(if rng.chance(50) {
                            None
                        } else {
                            Some(vec_of(rng, 3, |rng| {
                                sb(rng.pick(&[
                                    "retention.ms",
                                    "cleanup.policy",
                                    "bogus",
                                    "log.retention.ms",
                                ]))
                            }))
                        }),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::AlterConfigs => {
            let (name, _) = topic(rng, ctx);
            let broker = rng.chance(30);
            let req = AlterConfigsRequest::default()
                .with_validate_only(rng.chance(50))
                .with_resources(vec![alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(if broker { 4 } else { rng.pick(&[2, 2, 8, 0]) })
                    .with_resource_name(sb(if broker {
                        rng.pick(&["1", "", "x"])
                    } else {
                        &name
                    }))
                    .with_configs(vec_of(rng, 2, |rng| {
                        alter_configs_request::AlterableConfig::default()
                            .with_name(sb(rng.pick(&[
                                "retention.ms",
                                "cleanup.policy",
                                "bogus",
                                "log.retention.ms",
                                "background.threads",
                            ])))
                            .with_value(opt_pick(rng, &["1000", "compact", "-1", "x", ""]))
                    }))]);
            frame(api, v, id, &req)
        }
        ApiKey::IncrementalAlterConfigs => {
            let (name, _) = topic(rng, ctx);
            let broker = rng.chance(30);
            let req = IncrementalAlterConfigsRequest::default()
                .with_validate_only(rng.chance(50))
                .with_resources(vec![
                    incremental_alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(if broker { 4 } else { rng.pick(&[2, 2, 8, 0]) })
                        .with_resource_name(sb(if broker {
                            rng.pick(&["1", "", "x"])
                        } else {
                            &name
                        }))
                        .with_configs(vec_of(rng, 2, |rng| {
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(sb(rng.pick(&[
                                    "retention.ms",
                                    "cleanup.policy",
                                    "bogus",
                                    "log.retention.ms",
                                ])))
                                .with_config_operation(rng.pick(&[0, 1, 2, 3, 4, -1]))
                                .with_value(opt_pick(
                                    rng,
                                    &["1000", "compact", "delete,compact", "x", ""],
                                ))
                        })),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::DeleteRecords => {
            let (name, _) = topic(rng, ctx);
            let req = DeleteRecordsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                    .with_name(tn(&name))
                    .with_partitions(vec_of(rng, 3, |rng| {
                        delete_records_request::DeleteRecordsPartition::default()
                            .with_partition_index(partition(rng))
                            .with_offset(rng.pick(&[0, 1, -1, i64::MAX, i64::MIN]))
                    }))]);
            frame(api, v, id, &req)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let (name, _) = topic(rng, ctx);
            let req = OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(rng.pick(&[-1, -2, 1])))
                .with_topics(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(tn(&name))
                        .with_partitions(vec_of(rng, 3, |rng| {
                            offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                                .with_partition(partition(rng))
                                .with_current_leader_epoch(rng.pick(&[-1, 0, 5]))
                                .with_leader_epoch(rng.pick(&[0, 1, -1, i32::MAX]))
                        })),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::DescribeLogDirs => {
            let req = DescribeLogDirsRequest::default().with_topics(if rng.chance(40) {
                None
            } else {
                Some(vec_of(rng, 2, |rng| {
                    let (name, _) = topic(rng, ctx);
                    describe_log_dirs_request::DescribableLogDirTopic::default()
                        .with_topic(tn(&name))
                        .with_partitions(vec_of(rng, 3, partition))
                }))
            });
            frame(api, v, id, &req)
        }
        ApiKey::DescribeTopicPartitions => {
            let req = DescribeTopicPartitionsRequest::default()
                .with_topics(vec_of(rng, 3, |rng| {
                    describe_topic_partitions_request::TopicRequest::default()
                        .with_name(tn(&topic(rng, ctx).0))
                }))
                .with_response_partition_limit(rng.pick(&[2000, 1, 0, -1]))
                .with_cursor(if rng.chance(30) {
                    Some(
                        describe_topic_partitions_request::Cursor::default()
                            .with_topic_name(tn(&topic(rng, ctx).0))
                            .with_partition_index(partition(rng)),
                    )
                } else {
                    None
                });
            frame(api, v, id, &req)
        }
        ApiKey::DescribeQuorum => {
            // Mostly the metadata partition (answered), sometimes another.
            let req = DescribeQuorumRequest::default().with_topics(vec_of(rng, 2, |rng| {
                let name = if rng.chance(70) {
                    "__cluster_metadata".to_string()
                } else {
                    topic(rng, ctx).0
                };
                describe_quorum_request::TopicData::default()
                    .with_topic_name(tn(&name))
                    .with_partitions(vec_of(rng, 2, |rng| {
                        describe_quorum_request::PartitionData::default()
                            .with_partition_index(partition(rng))
                    }))
            }));
            frame(api, v, id, &req)
        }
        _ => super::groups::build(api, v, id, rng, ctx),
    }
}
