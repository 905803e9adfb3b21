//! DescribeTopicPartitions (key 75, KIP-966): topics with their partitions,
//! paginated by `response_partition_limit` and a cursor. Eligible leader
//! replicas (KIP-966) are empty lists, as Kafka sends without ELR enabled.
//! Partitions are described as Metadata describes them: replicas, ISR and
//! offline replicas from the image, leader -1 with LEADER_NOT_AVAILABLE
//! when there is no live leader.

use std::sync::Arc;

use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::metadata::MetadataCache;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let image = broker.cache.image();
    let listener: &str = &ctx.session.listener;
    // DESCRIBE on each topic: a listing leaves the others out silently, a
    // named one is refused (before its existence is checked).
    let listing = req.topics.is_empty();
    let mut names: Vec<String> = if listing {
        image
            .topics()
            .filter(|t| ctx.authorize(broker, AclOperation::Describe, ResourceType::Topic, &t.name))
            .map(|t| t.name.clone())
            .collect()
    } else {
        req.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.sort();
    let (cursor_topic, cursor_partition) = req
        .cursor
        .as_ref()
        .map(|c| (c.topic_name.to_string(), c.partition_index))
        .unwrap_or_default();
    let mut budget = usize::try_from(req.response_partition_limit)
        .unwrap_or(0)
        .clamp(1, 2000);
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in names.into_iter().filter(|n| *n >= cursor_topic) {
        if !listing && !ctx.authorize(broker, AclOperation::Describe, ResourceType::Topic, &name) {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(TopicName(sb(&name))))
                    .with_error_code(ResponseError::TopicAuthorizationFailed.code()),
            );
            continue;
        }
        let Some(t) = image.topic(&name) else {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(TopicName(sb(&name))))
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code()),
            );
            continue;
        };
        if budget == 0 {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(sb(&name)))
                    .with_partition_index(0),
            );
            break;
        }
        let first = if name == cursor_topic {
            cursor_partition.max(0) as usize
        } else {
            0
        };
        let mut partitions = Vec::new();
        for p in t.partitions.iter().skip(first) {
            if budget == 0 {
                next_cursor = Some(
                    Cursor::default()
                        .with_topic_name(TopicName(sb(&name)))
                        .with_partition_index(p.partition),
                );
                break;
            }
            budget -= 1;
            let (leader, error) = super::metadata::leader_on_listener(&image, p, listener, true);
            partitions.push(
                DescribeTopicPartitionsResponsePartition::default()
                    .with_error_code(error.map_or(0, |e| e.code()))
                    .with_partition_index(p.partition)
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(p.leader_epoch)
                    .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                    .with_isr_nodes(p.isr.iter().map(|r| BrokerId(*r)).collect())
                    .with_offline_replicas(
                        MetadataCache::offline_replicas(&image, p, listener)
                            .into_iter()
                            .map(BrokerId)
                            .collect(),
                    )
                    // Kafka always sends lists here; null crashes the Java
                    // Admin client's describeTopics().
                    .with_eligible_leader_replicas(Some(Vec::new()))
                    .with_last_known_elr(Some(Vec::new())),
            );
        }
        topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(TopicName(sb(&name))))
                .with_topic_id(t.topic_id)
                .with_is_internal(crate::coordinator::is_internal(&name))
                .with_topic_authorized_operations(ctx.authorized_operations(
                    broker,
                    true,
                    ResourceType::Topic,
                    &name,
                    crate::authorizer::topic_operations,
                ))
                .with_partitions(partitions),
        );
        if next_cursor.is_some() {
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}
