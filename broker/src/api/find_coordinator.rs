//! FindCoordinator (key 10): the broker leading the key's partition of
//! `__consumer_offsets` (key type 0, groups) or `__transaction_state` (key
//! type 1, transactional ids); the internal topic is created on first use.
//! v0–3 carry one key; v4+ a batch (`coordinator_keys`). Each key needs
//! DESCRIBE on its group (GROUP_AUTHORIZATION_FAILED) or transactional id
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), checked first.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

const GROUP: i8 = 0;
const TRANSACTION: i8 = 1;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let answer = |key: StrBytes| async move {
        // DESCRIBE on the group or transactional id, before anything else.
        let denied = match req.key_type {
            GROUP => (!ctx.authorize(broker, AclOperation::Describe, ResourceType::Group, &key))
                .then_some(BrokerError::GroupAuthorizationFailed),
            TRANSACTION => (!ctx.authorize(
                broker,
                AclOperation::Describe,
                ResourceType::TransactionalId,
                &key,
            ))
            .then_some(BrokerError::TransactionalIdAuthorizationFailed),
            _ => None,
        };
        if let Some(e) = denied {
            return Err((e.response_error(), e.to_string()));
        }
        if key.is_empty() {
            return Err((
                ResponseError::InvalidRequest,
                "empty coordinator key".into(),
            ));
        }
        let found = match req.key_type {
            GROUP => {
                broker
                    .group_coordinator(key.as_str(), &ctx.session.listener)
                    .await
            }
            TRANSACTION => {
                broker
                    .txn_coordinator(key.as_str(), &ctx.session.listener)
                    .await
            }
            other => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("unknown coordinator key type {other}"),
                ))
            }
        };
        found.map_err(|e| (e.response_error(), e.to_string()))
    };
    if ctx.version() >= 4 {
        let mut coordinators = Vec::with_capacity(req.coordinator_keys.len());
        for k in &req.coordinator_keys {
            let c = Coordinator::default().with_key(k.clone());
            coordinators.push(match answer(k.clone()).await {
                Ok((node, host, port)) => c
                    .with_node_id(BrokerId(node))
                    .with_host(sb(&host))
                    .with_port(port),
                Err((e, msg)) => c
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(&msg))),
            });
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match answer(req.key.clone()).await {
        Ok((node, host, port)) => FindCoordinatorResponse::default()
            .with_node_id(BrokerId(node))
            .with_host(sb(&host))
            .with_port(port),
        Err((e, msg)) => {
            let r = FindCoordinatorResponse::default()
                .with_error_code(e.code())
                .with_node_id(BrokerId(-1))
                .with_port(-1);
            if ctx.version() >= 1 {
                r.with_error_message(Some(sb(&msg)))
            } else {
                r
            }
        }
    }
}
