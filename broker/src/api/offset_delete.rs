//! OffsetDelete (key 47): removes committed offsets of topics the group no
//! longer consumes (GROUP_SUBSCRIBED_TO_TOPIC otherwise).

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

const GROUP_DENIED: kafka_protocol::ResponseError =
    kafka_protocol::ResponseError::GroupAuthorizationFailed;
const TOPIC_DENIED: kafka_protocol::ResponseError =
    kafka_protocol::ResponseError::TopicAuthorizationFailed;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    // DELETE on the group (top-level error), then READ on each topic
    // (TOPIC_AUTHORIZATION_FAILED per partition, nothing deleted there).
    if !ctx.authorize(
        broker,
        AclOperation::Delete,
        ResourceType::Group,
        &req.group_id,
    ) {
        return OffsetDeleteResponse::default().with_error_code(GROUP_DENIED.code());
    }
    let allowed: Vec<bool> = req
        .topics
        .iter()
        .map(|t| ctx.authorize(broker, AclOperation::Read, ResourceType::Topic, &t.name))
        .collect();
    let partitions: Vec<(String, i32)> = req
        .topics
        .iter()
        .zip(&allowed)
        .filter(|(_, allowed)| **allowed)
        .map(|(t, _)| t)
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let code = broker.coordinator_error(&req.group_id);
    if code != 0 {
        return OffsetDeleteResponse::default().with_error_code(code);
    }
    match broker
        .groups
        .delete_offsets(broker, &req.group_id, &partitions)
    {
        Err(e) => OffsetDeleteResponse::default().with_error_code(e.code()),
        Ok(results) => {
            let mut it = results.into_iter();
            let topics = req
                .topics
                .iter()
                .zip(&allowed)
                .map(|(t, allowed)| {
                    OffsetDeleteResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    OffsetDeleteResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(if *allowed {
                                            it.next().flatten().map(|e| e.code()).unwrap_or(0)
                                        } else {
                                            TOPIC_DENIED.code()
                                        })
                                })
                                .collect(),
                        )
                })
                .collect();
            OffsetDeleteResponse::default().with_topics(topics)
        }
    }
}
