//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch, used by
//! clients (KIP-320) to detect log truncation. Every partition here has
//! epoch 0 (one replica, no elections yet): epoch 0 ends at the log end
//! offset; a newer current epoch is UNKNOWN_LEADER_EPOCH, an older one
//! FENCED_LEADER_EPOCH; an unknown requested epoch answers -1/-1.

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    _ctx: &RequestContext<'_>,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            let r = EpochEndOffset::default().with_partition(p.partition);
                            let part = match broker.local_partition(&t.topic, p.partition) {
                                Ok(part) => part,
                                Err(e) => {
                                    return r
                                        .with_error_code(e.code())
                                        .with_leader_epoch(-1)
                                        .with_end_offset(-1)
                                }
                            };
                            let epoch = part.leader_epoch();
                            if p.current_leader_epoch > epoch {
                                return r
                                    .with_error_code(ResponseError::UnknownLeaderEpoch.code())
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1);
                            }
                            if p.current_leader_epoch >= 0 && p.current_leader_epoch < epoch {
                                return r
                                    .with_error_code(ResponseError::FencedLeaderEpoch.code())
                                    .with_leader_epoch(-1)
                                    .with_end_offset(-1);
                            }
                            if p.leader_epoch == epoch {
                                r.with_leader_epoch(epoch)
                                    .with_end_offset(part.high_watermark())
                            } else {
                                r.with_leader_epoch(-1).with_end_offset(-1)
                            }
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
