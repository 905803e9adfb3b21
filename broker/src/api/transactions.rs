//! The transaction APIs: AddPartitionsToTxn (24, including the v4+
//! batched/verify-only form of KIP-890), AddOffsetsToTxn (25), EndTxn (26),
//! WriteTxnMarkers (27, coordinator → partition leader), TxnOffsetCommit
//! (28, KIP-447 member checks), DescribeProducers (61),
//! DescribeTransactions (65) and ListTransactions (66).
//!
//! The handlers translate between wire structs and the coordinators
//! ([`crate::txn`], [`crate::group`]); the rules live there. Requests from
//! clients older than KIP-588 get INVALID_PRODUCER_EPOCH where newer ones get
//! PRODUCER_FENCED, as Kafka answers them.

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedTxn;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, DescribeProducersRequest, DescribeProducersResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TopicName, TransactionalId,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse, WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
};
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::request::Header;
use tracing::debug;

use super::sb;
use crate::broker::Broker;
use crate::error::BrokerError;
use crate::group::{CommitEntry, OFFSETS_TOPIC};
use crate::txn::state::{TxnError, TxnState};

/// The error code for `e` at this request version: PRODUCER_FENCED became
/// its own code in KIP-588; older versions get INVALID_PRODUCER_EPOCH.
fn code_for(e: &BrokerError, version: i16, fenced_since: i16) -> i16 {
    match e {
        BrokerError::Txn(TxnError::ProducerFenced) if version < fenced_since => {
            ResponseError::InvalidProducerEpoch.code()
        }
        e => e.code(),
    }
}

fn result_code(r: &Result<(), BrokerError>, version: i16, fenced_since: i16) -> i16 {
    match r {
        Ok(()) => 0,
        Err(e) => code_for(e, version, fenced_since),
    }
}

