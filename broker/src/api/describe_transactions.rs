//! DescribeTransactions (key 65): the transaction coordinator's view of
//! each transactional id it coordinates (state, producer, timeout,
//! partitions).

use std::sync::Arc;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

/// DescribeTransactions: the coordinator's view of each id.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = req
        .transactional_ids
        .iter()
        .map(|id| {
            let s = TransactionState::default().with_transactional_id(id.clone());
            if !ctx.authorize(
                broker,
                AclOperation::Describe,
                ResourceType::TransactionalId,
                id,
            ) {
                return s.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
            }
            if let Err(e) = broker.txn().check_coordinator(id) {
                return s.with_error_code(crate::error::BrokerError::from(e).code());
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
                            // Topics the principal may not DESCRIBE are
                            // left out, as Kafka does.
                            .filter(|(t, _)| {
                                ctx.authorize(
                                    broker,
                                    AclOperation::Describe,
                                    ResourceType::Topic,
                                    t,
                                )
                            })
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
