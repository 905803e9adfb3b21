//! WriteTxnMarkers (key 27): a transaction coordinator on another broker
//! asks this partition leader to append commit or abort markers.
//!
//! Not here: deciding when markers are written (the coordinator,
//! [`crate::txn`]) nor writing them to local partitions
//! (`Broker::write_txn_marker`).

use std::sync::Arc;

use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

/// WriteTxnMarkers: append the markers to local partitions.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    // Kafka 4.1: ALTER (an admin aborting a hanging transaction) or
    // CLUSTER_ACTION (brokers) on the cluster, else every partition is
    // refused.
    let allowed = ctx.authorize(
        broker,
        AclOperation::Alter,
        ResourceType::Cluster,
        CLUSTER_NAME,
    ) || ctx.authorize(
        broker,
        AclOperation::ClusterAction,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let markers = req
        .markers
        .iter()
        .map(|m| {
            let topics = m
                .topics
                .iter()
                .map(|t| {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|p| {
                            if !allowed {
                                return WritableTxnMarkerPartitionResult::default()
                                    .with_partition_index(*p)
                                    .with_error_code(
                                        kafka_protocol::ResponseError::ClusterAuthorizationFailed
                                            .code(),
                                    );
                            }
                            let r = broker.write_txn_marker(
                                &t.name,
                                *p,
                                m.producer_id.0,
                                m.producer_epoch,
                                m.transaction_result,
                                m.coordinator_epoch,
                            );
                            WritableTxnMarkerPartitionResult::default()
                                .with_partition_index(*p)
                                .with_error_code(ctx.result_code(&r))
                        })
                        .collect();
                    WritableTxnMarkerTopicResult::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
            WritableTxnMarkerResult::default()
                .with_producer_id(m.producer_id)
                .with_topics(topics)
        })
        .collect();
    WriteTxnMarkersResponse::default().with_markers(markers)
}
