//! DescribeCluster (key 60): cluster id, controller and the live brokers
//! (with their `broker.rack`).

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::metadata::MetadataCache;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    // endpoint_type 1 = brokers, 2 = controllers (KIP-919). A combined node
    // serves both from the same listener.
    if !matches!(req.endpoint_type, 1 | 2) {
        return DescribeClusterResponse::default()
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(sb(
                "endpoint_type must be 1 (brokers) or 2 (controllers)",
            )))
            .with_endpoint_type(req.endpoint_type);
    }
    // No check on the broker for the brokers' list; the controllers' one
    // needs ALTER on the cluster, as Kafka's controller asks.
    if req.endpoint_type == 2
        && !ctx.authorize(
            broker,
            AclOperation::Alter,
            ResourceType::Cluster,
            CLUSTER_NAME,
        )
    {
        return DescribeClusterResponse::default()
            .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
            .with_endpoint_type(req.endpoint_type);
    }
    let live = broker.cache.live_brokers(&ctx.session.listener);
    let controller_id = if req.endpoint_type == 2 {
        broker.active_controller_id(&live)
    } else {
        broker.cache.controller_id(&live)
    };
    let image = broker.cache.image();
    let brokers = live
        .into_iter()
        .map(|(id, host, port)| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(id))
                .with_host(sb(&host))
                .with_port(port)
                .with_rack(MetadataCache::rack(&image, id).map(|r| sb(&r)))
        })
        .collect();
    DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(sb(&broker.cluster_id))
        .with_controller_id(BrokerId(controller_id))
        .with_cluster_authorized_operations(ctx.authorized_operations(
            broker,
            req.include_cluster_authorized_operations,
            ResourceType::Cluster,
            CLUSTER_NAME,
            crate::authorizer::cluster_operations,
        ))
        .with_brokers(brokers)
}
