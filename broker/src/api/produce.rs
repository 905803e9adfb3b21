//! Produce (key 0): validate each partition's single RecordBatch v2 (header,
//! CRC, then every record, as Kafka's log validator does), append it
//! unchanged apart from offset and leader epoch, answer. Records a topic
//! refuses individually (no key on a compacted topic) are named in
//! `record_errors` (KIP-467) so the client fails only those.
//!
//! The task that decoded the request appends and answers it (DESIGN §2): no
//! hand-off to another thread. Records are walked, never re-encoded. `acks=0` gets no
//! response at all; `acks=1` is answered after the local write; `acks=-1`
//! once the high watermark passed the batch (every in-sync replica has it,
//! Kafka's delayed produce), bounded by the request's `timeout_ms`
//! (REQUEST_TIMED_OUT), and refused before the append with
//! NOT_ENOUGH_REPLICAS when the ISR is smaller than `min.insync.replicas`
//! (NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrank during the wait). All
//! partitions of a request are appended before any wait.
//!
//! Transactional batches (KIP-98) need the request's transactional id. The
//! first batch of a transaction in a partition is verified with the
//! transaction coordinator (KIP-890 part 1): the partition must have been
//! added to the producer's open transaction, so a late or zombie write
//! cannot open a transaction nobody will end. A remote coordinator is asked
//! with AddPartitionsToTxn v4 `verify_only`. Control batches come only from
//! coordinators (WriteTxnMarkers); a client sending one is refused.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use memorystreamer_protocol_kafka::records::validate_produce_records;
use tracing::debug;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;
use crate::replica::partition::{AppendOutcome, Partition};

/// Appends one partition's batch (not yet waiting for replication).
async fn produce_partition(
    broker: &Arc<Broker>,
    topic: &str,
    index: i32,
    records: Option<&[u8]>,
    acks: i16,
    transactional_id: Option<&str>,
) -> Result<(AppendOutcome, Arc<Partition>), BrokerError> {
    if !(-1..=1).contains(&acks) {
        return Err(BrokerError::InvalidRequiredAcks(acks));
    }
    if crate::coordinator::is_internal(topic) {
        // Only the coordinators write internal topics (Kafka: "Cannot
        // append to internal topic"); a crafted client batch there would be
        // replayed at every start.
        return Err(BrokerError::InvalidTopic(format!(
            "cannot append to internal topic {topic}"
        )));
    }
    let partition = broker.local_partition(topic, index)?;
    if acks == -1 {
        // Refused before the append when the ISR is already too small.
        partition.check_min_insync()?;
    }
    let records = records.unwrap_or(&[]);
    let max_message_bytes = broker.configs().effective().message_max_bytes;
    if records.len() > max_message_bytes.saturating_mul(2).saturating_add(1 << 20) {
        // Grossly oversized: don't even CRC it.
        return Err(BrokerError::MessageTooLarge {
            size: records.len(),
            max: max_message_bytes,
        });
    }
    let h = validate_produce_records(records)?;
    if h.is_control() {
        return Err(BrokerError::InvalidRecord(
            "clients cannot write control batches".into(),
        ));
    }
    if h.is_transactional() {
        let Some(txn_id) = transactional_id.filter(|t| !t.is_empty()) else {
            return Err(BrokerError::InvalidRecord(
                "transactional batch without a transactional id".into(),
            ));
        };
        let token = partition.begin_verification(h.producer_id);
        if token.is_some() {
            let verified = crate::host::verify_in_transaction(
                broker,
                txn_id,
                h.producer_id,
                h.producer_epoch,
                topic,
                index,
            )
            .await;
            if let Err(e) = verified {
                let e = match e {
                    BrokerError::Txn(crate::txn::state::TxnError::ProducerFenced) => {
                        BrokerError::VerificationFenced {
                            producer_id: h.producer_id,
                            epoch: h.producer_epoch,
                        }
                    }
                    e => e,
                };
                // A retry of a batch appended before its transaction ended
                // is answered like any duplicate.
                let outcome = partition.duplicate_of(&h).ok_or(e)?;
                return Ok((outcome, partition));
            }
        }
        // Refused if a marker ended the transaction meanwhile.
        let outcome = partition.append_verified(records, token)?;
        return Ok((outcome, partition));
    }
    let outcome = partition.append(records)?;
    Ok((outcome, partition))
}