/// AddPartitionsToTxn. v0–3: one transaction from a client. v4+: a batch
/// of transactions from brokers, each either adding or (`verify_only`)
/// checking that its partitions are in the transaction.
pub fn add_partitions(
    broker: &Arc<Broker>,
    header: &Header,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let version = header.version();
    let coordinator = broker.txn();
    let run = |txn_id: &str,
               pid: i64,
               epoch: i16,
               topics: &[(String, Vec<i32>)],
               verify_only: bool|
     -> Vec<AddPartitionsToTxnTopicResult> {
        let partitions: Vec<(String, i32)> = topics
            .iter()
            .flat_map(|(t, ps)| ps.iter().map(move |p| (t.clone(), *p)))
            .collect();
        // Unknown partitions fail alone; the others then answer
        // OPERATION_NOT_ATTEMPTED, as Kafka does.
        let unknown: Vec<(String, i32)> = partitions
            .iter()
            .filter(|(t, p)| !broker.partition_exists(t, *p))
            .cloned()
            .collect();
        let per_partition: Vec<((String, i32), i16)> = if !unknown.is_empty() {
            partitions
                .iter()
                .map(|tp| {
                    let code = if unknown.contains(tp) {
                        ResponseError::UnknownTopicOrPartition.code()
                    } else {
                        ResponseError::OperationNotAttempted.code()
                    };
                    (tp.clone(), code)
                })
                .collect()
        } else if verify_only {
            partitions
                .iter()
                .map(|tp| {
                    let r = coordinator.verify(broker, txn_id, pid, epoch, tp);
                    (tp.clone(), result_code(&r, version, 2))
                })
                .collect()
        } else {
            let r = coordinator.add_partitions(broker, txn_id, pid, epoch, &partitions);
            if let Err(e) = &r {
                debug!(transactional_id = txn_id, error = %e, "AddPartitionsToTxn refused");
            }
            let code = result_code(&r, version, 2);
            partitions.iter().map(|tp| (tp.clone(), code)).collect()
        };
        topics
            .iter()
            .map(|(t, ps)| {
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(sb(t)))
                    .with_results_by_partition(
                        ps.iter()
                            .map(|p| {
                                let code = per_partition
                                    .iter()
                                    .find(|((tt, pp), _)| tt == t && pp == p)
                                    .map_or(0, |(_, c)| *c);
                                AddPartitionsToTxnPartitionResult::default()
                                    .with_partition_index(*p)
                                    .with_partition_error_code(code)
                            })
                            .collect(),
                    )
            })
            .collect()
    };
    if version <= 3 {
        let topics: Vec<(String, Vec<i32>)> = req
            .v3_and_below_topics
            .iter()
            .map(|t| (t.name.to_string(), t.partitions.clone()))
            .collect();
        let results = run(
            &req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &topics,
            false,
        );
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    let results = req
        .transactions
        .iter()
        .map(|t| {
            let topics: Vec<(String, Vec<i32>)> = t
                .topics
                .iter()
                .map(|x| (x.name.to_string(), x.partitions.clone()))
                .collect();
            AddPartitionsToTxnResult::default()
                .with_transactional_id(t.transactional_id.clone())
                .with_topic_results(run(
                    &t.transactional_id,
                    t.producer_id.0,
                    t.producer_epoch,
                    &topics,
                    t.verify_only,
                ))
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// AddOffsetsToTxn: adds the group's `__consumer_offsets` partition.
pub async fn add_offsets(
    broker: &Arc<Broker>,
    header: &Header,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let partition = (
        OFFSETS_TOPIC.to_string(),
        broker.groups.partition_of(&req.group_id),
    );
    // The offsets topic must exist for the group coordinator to take the
    // commit (a multi-node cluster creates it lazily).
    let r = match broker.group_coordinator(&req.group_id).await {
        Ok(_) => broker.txn().add_partitions(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            &[partition],
        ),
        Err(e) => Err(e),
    };
    AddOffsetsToTxnResponse::default().with_error_code(result_code(&r, header.version(), 2))
}

/// EndTxn: commit or abort.
pub async fn end_txn(broker: &Arc<Broker>, header: &Header, req: EndTxnRequest) -> EndTxnResponse {
    let r = broker
        .txn()
        .end_txn(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
        )
        .await;
    if let Err(e) = &r {
        debug!(transactional_id = %req.transactional_id.as_str(), error = %e, "EndTxn refused");
    }
    EndTxnResponse::default()
        .with_error_code(result_code(&r, header.version(), 2))
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
}

/// WriteTxnMarkers: append the markers to local partitions.
pub fn write_markers(broker: &Arc<Broker>, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    let markers = req
        .markers
        .iter()
        .map(|m| {
            let topics = m
                .topics
                .iter()
                .map(|t| {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|p| {
                            let r = broker.write_txn_marker(
                                &t.name,
                                *p,
                                m.producer_id.0,
                                m.producer_epoch,
                                m.transaction_result,
                                m.coordinator_epoch,
                            );
                            WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(*p)
                                .with_error_code(result_code(&r, i16::MAX, 0))
                        })
                        .collect();
                    WritableTxnMarkerTopicResult::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(topics)
        })
        .collect();
    WriteTxnMarkersResponse::default().with_markers(markers)
}

/// TxnOffsetCommit: offsets pending until the transaction's marker. The
/// offsets partition must be in the producer's open transaction (KIP-890
/// verification with the coordinator, as for produce).
pub async fn txn_offset_commit(
    broker: &Arc<Broker>,
    header: &Header,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let version = header.version();
    let entries: Vec<CommitEntry> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| CommitEntry {
                topic: t.name.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if version >= 2 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                metadata: p.committed_metadata.as_deref().unwrap_or("").to_string(),
            })
        })
        .collect();
    let offsets = broker.partition(OFFSETS_TOPIC, broker.groups.partition_of(&req.group_id));
    let token = offsets
        .as_ref()
        .and_then(|p| p.begin_verification(req.producer_id.0));
    let verified = match (&offsets, token) {
        (Some(p), Some(_)) => crate::host::verify_in_transaction(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            OFFSETS_TOPIC,
            p.index,
        )
        .await
        .map_err(|e| {
            debug!(transactional_id = %req.transactional_id.as_str(), error = %e, "TxnOffsetCommit not in the transaction");
            ResponseError::try_from_code(code_for(&e, version, 2))
                .unwrap_or(ResponseError::InvalidTxnState)
        }),
        _ => Ok(()),
    };
    let results: Vec<Option<ResponseError>> = if offsets.is_none() {
        vec![Some(ResponseError::NotCoordinator); entries.len()]
    } else if let Err(e) = verified {
        vec![Some(e); entries.len()]
    } else {
        // KIP-447 (v3+) carries the member's generation; older requests
        // have only the producer's fencing.
        let (member, instance, generation) = if version >= 3 {
            (
                req.member_id.to_string(),
                req.group_instance_id.as_deref().map(str::to_string),
                req.generation_id,
            )
        } else {
            (String::new(), None, -1)
        };
        broker.groups.txn_commit(
            broker,
            &req.group_id,
            req.producer_id.0,
            req.producer_epoch,
            &member,
            instance.as_deref(),
            generation,
            &entries,
            token,
        )
        .into_iter()
        .map(|r| r.map(|e| e.response_error()))
        .collect()
    };
    let mut it = results.into_iter();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(it.next().flatten().map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// DescribeProducers: the producer state of local partitions.
pub fn describe_producers(
    broker: &Arc<Broker>,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partition_indexes
                .iter()
                .map(|p| {
                    let r = PartitionResponse::default().with_partition_index(*p);
                    match broker.local_partition(&t.name, *p) {
                        Ok(part) => r.with_active_producers(
                            part.producers()
                                .into_iter()
                                .map(|s| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(s.producer_id))
                                        .with_producer_epoch(i32::from(s.epoch))
                                        .with_last_sequence(s.last_sequence)
                                        .with_last_timestamp(s.last_timestamp)
                                        .with_coordinator_epoch(s.coordinator_epoch)
                                        .with_current_txn_start_offset(s.current_txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => r
                            .with_error_code(e.code())
                            .with_error_message(Some(sb(&e.to_string()))),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

/// DescribeTransactions: the coordinator's view of each id.
pub fn describe_transactions(
    broker: &Arc<Broker>,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = req
        .transactional_ids
        .iter()
        .map(|id| {
            let s = TransactionState::default().with_transactional_id(id.clone());
            if broker
                .partition(crate::txn::TXN_TOPIC, broker.txn().partition_of(id))
                .is_none()
            {
                return s.with_error_code(ResponseError::NotCoordinator.code());
            }
            match broker.txn().describe(id) {
                None => s.with_error_code(ResponseError::TransactionalIdNotFound.code()),
                Some(m) => s
                    .with_transaction_state(sb(m.state.name()))
                    .with_transaction_timeout_ms(m.timeout_ms)
                    .with_transaction_start_time_ms(m.start_ms)
                    .with_producer_id(ProducerId(m.producer_id))
                    .with_producer_epoch(m.epoch)
                    .with_topics(
                        crate::txn::by_topic(&m.partitions)
                            .into_iter()
                            .map(|(t, ps)| {
                                TopicData::default()
                                    .with_topic(TopicName(sb(&t)))
                                    .with_partitions(ps)
                            })
                            .collect(),
                    ),
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

/// ListTransactions: the ids this broker coordinates, filtered.
pub fn list_transactions(
    broker: &Arc<Broker>,
    header: &Header,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let (known, unknown): (Vec<String>, Vec<String>) = req
        .state_filters
        .iter()
        .map(|s| s.to_string())
        .partition(|s| TxnState::ALL.iter().any(|k| k.name() == s.as_str()));
    let pids: Vec<i64> = req.producer_id_filters.iter().map(|p| p.0).collect();
    let duration = if header.version() >= 1 {
        req.duration_filter
    } else {
        -1
    };
    let pattern = if header.version() >= 2 {
        req.transactional_id_pattern.as_deref().map(str::to_string)
    } else {
        None
    };
    let mut listed = if req.state_filters.is_empty() || !known.is_empty() {
        broker.txn().list(&known, &pids, duration)
    } else {
        Vec::new()
    };
    if let Some(p) = pattern.filter(|p| !p.is_empty()) {
        // Kafka matches the whole id against a Java regular expression; the
        // common subset (classes, repetition, alternation) is the same here.
        match regex::Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => listed.retain(|(id, _, _)| re.is_match(id)),
            Err(_) => {
                return ListTransactionsResponse::default()
                    .with_error_code(ResponseError::InvalidRegularExpression.code())
            }
        }
    }
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown.iter().map(|s| sb(s)).collect())
        .with_transaction_states(
            listed
                .into_iter()
                .map(|(id, pid, state)| {
                    ListedTxn::default()
                        .with_transactional_id(TransactionalId(sb(&id)))
                        .with_producer_id(ProducerId(pid))
                        .with_transaction_state(sb(state.name()))
                })
                .collect(),
        )
}
