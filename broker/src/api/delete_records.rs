//! DeleteRecords (key 21): moves partitions' log start offsets forward
//! (-1 = up to the high watermark); whole segments below it are deleted,
//! the new start is durable, and fetches below it get OFFSET_OUT_OF_RANGE.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            // DELETE on the topic, before its existence.
            let allowed = ctx.authorize(broker, AclOperation::Delete, ResourceType::Topic, &t.name);
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let r = DeleteRecordsPartitionResult::default()
                                .with_partition_index(p.partition_index);
                            if !allowed {
                                return r
                                    .with_error_code(
                                        kafka_protocol::ResponseError::TopicAuthorizationFailed
                                            .code(),
                                    )
                                    .with_low_watermark(-1);
                            }
                            match broker
                                .local_partition(&t.name, p.partition_index)
                                .and_then(|part| part.delete_records(p.offset))
                            {
                                Ok(start) => r.with_low_watermark(start),
                                Err(e) => r.with_error_code(e.code()).with_low_watermark(-1),
                            }
                        })
                        .collect(),
                )
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
