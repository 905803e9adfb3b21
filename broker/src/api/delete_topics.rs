//! DeleteTopics (key 20): by name (all versions) or by topic id (v6+).

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::sb;
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Uuid)> = if ctx.version() >= 6 {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.to_string()), Uuid::nil()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        responses.push({
            let name = match name {
                Some(n) => Some(n),
                None => broker
                    .cache
                    .image()
                    .topic_by_id(&id)
                    .map(|t| t.name.clone()),
            };
            let result = DeletableTopicResult::default()
                .with_name(name.as_deref().map(|n| TopicName(sb(n))))
                .with_topic_id(id);
            match name {
                None => result.with_error_code(ResponseError::UnknownTopicId.code()),
                Some(name) => match broker.delete_topic(&name).await {
                    Ok(topic_id) => result.with_topic_id(topic_id),
                    Err(e) => result
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(&e.to_string()))),
                },
            }
        });
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
