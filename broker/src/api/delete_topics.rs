//! DeleteTopics (key 20): by name (all versions) or by topic id (v6+).
//! Authorization as Kafka 4.x's controller: DELETE on the cluster, else
//! DESCRIBE and DELETE on the topic; a topic that may not be described is
//! TOPIC_AUTHORIZATION_FAILED whether it exists or not (and, named by id,
//! answered without its name). Kafka also shuffles the answers so their
//! order tells nothing; this broker keeps the request's order.

use std::sync::Arc;

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::sb;
use crate::authorizer::AclOperation::{Delete, Describe};
use crate::authorizer::ResourceType::{Cluster, Topic};
use crate::authorizer::CLUSTER_NAME;
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
    // Kafka's controller (`ControllerApis.deleteTopics`): DELETE on the
    // cluster allows every topic; else a topic needs DESCRIBE (without it:
    // TOPIC_AUTHORIZATION_FAILED whether or not it exists) and DELETE.
    let delete_any = ctx.authorize(broker, Delete, Cluster, CLUSTER_NAME);
    let may = |op, name: &str| delete_any || ctx.authorize(broker, op, Topic, name);
    for (name, id) in targets {
        responses.push({
            let by_id = name.is_none();
            let name = match name {
                Some(n) => Some(n),
                None => broker
                    .cache
                    .image()
                    .topic_by_id(&id)
                    .map(|t| t.name.clone()),
            };
            let describable = name.as_deref().is_some_and(|n| may(Describe, n));
            let result = DeletableTopicResult::default()
                .with_name(
                    name.as_deref()
                        .filter(|_| describable || !by_id)
                        .map(|n| TopicName(sb(n))),
                )
                .with_topic_id(id);
            let denied = || {
                result
                    .clone()
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code())
            };
            match name {
                None => result.with_error_code(ResponseError::UnknownTopicId.code()),
                Some(_) if !describable => denied(),
                Some(name)
                    if broker.cache.image().topic(&name).is_some() && !may(Delete, &name) =>
                {
                    denied()
                }
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
