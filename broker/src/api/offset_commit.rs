//! OffsetCommit (key 8): generation/member checks, metadata kept verbatim,
//! acknowledged once durable in `__consumer_offsets`. v10 names topics by id.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use kafka_protocol::ResponseError;

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::coordinator::OFFSETS_TOPIC;
use crate::error::{BrokerError, GroupError};
use crate::group::CommitEntry;

/// Every partition of the request answered with `e`.
fn refuse_all(req: &OffsetCommitRequest, e: ResponseError) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        req.topics
            .iter()
            .map(|t| {
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_topic_id(t.topic_id)
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(e.code())
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let by_id = ctx.version() >= 10;
    // READ on the group, else every partition is refused.
    if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        return refuse_all(&req, ResponseError::GroupAuthorizationFailed);
    }
    let image = broker.cache.image();
    let mut entries = Vec::new();
    // Partitions answered without committing: unknown ids, then topics
    // the principal may not READ.
    let mut refused = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
        let name = if by_id {
            image.topic_by_id(&t.topic_id).map(|x| x.name.clone())
        } else {
            Some(t.name.to_string())
        };
        let allowed = name
            .as_deref()
            .is_some_and(|n| ctx.authorize(broker, AclOperation::Read, ResourceType::Topic, n));
        for p in &t.partitions {
            match &name {
                None => refused.push((ti, p.partition_index, ResponseError::UnknownTopicId)),
                Some(_) if !allowed => refused.push((
                    ti,
                    p.partition_index,
                    ResponseError::TopicAuthorizationFailed,
                )),
                Some(n) => entries.push(CommitEntry {
                    topic: n.clone(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: if ctx.version() >= 6 {
                        p.committed_leader_epoch
                    } else {
                        -1
                    },
                    metadata: p.committed_metadata.as_deref().unwrap_or("").to_string(),
                }),
            }
        }
    }
    let mut results = if req.group_id.is_empty() {
        vec![Some(GroupError::InvalidGroupId); entries.len()]
    } else if let Err(e) = broker.groups.check_coordinator(&req.group_id) {
        vec![Some(e); entries.len()]
    } else {
        broker.groups.commit(
            broker,
            &req.group_id,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id_or_member_epoch,
            &entries,
        )
    };
    if results.iter().any(Option::is_none) {
        // Answered once the commit is on the ISR (acks=all).
        let partition = broker.groups.partition_of(&req.group_id);
        if let Err(e) = broker
            .await_coordinator_writes(OFFSETS_TOPIC, partition)
            .await
        {
            let e = match e {
                BrokerError::Group(g) => g,
                _ => GroupError::CoordinatorNotAvailable,
            };
            for r in results.iter_mut().filter(|r| r.is_none()) {
                *r = Some(e.clone());
            }
        }
    }
    let mut it = entries.iter().zip(results);
    let topics = req
        .topics
        .iter()
        .enumerate()
        .map(|(ti, t)| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if let Some((_, _, e)) = refused
                        .iter()
                        .find(|(i, pi, _)| *i == ti && *pi == p.partition_index)
                    {
                        e.code()
                    } else {
                        it.next()
                            .and_then(|(_, r)| r)
                            .map(|e| e.code())
                            .unwrap_or(0)
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_topic_id(t.topic_id)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}
