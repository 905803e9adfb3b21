//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, from
//! the partition's leader epoch cache (Kafka's `endOffsetFor`), used by
//! consumers to detect log truncation (KIP-320) and by followers to find
//! where their log diverges from the leader's (KIP-101/KIP-279).
//!
//! Only the leader answers (consumers and follower replicas alike, as in
//! Kafka): a follower here is NOT_LEADER_OR_FOLLOWER, a partition the
//! cluster does not have UNKNOWN_TOPIC_OR_PARTITION. The request's
//! `current_leader_epoch` is checked first ([`super::epoch`]): older is
//! FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 skips the check. An
//! epoch the cache does not know answers -1 / -1.

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::epoch::check_current_leader_epoch;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;
use crate::replica::partition::Role;

/// (epoch, end offset) of one requested partition.
fn end_offset(
    broker: &Broker,
    topic: &str,
    p: &OffsetForLeaderPartition,
) -> Result<(i32, i64), BrokerError> {
    let part = broker.local_partition(topic, p.partition)?;
    check_current_leader_epoch(part.leader_epoch(), p.current_leader_epoch)?;
    if part.role() != Role::Leader {
        return Err(BrokerError::NotLeaderOrFollower);
    }
    Ok(part.end_offset_for_epoch(p.leader_epoch))
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    // CLUSTER_ACTION on the cluster (followers) covers every topic; else
    // DESCRIBE on each.
    let cluster = ctx.authorize(
        broker,
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let allowed = cluster
                || ctx.authorize(
                    broker,
                    AclOperation::Describe,
                    ResourceType::Topic,
                    &t.topic,
                );
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let r = EpochEndOffset::default().with_partition(p.partition);
                            if !allowed {
                                return r
                                    .with_error_code(
                                        kafka_protocol::ResponseError::TopicAuthorizationFailed
                                            .code(),
                                    )
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1);
                            }
                            match end_offset(broker, &t.topic, p) {
                                Ok((epoch, offset)) => {
                                    r.with_leader_epoch(epoch).with_end_offset(offset)
                                }
                                Err(e) => r
                                    .with_error_code(ctx.error_code(&e))
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1),
                            }
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
