//! DescribeProducers (key 61): the idempotent and transactional producer
//! state of partitions this broker leads (`kafka-transactions.sh
//! describe-producers`).
//!
//! Not here: the producer state itself (the partition's log keeps it).

use std::sync::Arc;

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

/// DescribeProducers: the producer state of local partitions.
pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            // READ on the topic, before its existence.
            let allowed = ctx.authorize(broker, AclOperation::Read, ResourceType::Topic, &t.name);
            let partitions = t
                .partition_indexes
                .iter()
                .map(|p| {
                    let r = PartitionResponse::default().with_partition_index(*p);
                    if !allowed {
                        let e = crate::error::BrokerError::TopicAuthorizationFailed;
                        return r
                            .with_error_code(e.code())
                            .with_error_message(Some(sb(&e.to_string())));
                    }
                    match broker.local_partition(&t.name, *p) {
                        Ok(part) => r.with_active_producers(
                            part.producers()
                                .into_iter()
                                .map(|s| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(s.producer_id))
                                        .with_producer_epoch(i32::from(s.epoch))
                                        .with_last_sequence(s.last_sequence)
                                        .with_last_timestamp(s.last_timestamp)
                                        .with_coordinator_epoch(s.coordinator_epoch)
                                        .with_current_txn_start_offset(s.current_txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => r
                            .with_error_code(e.code())
                            .with_error_message(Some(sb(&e.to_string()))),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
