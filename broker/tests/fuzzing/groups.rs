//! Valid group, offset and transaction requests (the other half of
//! `requests.rs`, split only to keep files short).

use bytes::Bytes;
use kafka_protocol::messages::*;

use super::fields::{
    frame, group, member, offset, opt_str, partition, sb, tn, topic, txn_id, vec_of, Ctx,
};
use super::rng::Rng;

/// The request of a group, offset or transaction `api` at `version` as a
/// whole frame body; None for other APIs or when this draw does not encode.
pub fn build(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    rng: &mut Rng,
    ctx: &Ctx,
) -> Option<Bytes> {
    let v = version;
    let id = correlation_id;
    match api {
        ApiKey::JoinGroup => {
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_session_timeout_ms(rng.pick(&[10_000, 6_000, 0, -1]))
                .with_rebalance_timeout_ms(rng.pick(&[100, 10, 0, -1]))
                .with_member_id(sb(&member(rng, ctx)))
                .with_group_instance_id(if v >= 5 {
                    opt_str(rng, "static-1")
                } else {
                    None
                })
                .with_protocol_type(sb(rng.pick(&["consumer", "", "connect"])))
                .with_protocols(vec_of(rng, 2, |rng| {
                    join_group_request::JoinGroupRequestProtocol::default()
                        .with_name(sb(rng.pick(&["range", "roundrobin", ""])))
                        .with_metadata(Bytes::from(rng.some_bytes(0, 16)))
                }));
            frame(api, v, id, &req)
        }
        ApiKey::SyncGroup => {
            let req = SyncGroupRequest::default()
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_generation_id(rng.pick(&[ctx.generation, ctx.generation, -1, 0, 99]))
                .with_member_id(sb(&member(rng, ctx)))
                .with_protocol_type(if v >= 5 {
                    opt_str(rng, "consumer")
                } else {
                    None
                })
                .with_protocol_name(if v >= 5 { opt_str(rng, "range") } else { None })
                .with_assignments(vec_of(rng, 2, |rng| {
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(sb(&member(rng, ctx)))
                        .with_assignment(Bytes::from(rng.some_bytes(0, 16)))
                }));
            frame(api, v, id, &req)
        }
        ApiKey::Heartbeat => {
            let req = HeartbeatRequest::default()
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_generation_id(rng.pick(&[ctx.generation, -1, 99]))
                .with_member_id(sb(&member(rng, ctx)))
                .with_group_instance_id(if v >= 3 {
                    opt_str(rng, "static-1")
                } else {
                    None
                });
            frame(api, v, id, &req)
        }
        ApiKey::LeaveGroup => {
            let g = GroupId(sb(&group(rng, ctx)));
            let req = if v >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(g)
                    .with_members(vec_of(rng, 2, |rng| {
                        leave_group_request::MemberIdentity::default()
                            .with_member_id(sb(&member(rng, ctx)))
                            .with_group_instance_id(opt_str(rng, "static-1"))
                            .with_reason(if v >= 5 { opt_str(rng, "bye") } else { None })
                    }))
            } else {
                LeaveGroupRequest::default()
                    .with_group_id(g)
                    .with_member_id(sb(&member(rng, ctx)))
            };
            frame(api, v, id, &req)
        }
        ApiKey::OffsetCommit => {
            let (name, tid) = topic(rng, ctx);
            let mut t = offset_commit_request::OffsetCommitRequestTopic::default().with_partitions(
                vec_of(rng, 3, |rng| {
                    offset_commit_request::OffsetCommitRequestPartition::default()
                        .with_partition_index(partition(rng))
                        .with_committed_offset(offset(rng))
                        .with_committed_metadata(opt_str(rng, "meta"))
                        .with_committed_leader_epoch(if v >= 6 { rng.pick(&[-1, 0]) } else { -1 })
                }),
            );
            if v >= 10 {
                t = t.with_topic_id(tid);
            } else {
                t = t.with_name(tn(&name));
            }
            let req = OffsetCommitRequest::default()
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_generation_id_or_member_epoch(rng.pick(&[-1, ctx.generation, 99]))
                .with_member_id(sb(&member(rng, ctx)))
                .with_group_instance_id(if v >= 7 {
                    opt_str(rng, "static-1")
                } else {
                    None
                })
                .with_retention_time_ms(if (2..=4).contains(&v) {
                    rng.pick(&[-1, 1000])
                } else {
                    -1
                })
                .with_topics(vec![t]);
            frame(api, v, id, &req)
        }
        ApiKey::OffsetFetch => {
            let (name, tid) = topic(rng, ctx);
            let g = group(rng, ctx);
            let req = if v >= 8 {
                let topics = if rng.chance(30) {
                    None
                } else {
                    let t = offset_fetch_request::OffsetFetchRequestTopics::default()
                        .with_partition_indexes(vec_of(rng, 3, partition));
                    Some(vec![if v >= 10 {
                        t.with_topic_id(tid)
                    } else {
                        t.with_name(tn(&name))
                    }])
                };
                OffsetFetchRequest::default()
                    .with_require_stable(rng.chance(50))
                    .with_groups(vec![
                        offset_fetch_request::OffsetFetchRequestGroup::default()
                            .with_group_id(GroupId(sb(&g)))
                            .with_member_id(if v >= 9 {
                                opt_str(rng, &ctx.member_id)
                            } else {
                                None
                            })
                            .with_member_epoch(if v >= 9 { rng.pick(&[-1, 0]) } else { -1 })
                            .with_topics(topics),
                    ])
            } else {
                let topics = if v >= 2 && rng.chance(30) {
                    None
                } else {
                    Some(vec![
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(tn(&name))
                            .with_partition_indexes(vec_of(rng, 3, partition)),
                    ])
                };
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(sb(&g)))
                    .with_require_stable(v >= 7 && rng.chance(50))
                    .with_topics(topics)
            };
            frame(api, v, id, &req)
        }
        ApiKey::ListGroups => {
            let req = ListGroupsRequest::default()
                .with_states_filter(if v >= 4 {
                    vec_of(rng, 2, |rng| sb(rng.pick(&["Stable", "Empty", "x"])))
                } else {
                    vec![]
                })
                .with_types_filter(if v >= 5 {
                    vec_of(rng, 2, |rng| sb(rng.pick(&["classic", "consumer", "x"])))
                } else {
                    vec![]
                });
            frame(api, v, id, &req)
        }
        ApiKey::DescribeGroups => {
            let req = DescribeGroupsRequest::default()
                .with_groups(vec_of(rng, 3, |rng| GroupId(sb(&group(rng, ctx)))))
                .with_include_authorized_operations(v >= 3 && rng.chance(50));
            frame(api, v, id, &req)
        }
        ApiKey::DeleteGroups => {
            let req = DeleteGroupsRequest::default().with_groups_names(vec_of(rng, 2, |rng| {
                GroupId(sb(&format!("fuzz-group-{}", rng.below(8))))
            }));
            frame(api, v, id, &req)
        }
        ApiKey::OffsetDelete => {
            let (name, _) = topic(rng, ctx);
            let req = OffsetDeleteRequest::default()
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(tn(&name))
                        .with_partitions(vec_of(rng, 3, |rng| {
                            offset_delete_request::OffsetDeleteRequestPartition::default()
                                .with_partition_index(partition(rng))
                        })),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::AddPartitionsToTxn => {
            let (name, _) = topic(rng, ctx);
            let t = add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                .with_name(tn(&name))
                .with_partitions(vec_of(rng, 3, partition));
            let tx = TransactionalId(sb(&txn_id(rng, ctx)));
            let pid = ProducerId(rng.pick(&[ctx.producer.0, -1, 12345]));
            let epoch = rng.pick(&[ctx.producer.1, -1, 0]);
            let req = if v >= 4 {
                AddPartitionsToTxnRequest::default().with_transactions(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                        .with_transactional_id(tx)
                        .with_producer_id(pid)
                        .with_producer_epoch(epoch)
                        .with_verify_only(rng.chance(50))
                        .with_topics(vec![t]),
                ])
            } else {
                AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(tx)
                    .with_v3_and_below_producer_id(pid)
                    .with_v3_and_below_producer_epoch(epoch)
                    .with_v3_and_below_topics(vec![t])
            };
            frame(api, v, id, &req)
        }
        ApiKey::AddOffsetsToTxn => {
            let req = AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(sb(&txn_id(rng, ctx))))
                .with_producer_id(ProducerId(rng.pick(&[ctx.producer.0, -1, 12345])))
                .with_producer_epoch(rng.pick(&[ctx.producer.1, -1, 0]))
                .with_group_id(GroupId(sb(&group(rng, ctx))));
            frame(api, v, id, &req)
        }
        ApiKey::EndTxn => {
            let req = EndTxnRequest::default()
                .with_transactional_id(TransactionalId(sb(&txn_id(rng, ctx))))
                .with_producer_id(ProducerId(rng.pick(&[ctx.producer.0, -1, 12345])))
                .with_producer_epoch(rng.pick(&[ctx.producer.1, -1, 0]))
                .with_committed(rng.chance(50));
            frame(api, v, id, &req)
        }
        ApiKey::WriteTxnMarkers => {
            let (name, _) = topic(rng, ctx);
            let req = WriteTxnMarkersRequest::default().with_markers(vec_of(rng, 2, |rng| {
                write_txn_markers_request::WritableTxnMarker::default()
                    .with_producer_id(ProducerId(rng.pick(&[ctx.producer.0, -1, 12345])))
                    .with_producer_epoch(rng.pick(&[ctx.producer.1, -1, 0]))
                    .with_transaction_result(rng.chance(50))
                    .with_coordinator_epoch(rng.pick(&[0, -1, 5]))
                    .with_topics(vec![
                        write_txn_markers_request::WritableTxnMarkerTopic::default()
                            .with_name(tn(&name))
                            .with_partition_indexes(vec_of(rng, 3, partition)),
                    ])
            }));
            frame(api, v, id, &req)
        }
        ApiKey::TxnOffsetCommit => {
            let (name, _) = topic(rng, ctx);
            let req = TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(sb(&txn_id(rng, ctx))))
                .with_group_id(GroupId(sb(&group(rng, ctx))))
                .with_producer_id(ProducerId(rng.pick(&[ctx.producer.0, -1, 12345])))
                .with_producer_epoch(rng.pick(&[ctx.producer.1, -1, 0]))
                .with_generation_id(if v >= 3 {
                    rng.pick(&[-1, ctx.generation])
                } else {
                    -1
                })
                .with_member_id(sb(if v >= 3 { &ctx.member_id } else { "" }))
                .with_group_instance_id(if v >= 3 {
                    opt_str(rng, "static-1")
                } else {
                    None
                })
                .with_topics(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(tn(&name))
                        .with_partitions(vec_of(rng, 3, |rng| {
                            txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(partition(rng))
                                .with_committed_offset(offset(rng))
                                .with_committed_metadata(opt_str(rng, "m"))
                        })),
                ]);
            frame(api, v, id, &req)
        }
        ApiKey::DescribeProducers => {
            let req = DescribeProducersRequest::default().with_topics(vec_of(rng, 2, |rng| {
                describe_producers_request::TopicRequest::default()
                    .with_name(tn(&topic(rng, ctx).0))
                    .with_partition_indexes(vec_of(rng, 3, partition))
            }));
            frame(api, v, id, &req)
        }
        ApiKey::DescribeTransactions => {
            let req = DescribeTransactionsRequest::default().with_transactional_ids(vec_of(
                rng,
                3,
                |rng| TransactionalId(sb(&txn_id(rng, ctx))),
            ));
            frame(api, v, id, &req)
        }
        ApiKey::ListTransactions => {
            let req = ListTransactionsRequest::default()
                .with_state_filters(vec_of(rng, 2, |rng| {
                    sb(rng.pick(&["Ongoing", "Empty", "CompleteCommit", "x"]))
                }))
                .with_producer_id_filters(vec_of(rng, 2, |rng| {
                    ProducerId(rng.pick(&[ctx.producer.0, -1]))
                }))
                .with_duration_filter(if v >= 1 { rng.pick(&[-1, 0, 1000]) } else { -1 })
                .with_transactional_id_pattern(if v >= 2 {
                    rng.chance(50)
                        .then(|| sb(rng.pick(&["fuzz.*", "(", "[a-", ".*".repeat(50).as_str()])))
                } else {
                    None
                });
            frame(api, v, id, &req)
        }
        ApiKey::DescribeAcls => {
            // Valid codes only: an UNKNOWN (0) one closes the connection, as
            // Kafka's parser refuses it (the mutator still reaches that).
            let req = DescribeAclsRequest::default()
                .with_resource_type_filter(rng.pick(&[1, 2, 3]))
                .with_resource_name_filter(rng.chance(50).then(|| sb(rng.pick(&["t", "*", ""]))))
                .with_pattern_type_filter(rng.pick(&[1, 2, 3, 4]))
                .with_principal_filter(rng.chance(50).then(|| sb(rng.pick(&["User:a", "bad"]))))
                .with_host_filter(rng.chance(30).then(|| sb("*")))
                .with_operation(rng.pick(&[1, 2, 3, 4]))
                .with_permission_type(rng.pick(&[1, 2, 3]));
            frame(api, v, id, &req)
        }
        _ => None,
    }
}
