//! Fetch (key 1): whole batches from the fetch offset, long-polling on the
//! partitions' append notifications until `min_bytes` are available or
//! `max_wait_ms` passes.
//!
//! KIP-74: the response holds at most `max_bytes` and each partition at most
//! `partition_max_bytes`, except that the first batch of the first partition
//! with data is returned whole even when larger, so a consumer always makes
//! progress. A fetch offset in the middle of a batch returns that whole
//! batch. `records` is empty bytes, never null, when there is nothing.
//!
//! `read_committed` (isolation level 1) stops at the last stable offset and
//! lists the aborted transactions overlapping the returned records, so the
//! client drops their records; control batches are returned as stored.
//!
//! A fetch with a replica id (a follower, `replica_state` from v15) reads up
//! to the log end instead of the high watermark, and tells the leader where
//! the follower's log ends (moving the high watermark, see
//! `crate::replica::partition`); a follower whose last fetched epoch does
//! not match this log gets `diverging_epoch` instead of records (KIP-320).
//! Only the leader serves fetches; `current_leader_epoch` is checked
//! (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
//!
//! Fetch sessions (KIP-227) are answered with session id 0 ("no session"),
//! which every client handles by sending full fetches. Reads come from the
//! page cache with `pread` on the connection's task; there is no
//! zero-copy sendfile path yet.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::select_all;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::ResponseError;
use tokio::sync::futures::Notified;
use tokio::time::Instant;
use uuid::Uuid;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;
use crate::replica::partition::{Partition, Role};

/// Longest wait a client may ask for (guards against absurd values).
const MAX_WAIT_CAP: Duration = Duration::from_secs(300);

struct Target {
    topic_index: usize,
    partition: i32,
    fetch_offset: i64,
    max_bytes: usize,
    found: Option<Arc<Partition>>,
    error: Option<ResponseError>,
    /// A follower replica fetching: reads up to the log end.
    follower: bool,
    /// KIP-320: the follower's log diverges; (epoch, end offset) to send
    /// instead of records.
    diverging: Option<(i32, i64)>,
}

/// The replica id of a fetch: a broker's node id for a follower, negative
/// for a consumer (v15+ carries it in `replica_state`).
fn replica_id(version: i16, req: &FetchRequest) -> i32 {
    if version >= 15 {
        req.replica_state.replica_id.0
    } else {
        req.replica_id.0
    }
}

/// Checks one partition of a fetch and, for a follower, records where its
/// log ends (which may move the high watermark) and whether it diverges.
fn check_partition(
    part: &Partition,
    replica: i32,
    p: &kafka_protocol::messages::fetch_request::FetchPartition,
) -> Result<Option<(i32, i64)>, BrokerError> {
    // Only the leader serves fetches (no KIP-392 follower fetching).
    if part.role() != Role::Leader {
        return Err(BrokerError::NotLeaderOrFollower);
    }
    super::epoch::check_current_leader_epoch(part.leader_epoch(), p.current_leader_epoch)?;
    if replica < 0 {
        return Ok(None);
    }
    if let Some(diverging) = part.divergence(p.last_fetched_epoch, p.fetch_offset) {
        return Ok(Some(diverging));
    }
    part.on_follower_fetch(replica, p.fetch_offset)?;
    Ok(None)
}

/// Resolves the request's partitions once; the wait loop re-reads them.
fn resolve(
    broker: &Broker,
    ctx: &RequestContext<'_>,
    req: &FetchRequest,
) -> (Vec<(String, Uuid)>, Vec<Target>) {
    let version = ctx.version();
    let mut topics = Vec::with_capacity(req.topics.len());
    let mut targets = Vec::new();
    let by_id = version >= 13;
    let replica = replica_id(version, req);
    // Kafka: a follower needs CLUSTER_ACTION on the cluster (else every
    // partition is refused); a consumer READ on each topic, checked after
    // the id resolved and before existence.
    let follower_allowed = replica < 0
        || ctx.authorize(
            broker,
            AclOperation::ClusterAction,
            ResourceType::Cluster,
            CLUSTER_NAME,
        );
    for (ti, t) in req.topics.iter().enumerate() {
        let name = if by_id {
            broker
                .metadata()
                .topic_by_id(&t.topic_id)
                .map(|x| x.name.clone())
        } else {
            Some(t.topic.to_string())
        };
        topics.push((name.clone().unwrap_or_default(), t.topic_id));
        let allowed = follower_allowed
            && name.as_deref().is_some_and(|n| {
                replica >= 0 || ctx.authorize(broker, AclOperation::Read, ResourceType::Topic, n)
            });
        for p in &t.partitions {
            let mut diverging = None;
            let (found, error) = match &name {
                _ if !follower_allowed => (None, Some(ResponseError::TopicAuthorizationFailed)),
                None => (None, Some(ResponseError::UnknownTopicId)),
                Some(_) if !allowed => (None, Some(ResponseError::TopicAuthorizationFailed)),
                Some(n) => match broker
                    .local_partition(n, p.partition)
                    .and_then(|part| check_partition(&part, replica, p).map(|d| (part, d)))
                {
                    Ok((part, d)) => {
                        diverging = d;
                        (Some(part), None)
                    }
                    Err(e) => (None, Some(e.response_error())),
                },
            };
            targets.push(Target {
                topic_index: ti,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                found,
                error,
                follower: replica >= 0,
                diverging,
            });
        }
    }
    (topics, targets)
}