/// `acks=all`: waits until the ISR has the appended records (the high
/// watermark passed them), bounded by the request's timeout. A produce
/// whose partition stopped leading meanwhile gets NOT_LEADER_OR_FOLLOWER.
async fn await_replication(
    outcome: &AppendOutcome,
    partition: &Partition,
    deadline: tokio::time::Instant,
) -> Result<(), BrokerError> {
    let end = match outcome {
        AppendOutcome::Appended(info, _) => info.last_offset + 1,
        AppendOutcome::Duplicate { base_offset, .. } => base_offset + 1,
    };
    partition
        .wait_for_high_watermark(end, partition.min_insync(), deadline)
        .await
}

/// True for an error Kafka's partition log raises while appending (producer
/// state, record validation, in-sync replicas): Kafka answers it with the
/// partition's log start offset. Every other error (unknown partition, not
/// leader, too large, corrupt, refused before the log: a failed transaction
/// verification) carries -1, as in Kafka's `ReplicaManager.appendToLocalLog`.
fn reports_log_start(e: &BrokerError) -> bool {
    use kafka_protocol::ResponseError as R;
    !matches!(e, BrokerError::VerificationFenced { .. })
        && [
            R::OutOfOrderSequenceNumber,
            R::DuplicateSequenceNumber,
            R::InvalidProducerEpoch,
            R::UnknownProducerId,
            R::InvalidTimestamp,
            R::InvalidRecord,
            R::NotEnoughReplicas,
            R::NotEnoughReplicasAfterAppend,
        ]
        .iter()
        .any(|r| r.code() == e.code())
}

/// Kafka's `RequestUtils.hasTransactionalRecords`: whether any v2 batch of
/// any partition has the transactional attribute (batches are walked by
/// their length fields only; a malformed tail ends the walk and is refused
/// later by validation).
fn has_transactional_records(req: &ProduceRequest) -> bool {
    const LENGTH_AT: usize = 8;
    const MAGIC_AT: usize = 16;
    const ATTRIBUTES_AT: usize = 21;
    const TRANSACTIONAL: u8 = 0x10;
    req.topic_data
        .iter()
        .flat_map(|td| &td.partition_data)
        .filter_map(|pd| pd.records.as_deref())
        .any(|mut records| {
            while let (Some(len), Some(&magic), Some(&attributes)) = (
                records.get(LENGTH_AT..LENGTH_AT + 4),
                records.get(MAGIC_AT),
                records.get(ATTRIBUTES_AT + 1),
            ) {
                if magic == 2 && attributes & TRANSACTIONAL != 0 {
                    return true;
                }
                let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                let Some(next) = usize::try_from(len)
                    .ok()
                    .and_then(|l| l.checked_add(LENGTH_AT + 4))
                else {
                    return false;
                };
                records = records.get(next..).unwrap_or(&[]);
            }
            false
        })
}

