//! DescribeQuorum (key 55, KIP-595/KIP-836/KIP-853): the metadata quorum as
//! the `__cluster_metadata` partition 0 — leader, epoch (the Raft term),
//! high watermark (one past the last committed Raft index), each voter's log
//! end offset and its last fetch / last caught-up times — plus, from v2, the
//! voters' controller endpoints.
//!
//! Kafka answers it on the active controller and brokers forward it there;
//! here every node is a voter, the leader answers from its own Raft state
//! (`Quorum::status`) and any other node forwards the request to the
//! leader's Kafka listener. A request that already was forwarded is never
//! forwarded again, so two nodes with stale views cannot bounce it; what
//! cannot be answered is NOT_CONTROLLER, which the Java admin client retries
//! after refreshing its metadata.
//!
//! Voters are static (`controller.quorum.voters`), so directory ids are the
//! zero Uuid as in Kafka, and there are no observers. Unknown values are -1,
//! as in Kafka.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, TopicName,
};
use kafka_protocol::ResponseError;
use tracing::debug;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

/// The metadata topic's name, as Kafka's admin client expects it.
const METADATA_TOPIC: &str = "__cluster_metadata";

/// Name of the controller listener in v2 node endpoints.
const CONTROLLER_LISTENER: &str = "CONTROLLER";

/// Longest a forwarded request waits for the leader.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Answers DescribeQuorum: from local Raft state on the leader, else by
/// forwarding to the leader.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    // DESCRIBE on the cluster, else the whole request is refused.
    if !ctx.authorize(
        broker,
        AclOperation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        return DescribeQuorumResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code());
    }
    let asks_metadata = req.topics.len() == 1
        && req.topics[0].topic_name.0.as_str() == METADATA_TOPIC
        && req.topics[0].partitions.len() == 1
        && req.topics[0].partitions[0].partition_index == 0;
    if !asks_metadata {
        return unknown_partitions(&req);
    }
    let quorum = broker.quorum();
    let status = match quorum.status().await {
        Ok(s) => s,
        Err(e) => return top_error(ResponseError::NotController, &e.to_string()),
    };
    if status.is_leader {
        return answer(&status, ctx.version());
    }
    let forwarded = ctx.client_id() == crate::interbroker::CLIENT_ID;
    let Some(leader) = status.leader_id.and_then(|l| i32::try_from(l).ok()) else {
        return top_error(
            ResponseError::NotController,
            "no metadata quorum leader known",
        );
    };
    if forwarded {
        return top_error(
            ResponseError::NotController,
            "this node does not lead the metadata quorum",
        );
    }
    let Some((_, host, port)) = broker
        .cache
        .live_brokers(&broker.config.inter_broker_listener)
        .into_iter()
        .find(|(id, _, _)| *id == leader)
    else {
        return top_error(
            ResponseError::NotController,
            "the metadata quorum leader has no live Kafka listener",
        );
    };
    let version = ctx.version();
    match crate::interbroker::call::<_, DescribeQuorumResponse>(
        &broker.dialer,
        &host,
        port,
        ApiKey::DescribeQuorum,
        version,
        &req,
        FORWARD_TIMEOUT,
    )
    .await
    {
        Ok(resp) => resp,
        Err(e) => {
            debug!(leader, error = %e, "DescribeQuorum not forwarded");
            top_error(ResponseError::NotController, &e.to_string())
        }
    }
}

fn top_error(error: ResponseError, message: &str) -> DescribeQuorumResponse {
    DescribeQuorumResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(sb(message)))
}

/// Kafka's answer to anything but `__cluster_metadata-0`: every requested
/// partition with UNKNOWN_TOPIC_OR_PARTITION.
fn unknown_partitions(req: &DescribeQuorumRequest) -> DescribeQuorumResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            TopicData::default()
                .with_topic_name(t.topic_name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            PartitionData::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                                .with_leader_id(BrokerId(-1))
                                .with_leader_epoch(-1)
                                .with_high_watermark(-1)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeQuorumResponse::default().with_topics(topics)
}

fn to_i64(v: Option<u64>) -> i64 {
    v.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)
}

/// The leader's answer from its own status, with only the fields `version`
/// has (the encoder refuses a set field the version lacks): times from v1,
/// nodes from v2.
fn answer(
    status: &memorystreamer_raft::quorum::QuorumStatus,
    version: i16,
) -> DescribeQuorumResponse {
    let voters = status
        .voters
        .iter()
        .map(|v| {
            ReplicaState::default()
                .with_replica_id(BrokerId(i32::try_from(v.node_id).unwrap_or(-1)))
                .with_log_end_offset(to_i64(v.log_end_offset))
                .with_last_fetch_timestamp(v.last_fetch_ms.filter(|_| version >= 1).unwrap_or(-1))
                .with_last_caught_up_timestamp(
                    v.last_caught_up_ms.filter(|_| version >= 1).unwrap_or(-1),
                )
        })
        .collect();
    let nodes = status
        .voters
        .iter()
        .filter(|_| version >= 2)
        .map(|v| {
            let listeners = v
                .address
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
                .map(|(host, port)| {
                    Listener::default()
                        .with_name(sb(CONTROLLER_LISTENER))
                        .with_host(sb(host.trim_start_matches('[').trim_end_matches(']')))
                        .with_port(port)
                })
                .into_iter()
                .collect();
            Node::default()
                .with_node_id(BrokerId(i32::try_from(v.node_id).unwrap_or(-1)))
                .with_listeners(listeners)
        })
        .collect();
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(
            status
                .leader_id
                .and_then(|l| i32::try_from(l).ok())
                .unwrap_or(-1),
        ))
        .with_leader_epoch(i32::try_from(status.term).unwrap_or(i32::MAX))
        .with_high_watermark(to_i64(status.high_watermark))
        .with_current_voters(voters);
    DescribeQuorumResponse::default()
        .with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(sb(METADATA_TOPIC)))
            .with_partitions(vec![partition])])
        .with_nodes(nodes)
}
