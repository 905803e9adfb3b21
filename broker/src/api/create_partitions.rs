//! CreatePartitions (key 37): grows topics; every requested topic is
//! answered (with its error), `validate_only` writes nothing, manual
//! assignments are checked as Kafka checks them (registered brokers, each
//! once, the topic's replica count, one live replica).

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut results = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        results.push({
            let assignments: Option<Vec<Vec<i32>>> = t.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|x| x.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            // ALTER on the topic, before its existence.
            if !ctx.authorize(broker, AclOperation::Alter, ResourceType::Topic, &t.name) {
                let e = crate::error::BrokerError::TopicAuthorizationFailed;
                results.push(
                    result
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(&e.to_string()))),
                );
                continue;
            }
            match broker
                .create_partitions(&t.name, t.count, assignments.as_deref(), req.validate_only)
                .await
            {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(&crate::controller::admin_error_message(&e)))),
            }
        });
    }
    CreatePartitionsResponse::default().with_results(results)
}
