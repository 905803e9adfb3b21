//! TxnOffsetCommit (key 28): a transactional producer's offset commit,
//! pending in the group coordinator until the transaction's marker reaches
//! `__consumer_offsets`. The offsets partition must be in the producer's
//! open transaction (KIP-890 verification with the coordinator, as for
//! produce); v3+ also carry the member's generation (KIP-447).
//!
//! The rules live in the coordinators ([`crate::txn`], [`crate::group`]);
//! requests older than KIP-588 (v0–1) get INVALID_PRODUCER_EPOCH where newer
//! ones get PRODUCER_FENCED ([`crate::error::BrokerError::code_for_version`]).

use std::sync::Arc;

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use kafka_protocol::ResponseError;
use tracing::debug;

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::group::{CommitEntry, OFFSETS_TOPIC};

/// TxnOffsetCommit: offsets pending until the transaction's marker. The
/// offsets partition must be in the producer's open transaction (KIP-890
/// verification with the coordinator, as for produce).
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let version = ctx.version();
    // WRITE on the transactional id, then READ on the group (each failing
    // every partition), then READ on each topic (failing its partitions).
    let whole = if !ctx.authorize(
        broker,
        AclOperation::Write,
        ResourceType::TransactionalId,
        &req.transactional_id,
    ) {
        Some(ResponseError::TransactionalIdAuthorizationFailed)
    } else if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        Some(ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    let allowed: Vec<bool> = req
        .topics
        .iter()
        .map(|t| {
            whole.is_none()
                && ctx.authorize(broker, AclOperation::Read, ResourceType::Topic, &t.name)
        })
        .collect();
    if let Some(e) = whole {
        return response(&req, &allowed, std::iter::empty(), e);
    }
    let entries: Vec<CommitEntry> = req
        .topics
        .iter()
        .zip(&allowed)
        .filter(|(_, allowed)| **allowed)
        .flat_map(|(t, _)| {
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
    let offsets = broker
        .replicas
        .partition(OFFSETS_TOPIC, broker.groups.partition_of(&req.group_id));
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
            ResponseError::try_from_code(ctx.error_code(&e))
                .unwrap_or(ResponseError::InvalidTxnState)
        }),
        _ => Ok(()),
    };
    let mut results: Vec<Option<ResponseError>> = if offsets.is_none() {
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
        broker
            .groups
            .txn_commit(
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
    if results.iter().any(Option::is_none) {
        // Answered once the pending commit is on the ISR (acks=all).
        let partition = broker.groups.partition_of(&req.group_id);
        if let Err(e) = broker
            .await_coordinator_writes(OFFSETS_TOPIC, partition)
            .await
        {
            let e = e.response_error();
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(e);
            }
        }
    }
    response(
        &req,
        &allowed,
        results.into_iter(),
        ResponseError::TopicAuthorizationFailed,
    )
}

/// The response: partitions of allowed topics take their result from
/// `results` in order, the others `denied`.
fn response(
    req: &TxnOffsetCommitRequest,
    allowed: &[bool],
    mut results: impl Iterator<Item = Option<ResponseError>>,
    denied: ResponseError,
) -> TxnOffsetCommitResponse {
    let topics = req
        .topics
        .iter()
        .zip(allowed)
        .map(|(t, allowed)| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let code = if *allowed {
                                results.next().flatten().map_or(0, |e| e.code())
                            } else {
                                denied.code()
                            };
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}
