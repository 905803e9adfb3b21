//! ListTransactions (key 66): the transactional ids this broker
//! coordinates, filtered by state, producer id, duration (v1+) and id
//! pattern (v2+).

use std::sync::Arc;

use kafka_protocol::messages::list_transactions_response::TransactionState as ListedTxn;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::txn::state::TxnState;

/// ListTransactions: the ids this broker coordinates, filtered.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let (known, unknown): (Vec<String>, Vec<String>) = req
        .state_filters
        .iter()
        .map(|s| s.to_string())
        .partition(|s| TxnState::ALL.iter().any(|k| k.name() == s.as_str()));
    let pids: Vec<i64> = req.producer_id_filters.iter().map(|p| p.0).collect();
    let duration = if ctx.version() >= 1 {
        req.duration_filter
    } else {
        -1
    };
    let pattern = if ctx.version() >= 2 {
        req.transactional_id_pattern.as_deref().map(str::to_string)
    } else {
        None
    };
    let mut listed = if req.state_filters.is_empty() || !known.is_empty() {
        broker.txn().list(&known, &pids, duration)
    } else {
        Vec::new()
    };
    // Only the ids the principal may DESCRIBE, silently.
    listed.retain(|(id, _, _)| {
        ctx.authorize(
            broker,
            AclOperation::Describe,
            ResourceType::TransactionalId,
            id,
        )
    });
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
