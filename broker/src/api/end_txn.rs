//! EndTxn (key 26): commits or aborts a producer's transaction; the
//! coordinator stores the decision, writes the markers and completes it.
//!
//! The rules live in the transaction coordinator ([`crate::txn`]); requests
//! older than KIP-588 (v0–1) get INVALID_PRODUCER_EPOCH where newer ones get
//! PRODUCER_FENCED ([`crate::error::BrokerError::code_for_version`]).

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};
use tracing::debug;

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

/// EndTxn: commit or abort.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: EndTxnRequest,
) -> EndTxnResponse {
    if !ctx.authorize(
        broker,
        AclOperation::Write,
        ResourceType::TransactionalId,
        &req.transactional_id,
    ) {
        return EndTxnResponse::default()
            .with_error_code(
                kafka_protocol::ResponseError::TransactionalIdAuthorizationFailed.code(),
            )
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
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
    // The decision (PrepareCommit / PrepareAbort) is answered once it is
    // on the ISR: a new coordinator then completes it.
    let r = match r {
        Ok(()) => {
            let partition = broker.txn().partition_of(&req.transactional_id);
            broker
                .await_coordinator_writes(crate::coordinator::TXN_TOPIC, partition)
                .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &r {
        debug!(transactional_id = %req.transactional_id.as_str(), error = %e, "EndTxn refused");
    }
    EndTxnResponse::default()
        .with_error_code(ctx.result_code(&r))
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1)
}
