//! DescribeCluster (key 60): cluster id, controller and brokers.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::broker::Broker;

pub fn handle(broker: &Arc<Broker>, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let node = broker.config.node_id;
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
    let brokers = broker
        .config
        .advertised_listeners
        .first()
        .map(|l| {
            vec![DescribeClusterBroker::default()
                .with_broker_id(BrokerId(node))
                .with_host(sb(&l.host))
                .with_port(i32::from(l.port))]
        })
        .unwrap_or_default();
    DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(sb(&broker.cluster_id))
        .with_controller_id(BrokerId(node))
        .with_brokers(brokers)
}
