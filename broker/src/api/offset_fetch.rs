//! OffsetFetch (key 9): committed offsets with their metadata, for listed
//! partitions or (topics = null) every committed partition; v8+ asks for
//! several groups at once; v10 names topics by id. A partition without a
//! commit answers offset -1. With `require_stable` (KIP-447, v7+), a
//! partition with a transactional commit still undecided answers
//! UNSTABLE_OFFSET_COMMIT, and the client retries.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::group::records::OffsetValue;

type Fetched = Vec<((String, i32), Option<OffsetValue>)>;
/// One topic's partitions with their committed offsets.
type TopicOffsets = (String, Vec<(i32, Option<OffsetValue>)>);

/// Groups results by topic, keeping first-seen order.
fn by_topic(rows: Fetched) -> Vec<TopicOffsets> {
    let mut out: Vec<TopicOffsets> = Vec::new();
    for ((t, p), v) in rows {
        match out.iter_mut().find(|(n, _)| *n == t) {
            Some((_, ps)) => ps.push((p, v)),
            None => out.push((t, vec![(p, v)])),
        }
    }
    out
}

/// The topics among `rows` the principal may not DESCRIBE. For an
/// all-partitions fetch their rows are removed (Kafka drops them
/// silently); for named partitions they stay, to be answered
/// TOPIC_AUTHORIZATION_FAILED with no offset.
fn denied_topics(
    broker: &Broker,
    ctx: &RequestContext<'_>,
    rows: &mut Fetched,
    all: bool,
) -> HashSet<String> {
    let mut denied = HashSet::new();
    let mut allowed = HashSet::new();
    for ((t, _), _) in rows.iter() {
        if denied.contains(t) || allowed.contains(t) {
            continue;
        }
        if ctx.authorize(broker, AclOperation::Describe, ResourceType::Topic, t) {
            allowed.insert(t.clone());
        } else {
            denied.insert(t.clone());
        }
    }
    if all {
        rows.retain(|((t, _), _)| !denied.contains(t));
        denied.clear();
    }
    denied
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let version = ctx.version();
    let with_epoch = version >= 5;
    if version < 8 {
        // The top-level error code exists from v2 on; older clients see no
        // offsets from a non-coordinator.
        let code = if ctx.authorize(
            broker,
            AclOperation::Describe,
            ResourceType::Group,
            &req.group_id,
        ) {
            broker.coordinator_error(&req.group_id)
        } else {
            ResponseError::GroupAuthorizationFailed.code()
        };
        if code != 0 {
            let r = OffsetFetchResponse::default();
            return if version >= 2 {
                r.with_error_code(code)
            } else {
                r
            };
        }
        let wanted: Option<Vec<(String, i32)>> = req.topics.as_ref().map(|ts| {
            ts.iter()
                .flat_map(|t| {
                    t.partition_indexes
                        .iter()
                        .map(move |p| (t.name.to_string(), *p))
                })
                .collect()
        });
        let mut rows = broker
            .groups
            .fetch_offsets(&req.group_id, wanted.as_deref());
        let denied = denied_topics(broker, ctx, &mut rows, wanted.is_none());
        let pending = if req.require_stable {
            broker.groups.pending_partitions(&req.group_id)
        } else {
            Default::default()
        };
        let topics = by_topic(rows)
            .into_iter()
            .map(|(t, ps)| {
                let unstable: Vec<bool> = ps
                    .iter()
                    .map(|(p, _)| pending.contains(&(t.clone(), *p)))
                    .collect();
                let refused = denied.contains(&t);
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(sb(&t)))
                    .with_partitions(
                        ps.into_iter()
                            .zip(unstable)
                            .map(|((p, v), unstable)| {
                                let r =
                                    OffsetFetchResponsePartition::default().with_partition_index(p);
                                if refused {
                                    return r
                                        .with_committed_offset(-1)
                                        .with_metadata(Some(sb("")))
                                        .with_error_code(
                                            ResponseError::TopicAuthorizationFailed.code(),
                                        );
                                }
                                if unstable {
                                    return r.with_committed_offset(-1).with_error_code(
                                        kafka_protocol::ResponseError::UnstableOffsetCommit.code(),
                                    );
                                }
                                match v {
                                    Some(v) => r
                                        .with_committed_offset(v.offset)
                                        .with_committed_leader_epoch(if with_epoch {
                                            v.leader_epoch
                                        } else {
                                            -1
                                        })
                                        .with_metadata(Some(sb(&v.metadata))),
                                    None => r.with_committed_offset(-1).with_metadata(Some(sb(""))),
                                }
                            })
                            .collect(),
                    )
            })
            .collect();
        return OffsetFetchResponse::default().with_topics(topics);
    }
    let by_id = version >= 10;
    let image = broker.cache.image();
    let groups = req
        .groups
        .iter()
        .map(|g| {
            let code = if ctx.authorize(
                broker,
                AclOperation::Describe,
                ResourceType::Group,
                &g.group_id,
            ) {
                broker.coordinator_error(&g.group_id)
            } else {
                ResponseError::GroupAuthorizationFailed.code()
            };
            if code != 0 {
                return OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(code);
            }
            let wanted: Option<Vec<(String, i32)>> = g.topics.as_ref().map(|ts| {
                ts.iter()
                    .flat_map(|t| {
                        let name = if by_id {
                            image
                                .topic_by_id(&t.topic_id)
                                .map(|x| x.name.clone())
                                .unwrap_or_default()
                        } else {
                            t.name.to_string()
                        };
                        t.partition_indexes.iter().map(move |p| (name.clone(), *p))
                    })
                    .collect()
            });
            let mut rows = broker.groups.fetch_offsets(&g.group_id, wanted.as_deref());
            let denied = denied_topics(broker, ctx, &mut rows, wanted.is_none());
            let pending = if req.require_stable {
                broker.groups.pending_partitions(&g.group_id)
            } else {
                Default::default()
            };
            let topics = by_topic(rows)
                .into_iter()
                .map(|(t, ps)| {
                    let unstable: Vec<bool> = ps
                        .iter()
                        .map(|(p, _)| pending.contains(&(t.clone(), *p)))
                        .collect();
                    let id = image.topic(&t).map(|x| x.topic_id).unwrap_or(Uuid::nil());
                    let refused = denied.contains(&t);
                    OffsetFetchResponseTopics::default()
                        .with_name(TopicName(sb(&t)))
                        .with_topic_id(id)
                        .with_partitions(
                            ps.into_iter()
                                .zip(unstable)
                                .map(|((p, v), unstable)| {
                                    let r = OffsetFetchResponsePartitions::default()
                                        .with_partition_index(p);
                                    if refused {
                                        return r
                                            .with_committed_offset(-1)
                                            .with_metadata(Some(sb("")))
                                            .with_error_code(
                                                ResponseError::TopicAuthorizationFailed.code(),
                                            );
                                    }
                                    if unstable {
                                        return r.with_committed_offset(-1).with_error_code(
                                            kafka_protocol::ResponseError::UnstableOffsetCommit
                                                .code(),
                                        );
                                    }
                                    match v {
                                        Some(v) => r
                                            .with_committed_offset(v.offset)
                                            .with_committed_leader_epoch(v.leader_epoch)
                                            .with_metadata(Some(sb(&v.metadata))),
                                        None => {
                                            r.with_committed_offset(-1).with_metadata(Some(sb("")))
                                        }
                                    }
                                })
                                .collect(),
                        )
                })
                .collect();
            OffsetFetchResponseGroup::default()
                .with_group_id(g.group_id.clone())
                .with_topics(topics)
        })
        .collect();
    OffsetFetchResponse::default().with_groups(groups)
}
