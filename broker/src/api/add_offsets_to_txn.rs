//! AddOffsetsToTxn (key 25): adds the group's `__consumer_offsets`
//! partition to a producer's open transaction, before TxnOffsetCommit.
//!
//! The rules live in the transaction coordinator ([`crate::txn`]); requests
//! older than KIP-588 (v0–1) get INVALID_PRODUCER_EPOCH where newer ones get
//! PRODUCER_FENCED ([`crate::error::BrokerError::code_for_version`]).

use std::sync::Arc;

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::group::OFFSETS_TOPIC;

/// AddOffsetsToTxn: adds the group's `__consumer_offsets` partition.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    // WRITE on the transactional id, then READ on the group.
    let denied = if !ctx.authorize(
        broker,
        AclOperation::Write,
        ResourceType::TransactionalId,
        &req.transactional_id,
    ) {
        Some(kafka_protocol::ResponseError::TransactionalIdAuthorizationFailed)
    } else if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        Some(kafka_protocol::ResponseError::GroupAuthorizationFailed)
    } else {
        None
    };
    if let Some(e) = denied {
        return AddOffsetsToTxnResponse::default().with_error_code(e.code());
    }
    let partition = (
        OFFSETS_TOPIC.to_string(),
        broker.groups.partition_of(&req.group_id),
    );
    // The offsets topic must exist for the group coordinator to take the
    // commit (a multi-node cluster creates it lazily).
    let r = match broker
        .group_coordinator(&req.group_id, &ctx.session.listener)
        .await
    {
        Ok(_) => broker.txn().add_partitions(
            broker,
            &req.transactional_id,
            req.producer_id.0,
            req.producer_epoch,
            &[partition],
        ),
        Err(e) => Err(e),
    };
    AddOffsetsToTxnResponse::default().with_error_code(ctx.result_code(&r))
}
