//! ListOffsets (key 2): offsets by timestamp.
//!
//! Special timestamps: -1 latest (high watermark, or the last stable offset
//! for read_committed, equal without transactions), -2 earliest, -3 the
//! record with the largest timestamp, -4 earliest local (= earliest: there
//! is no tiered storage), -5 latest tiered (none: earliest-1 semantics as in
//! Kafka without remote storage, i.e. -1/-1). A real timestamp finds the
//! first record at or after it through the time index; one later than
//! every record answers offset -1, timestamp -1.
//!
//! Only the leader answers (NOT_LEADER_OR_FOLLOWER on a follower), except
//! for Kafka's debugging replica id -2; the request's
//! `current_leader_epoch` is checked first (FENCED_LEADER_EPOCH /
//! UNKNOWN_LEADER_EPOCH, [`super::epoch`]). The leader epoch answered
//! (v4+) is Kafka's: the current one for LATEST, the first cached one for
//! EARLIEST, the found batch's for timestamp lookups.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::records::{first_offset_at_or_after, offset_of_max_timestamp};

use super::epoch::check_current_leader_epoch;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;
use crate::replica::partition::{Partition, Role};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;
/// Kafka's `ListOffsetsRequest.DEBUGGING_REPLICA_ID`.
const DEBUGGING_REPLICA_ID: i32 = -2;

/// The result of one lookup: timestamp, offset and the leader epoch
/// reported with it.
type Found = (i64, i64, i32);

/// The epoch of a batch as stored (-1 when it carries none).
fn batch_epoch(h: &memorystreamer_log::batch::BatchHeader) -> i32 {
    h.partition_leader_epoch.max(-1)
}

/// One lookup, on the leader (or any replica for a debugging request).
fn lookup(
    p: &Partition,
    timestamp: i64,
    read_committed: bool,
    current_leader_epoch: i32,
    leader_only: bool,
) -> Result<Found, BrokerError> {
    check_current_leader_epoch(p.leader_epoch(), current_leader_epoch)?;
    if leader_only && p.role() != Role::Leader {
        return Err(BrokerError::NotLeaderOrFollower);
    }
    let found = lookup_any(p, timestamp, read_committed)?;
    // read_committed never points past the last stable offset (Kafka answers
    // "no offset" for a timestamp lookup that lands there).
    let by_time = timestamp >= 0 || timestamp == MAX_TIMESTAMP;
    if read_committed && by_time && found.1 >= p.last_stable_offset() {
        return Ok((-1, -1, -1));
    }
    Ok(found)
}

/// The epoch reported with each answer is Kafka's: the partition's current
/// leader epoch for LATEST, the epoch cache's first epoch for EARLIEST, the
/// epoch stored in the batch found for a timestamp or MAX_TIMESTAMP.
fn lookup_any(p: &Partition, timestamp: i64, read_committed: bool) -> Result<Found, BrokerError> {
    Ok(match timestamp {
        LATEST if read_committed => (-1, p.last_stable_offset(), p.leader_epoch()),
        LATEST => (-1, p.high_watermark(), p.leader_epoch()),
        EARLIEST | EARLIEST_LOCAL => (-1, p.log_start_offset(), p.earliest_epoch().unwrap_or(-1)),
        LATEST_TIERED => (-1, -1, -1),
        MAX_TIMESTAMP => match p.max_timestamp_batch()? {
            Some((h, bytes)) => {
                let (ts, o) = offset_of_max_timestamp(&bytes)?
                    .map(|(o, ts)| (ts, o))
                    .unwrap_or((h.max_timestamp, h.base_offset));
                (ts, o, batch_epoch(&h))
            }
            None => (-1, -1, -1),
        },
        ts if ts < 0 => {
            return Err(BrokerError::InvalidRequest(format!(
                "unknown special timestamp {ts}"
            )));
        }
        ts => match p.batch_by_timestamp(ts)? {
            Some((h, bytes)) => {
                let (t, o) = first_offset_at_or_after(&bytes, ts, p.log_start_offset())?
                    .map(|(o, t)| (t, o))
                    .unwrap_or((h.max_timestamp, h.base_offset.max(p.log_start_offset())));
                (t, o, batch_epoch(&h))
            }
            None => (-1, -1, -1),
        },
    })
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    // leader_epoch exists from v4 on; the codec refuses it earlier.
    let with_epoch = ctx.version() >= 4;
    // Consumers (replica id -1) and followers read offsets from the leader
    // only; Kafka's debugging replica id (-2) may ask any replica.
    let leader_only = req.replica_id != DEBUGGING_REPLICA_ID;
    // As Kafka: a partition named more than once is answered once, with
    // INVALID_REQUEST.
    let repeated = super::repeated(req.topics.iter().flat_map(|t| {
        t.partitions
            .iter()
            .map(|rp| (t.name.as_str(), rp.partition_index))
    }));
    let mut answered = std::collections::HashSet::<(&str, i32)>::new();
    let topics = req
        .topics
        .iter()
        .map(|t| {
            // DESCRIBE on the topic, before duplicates and existence.
            let allowed =
                ctx.authorize(broker, AclOperation::Describe, ResourceType::Topic, &t.name);
            let partitions = t
                .partitions
                .iter()
                .filter(|rp| answered.insert((t.name.as_str(), rp.partition_index)))
                .map(|rp| {
                    let resp = ListOffsetsPartitionResponse::default()
                        .with_partition_index(rp.partition_index);
                    if !allowed {
                        return resp
                            .with_error_code(ResponseError::TopicAuthorizationFailed.code())
                            .with_timestamp(-1)
                            .with_offset(-1)
                            .with_leader_epoch(-1);
                    }
                    if repeated.contains(&(t.name.as_str(), rp.partition_index)) {
                        return resp
                            .with_error_code(ResponseError::InvalidRequest.code())
                            .with_timestamp(-1)
                            .with_offset(-1)
                            .with_leader_epoch(-1);
                    }
                    let result = broker
                        .local_partition(&t.name, rp.partition_index)
                        .and_then(|p| {
                            lookup(
                                &p,
                                rp.timestamp,
                                req.isolation_level == 1,
                                rp.current_leader_epoch,
                                leader_only,
                            )
                        });
                    match result {
                        // No offset found: no epoch either (as Kafka).
                        Ok((timestamp, offset, epoch)) => resp
                            .with_timestamp(timestamp)
                            .with_offset(offset)
                            .with_leader_epoch(if offset < 0 || !with_epoch { -1 } else { epoch }),
                        Err(e) => resp
                            .with_error_code(ctx.error_code(&e))
                            .with_leader_epoch(-1)
                            .with_timestamp(-1)
                            .with_offset(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