/// Appends each partition's batch and answers; None (no response at all)
/// for acks=0.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let txn_id = req.transactional_id.as_deref().map(|s| s.to_string());
    let timeout = Duration::from_millis(u64::try_from(req.timeout_ms).unwrap_or(0));
    let deadline = tokio::time::Instant::now() + timeout;
    // Kafka checks WRITE on the transactional id first when any batch is
    // transactional (a missing id is refused), failing every partition;
    // then WRITE on each topic, before its existence. 4.1 has no
    // IDEMPOTENT_WRITE check here.
    // Kafka refuses a missing id here even without an authorizer; this
    // broker then keeps its INVALID_RECORD answer (produce_partition).
    let txn_denied = has_transactional_records(&req)
        && match txn_id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => !ctx.authorize(
                broker,
                AclOperation::Write,
                ResourceType::TransactionalId,
                id,
            ),
            None => broker.security.authorizer().is_some(),
        };
    let mut appended = Vec::new();
    let mut names = Vec::with_capacity(req.topic_data.len());
    for td in &req.topic_data {
        // v13 (KIP-516) names topics by id.
        let name = if ctx.version() >= 13 {
            broker
                .metadata()
                .topic_by_id(&td.topic_id)
                .map(|t| t.name.clone())
                .unwrap_or_default()
        } else {
            td.name.to_string()
        };
        let topic_allowed = !txn_denied
            && !name.is_empty()
            && ctx.authorize(broker, AclOperation::Write, ResourceType::Topic, &name);
        for pd in &td.partition_data {
            let outcome = if txn_denied {
                Err(BrokerError::TransactionalIdAuthorizationFailed)
            } else if name.is_empty() && ctx.version() >= 13 {
                Err(BrokerError::UnknownTopicId)
            } else if !topic_allowed {
                Err(BrokerError::TopicAuthorizationFailed)
            } else {
                produce_partition(
                    broker,
                    &name,
                    pd.index,
                    pd.records.as_deref(),
                    req.acks,
                    txn_id.as_deref(),
                )
                .await
            };
            appended.push(outcome);
        }
        names.push(name);
    }
    // Every partition is appended before any waits, so an acks=all
    // request waits for its slowest partition, not for their sum.
    let mut outcomes = Vec::with_capacity(appended.len());
    for outcome in appended {
        outcomes.push(match outcome {
            Ok((outcome, partition)) if req.acks == -1 => {
                await_replication(&outcome, &partition, deadline)
                    .await
                    .map(|()| outcome)
            }
            Ok((outcome, _)) => Ok(outcome),
            Err(e) => Err(e),
        });
    }
    let mut outcomes = outcomes.into_iter();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (td, name) in req.topic_data.iter().zip(&names) {
        let mut partitions = Vec::with_capacity(td.partition_data.len());
        for pd in &td.partition_data {
            let resp = PartitionProduceResponse::default().with_index(pd.index);
            let outcome = outcomes
                .next()
                .unwrap_or(Err(BrokerError::UnknownTopicOrPartition));
            partitions.push(match outcome {
                Ok(AppendOutcome::Appended(info, append_time)) => resp
                    .with_base_offset(info.base_offset)
                    .with_log_append_time_ms(append_time.unwrap_or(-1))
                    .with_log_start_offset(info.log_start_offset),
                Ok(AppendOutcome::Duplicate {
                    base_offset,
                    log_start_offset,
                }) => resp
                    .with_base_offset(base_offset)
                    .with_log_start_offset(log_start_offset),
                Err(e) => {
                    debug!(topic = %name, partition = pd.index, error = %e, "produce rejected");
                    crate::metrics::produce_error(e.code());
                    let log_start_offset = if reports_log_start(&e) {
                        broker
                            .replicas
                            .partition(name, pd.index)
                            .map_or(-1, |p| p.log_start_offset())
                    } else {
                        -1
                    };
                    let resp = resp
                        .with_error_code(e.code())
                        .with_base_offset(-1)
                        .with_log_start_offset(log_start_offset);
                    if ctx.version() >= 8 {
                        let record_errors = match &e {
                            BrokerError::RecordErrors { records, .. } => records
                                .iter()
                                .map(|(i, why)| {
                                    BatchIndexAndErrorMessage::default()
                                        .with_batch_index(*i)
                                        .with_batch_index_error_message(Some(sb(why)))
                                })
                                .collect(),
                            _ => Vec::new(),
                        };
                        resp.with_error_message(Some(sb(&e.to_string())))
                            .with_record_errors(record_errors)
                    } else {
                        resp
                    }
                }
            });
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(td.name.clone())
                .with_topic_id(td.topic_id)
                .with_partition_responses(partitions),
        );
    }
    // acks=0: the client reads no response.
    (req.acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}