/// Reads every target once; returns per-target data and the byte total.
fn read_all(
    targets: &[Target],
    max_bytes: usize,
    read_committed: bool,
) -> (Vec<PartitionData>, usize, bool) {
    let mut out = Vec::with_capacity(targets.len());
    let mut total = 0usize;
    let mut any_error = false;
    for t in targets {
        let pd = PartitionData::default()
            .with_partition_index(t.partition)
            .with_records(Some(Bytes::new()))
            .with_aborted_transactions(Some(Vec::new()));
        let Some(p) = &t.found else {
            any_error = true;
            out.push(
                pd.with_error_code(
                    t.error
                        .unwrap_or(ResponseError::UnknownTopicOrPartition)
                        .code(),
                )
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1),
            );
            continue;
        };
        if let Some((epoch, end_offset)) = t.diverging {
            out.push(
                pd.with_high_watermark(p.high_watermark())
                    .with_last_stable_offset(p.last_stable_offset())
                    .with_log_start_offset(p.log_start_offset())
                    .with_diverging_epoch(
                        EpochEndOffset::default()
                            .with_epoch(epoch)
                            .with_end_offset(end_offset),
                    ),
            );
            // Answered at once: the follower truncates before fetching on.
            any_error = true;
            continue;
        }
        let budget = t.max_bytes.min(max_bytes.saturating_sub(total));
        let at_least_one = total == 0;
        let read = if t.follower {
            p.read_for_follower(t.fetch_offset, budget, at_least_one)
        } else {
            p.read(t.fetch_offset, budget, at_least_one, read_committed)
        };
        match read {
            Ok(r) => {
                total += r.records.len();
                let aborted = read_committed.then(|| {
                    r.aborted
                        .iter()
                        .map(|a| {
                            AbortedTransaction::default()
                                .with_producer_id(ProducerId(a.producer_id))
                                .with_first_offset(a.first_offset)
                        })
                        .collect()
                });
                out.push(
                    pd.with_high_watermark(r.high_watermark)
                        .with_last_stable_offset(r.last_stable_offset)
                        .with_log_start_offset(r.log_start_offset)
                        .with_aborted_transactions(aborted)
                        .with_records(Some(r.records)),
                );
            }
            Err(e) => {
                any_error = true;
                out.push(
                    pd.with_error_code(e.code())
                        .with_high_watermark(p.high_watermark())
                        .with_last_stable_offset(p.last_stable_offset())
                        .with_log_start_offset(p.log_start_offset()),
                );
            }
        }
    }
    (out, total, any_error)
}

/// Records in whole batches, from their headers (no decoding).
fn count_records(bytes: &[u8]) -> u64 {
    memorystreamer_log::batch::Batches::new(bytes)
        .map_while(Result::ok)
        .map(|(h, _)| h.records_count.max(0) as u64)
        .sum()
}

/// Answers once `min_bytes` are available, an error occurs or
/// `max_wait_ms` passes.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: FetchRequest,
) -> FetchResponse {
    let (topics, targets) = resolve(broker, ctx, &req);
    let max_bytes = usize::try_from(req.max_bytes).unwrap_or(0);
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0).max(1);
    let wait = Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0)).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    let read_committed = req.isolation_level == 1;
    let watched: Vec<Arc<Partition>> = targets.iter().filter_map(|t| t.found.clone()).collect();
    let data = loop {
        // Register for wake-ups before reading, so an append between the
        // read and the wait is not missed.
        let mut notified: Vec<Pin<Box<Notified<'_>>>> = watched
            .iter()
            .map(|p| Box::pin(p.appended().notified()))
            .collect();
        for n in &mut notified {
            n.as_mut().enable();
        }
        let (data, total, any_error) = read_all(&targets, max_bytes, read_committed);
        if total >= min_bytes || any_error || notified.is_empty() || Instant::now() >= deadline {
            break data;
        }
        if tokio::time::timeout_at(deadline, select_all(notified))
            .await
            .is_err()
        {
            break read_all(&targets, max_bytes, read_committed).0;
        }
    };
    let mut responses: Vec<FetchableTopicResponse> = topics
        .iter()
        .map(|(name, id)| {
            FetchableTopicResponse::default()
                .with_topic(TopicName(sb(name)))
                .with_topic_id(*id)
        })
        .collect();
    for (t, pd) in targets.iter().zip(data) {
        // Count only what is sent (a long poll may have read several times).
        if pd.error_code != 0 {
            crate::metrics::fetch_error(pd.error_code);
        } else if let (Some(p), Some(records)) = (&t.found, &pd.records) {
            if !records.is_empty() {
                p.metrics.bytes_out.increment(records.len() as u64);
                p.metrics.records_out.increment(count_records(records));
            }
        }
        if let Some(r) = responses.get_mut(t.topic_index) {
            r.partitions.push(pd);
        }
    }
    FetchResponse::default().with_responses(responses)
}
