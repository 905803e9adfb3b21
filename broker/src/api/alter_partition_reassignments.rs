//! AlterPartitionReassignments (key 45): starts, replaces or cancels
//! partition reassignments, as `kafka-reassign-partitions.sh --execute` /
//! `--cancel` and `Admin.alterPartitionReassignments` ask for them. A
//! partition with `replicas` null cancels; every requested partition is
//! answered with its own error (UNKNOWN_TOPIC_OR_PARTITION,
//! INVALID_REPLICA_ASSIGNMENT, INVALID_REPLICATION_FACTOR when v1's
//! `allow_replication_factor_change` is false and the count changes,
//! NO_REASSIGNMENT_IN_PROGRESS, REQUEST_TIMED_OUT). The answer comes once
//! the records are committed, not once the data moved (as in Kafka).
//!
//! The checks and the commit are `Broker::reassign`
//! (`broker/reassign.rs`).

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::reassign::ReassignRequest;
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    // v0 has no such field: the replica count may always change.
    let allow_rf_change = ctx.header.version() == 0 || req.allow_replication_factor_change;
    // ALTER on the cluster, else the whole request is refused.
    let allowed = ctx.authorize(
        broker,
        AclOperation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let requests: Vec<ReassignRequest> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| ReassignRequest {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                target: p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()),
            })
        })
        .collect();
    let mut results = if allowed {
        broker.reassign(&requests, allow_rf_change).await
    } else {
        Vec::new()
    }
    .into_iter();
    let responses = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    if !allowed {
                        return r.with_error_code(
                            kafka_protocol::ResponseError::ClusterAuthorizationFailed.code(),
                        );
                    }
                    match results.next() {
                        Some(Err(e)) => r
                            .with_error_code(ctx.error_code(&e))
                            .with_error_message(Some(sb(&e.to_string()))),
                        _ => r,
                    }
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        .with_error_code(if allowed {
            0
        } else {
            kafka_protocol::ResponseError::ClusterAuthorizationFailed.code()
        })
        .with_allow_replication_factor_change(allow_rf_change)
        .with_responses(responses)
}
