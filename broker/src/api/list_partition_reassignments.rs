//! ListPartitionReassignments (key 46): the reassignments under way, read
//! from the metadata image, as `kafka-reassign-partitions.sh --list` /
//! `--verify` and `Admin.listPartitionReassignments` ask for them. `topics`
//! null lists every one; listed topics and partitions that do not exist or
//! are not being reassigned are left out, as Kafka's controller does.
//! `replicas` is the full set during the move (target then removing).

use std::sync::Arc;

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use memorystreamer_raft::{PartitionImage, TopicImage};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

fn ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().map(|b| BrokerId(*b)).collect()
}

fn ongoing(p: &PartitionImage) -> Option<OngoingPartitionReassignment> {
    if p.adding_replicas.is_empty() && p.removing_replicas.is_empty() {
        return None;
    }
    Some(
        OngoingPartitionReassignment::default()
            .with_partition_index(p.partition)
            .with_replicas(ids(&p.replicas))
            .with_adding_replicas(ids(&p.adding_replicas))
            .with_removing_replicas(ids(&p.removing_replicas)),
    )
}

fn topic_entry(
    t: &TopicImage,
    partitions: Vec<OngoingPartitionReassignment>,
) -> Option<OngoingTopicReassignment> {
    (!partitions.is_empty()).then(|| {
        OngoingTopicReassignment::default()
            .with_name(TopicName(sb(&t.name)))
            .with_partitions(partitions)
    })
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    // DESCRIBE on the cluster, else the whole request is refused.
    if !ctx.authorize(
        broker,
        AclOperation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) {
        return ListPartitionReassignmentsResponse::default()
            .with_error_code(kafka_protocol::ResponseError::ClusterAuthorizationFailed.code());
    }
    let image = broker.metadata();
    let topics: Vec<OngoingTopicReassignment> = match &req.topics {
        None => image
            .topics()
            .filter_map(|t| topic_entry(t, t.partitions.iter().filter_map(ongoing).collect()))
            .collect(),
        Some(asked) => asked
            .iter()
            .filter_map(|a| {
                let t = image.topic(&a.name.0)?;
                let partitions = a
                    .partition_indexes
                    .iter()
                    .filter_map(|i| usize::try_from(*i).ok().and_then(|i| t.partitions.get(i)))
                    .filter_map(ongoing)
                    .collect();
                topic_entry(t, partitions)
            })
            .collect(),
    };
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}
