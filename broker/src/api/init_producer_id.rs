//! InitProducerId (key 22).
//!
//! Without a transactional id: a new producer id from the durable id blocks,
//! epoch 0 (idempotent producers). With one: the transaction coordinator
//! assigns or bumps the id's epoch, fencing older instances and aborting
//! their open transaction first (answered CONCURRENT_TRANSACTIONS until that
//! abort is done; clients retry), with KIP-360's recovery when the request
//! names the producer id and epoch it already has (v3+).
//!
//! Authorization (Kafka 4.1): WRITE on the transactional id
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); without one, IDEMPOTENT_WRITE
//! on the cluster or WRITE on any topic (KIP-679), else
//! CLUSTER_AUTHORIZATION_FAILED.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use tracing::{debug, warn};

use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let fail = |code: i16| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if let Some(txn_id) = req.transactional_id.as_ref().filter(|t| !t.is_empty()) {
        if !ctx.authorize(
            broker,
            AclOperation::Write,
            ResourceType::TransactionalId,
            txn_id,
        ) {
            return fail(BrokerError::TransactionalIdAuthorizationFailed.code());
        }
        let expected = (ctx.version() >= 3 && req.producer_id.0 >= 0)
            .then_some((req.producer_id.0, req.producer_epoch));
        return match broker
            .txn()
            .init_producer_id(broker, txn_id, req.transaction_timeout_ms, expected)
            .await
            .map(|answer| (answer, broker.txn().partition_of(txn_id)))
        {
            Ok(((pid, epoch), partition))
                if broker
                    .await_coordinator_writes(crate::coordinator::TXN_TOPIC, partition)
                    .await
                    .is_err() =>
            {
                debug!(transactional_id = %txn_id.as_str(), producer_id = pid, epoch, "InitProducerId not replicated in time");
                fail(kafka_protocol::ResponseError::CoordinatorNotAvailable.code())
            }
            Ok(((pid, epoch), _)) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch),
            Err(e) => {
                debug!(transactional_id = %txn_id.as_str(), error = %e, "InitProducerId refused");
                // KIP-588: older clients know only INVALID_PRODUCER_EPOCH.
                fail(ctx.error_code(&e))
            }
        };
    }
    // KIP-679: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
    if !ctx.authorize(
        broker,
        AclOperation::IdempotentWrite,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) && !ctx.authorize_by_resource_type(broker, AclOperation::Write, ResourceType::Topic)
    {
        return fail(BrokerError::ClusterAuthorizationFailed(String::new()).code());
    }
    match broker.allocate_producer_id().await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            warn!(error = %e, "cannot allocate producer id");
            fail(e.response_error().code())
        }
    }
}
