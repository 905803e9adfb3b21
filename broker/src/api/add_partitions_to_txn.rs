//! AddPartitionsToTxn (key 24): adds partitions to a producer's open
//! transaction. v0–3 carry one transaction from a client; v4+ (KIP-890) a
//! batch of transactions from brokers, each either adding its partitions or
//! (`verify_only`) checking that they are in the transaction, which is how
//! a partition leader verifies a transactional produce with a remote
//! coordinator.
//!
//! The rules live in the transaction coordinator ([`crate::txn`]); this
//! file translates between wire structs and it. Requests older than KIP-588
//! (v0–1) get INVALID_PRODUCER_EPOCH where newer ones get PRODUCER_FENCED
//! ([`crate::error::BrokerError::code_for_version`]).

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};
use kafka_protocol::ResponseError;
use tracing::debug;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

/// AddPartitionsToTxn. v0–3: one transaction from a client. v4+: a batch
/// of transactions from brokers, each either adding or (`verify_only`)
/// checking that its partitions are in the transaction.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let version = ctx.version();
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
        // Partitions of topics the client may not WRITE (v0–3; brokers'
        // v4+ batches are checked as a whole) and unknown partitions fail
        // alone; the others then answer OPERATION_NOT_ATTEMPTED, as Kafka
        // does.
        let denied: std::collections::HashSet<&str> = topics
            .iter()
            .map(|(t, _)| t.as_str())
            .filter(|t| {
                version <= 3 && !ctx.authorize(broker, AclOperation::Write, ResourceType::Topic, t)
            })
            .collect();
        let unknown: Vec<(String, i32)> = partitions
            .iter()
            .filter(|(t, p)| denied.contains(t.as_str()) || !broker.cache.partition_exists(t, *p))
            .cloned()
            .collect();
        let per_partition: Vec<((String, i32), i16)> = if !unknown.is_empty() {
            partitions
                .iter()
                .map(|tp| {
                    let code = if denied.contains(tp.0.as_str()) {
                        ResponseError::TopicAuthorizationFailed.code()
                    } else if unknown.contains(tp) {
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
                    (tp.clone(), ctx.result_code(&r))
                })
                .collect()
        } else {
            let r = coordinator.add_partitions(broker, txn_id, pid, epoch, &partitions);
            if let Err(e) = &r {
                debug!(transactional_id = txn_id, error = %e, "AddPartitionsToTxn refused");
            }
            let code = ctx.result_code(&r);
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
        // WRITE on the transactional id, else every partition is refused.
        if !ctx.authorize(
            broker,
            AclOperation::Write,
            ResourceType::TransactionalId,
            &req.v3_and_below_transactional_id,
        ) {
            let code = ResponseError::TransactionalIdAuthorizationFailed.code();
            let results = topics
                .iter()
                .map(|(t, ps)| {
                    AddPartitionsToTxnTopicResult::default()
                        .with_name(TopicName(sb(t)))
                        .with_results_by_partition(
                            ps.iter()
                                .map(|p| {
                                    AddPartitionsToTxnPartitionResult::default()
                                        .with_partition_index(*p)
                                        .with_partition_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect();
            return AddPartitionsToTxnResponse::default()
                .with_results_by_topic_v3_and_below(results);
        }
        let results = run(
            &req.v3_and_below_transactional_id,
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &topics,
            false,
        );
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    // v4+ comes from brokers: CLUSTER_ACTION on the cluster.
    if !ctx.authorize(
        broker,
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        return AddPartitionsToTxnResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
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
