//! Produce (key 0): validate each partition's single RecordBatch v2 header
//! and CRC, append it unchanged apart from offset and leader epoch, answer.
//!
//! The task that decoded the request appends and answers it (DESIGN §2): no
//! hand-off to another thread. Records are never decoded. `acks=0` gets no
//! response at all; `acks=1` and `acks=-1` are answered after the write
//! (one replica: the high watermark is the log end).

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use memorystreamer_protocol_kafka::records::validate_produce_records;
use memorystreamer_protocol_kafka::request::Header;
use memorystreamer_protocol_kafka::ProtocolError;
use tracing::debug;

use super::{respond, sb, Reply};
use crate::broker::Broker;
use crate::error::BrokerError;
use crate::partition::AppendOutcome;

fn produce_partition(
    broker: &Broker,
    topic: &str,
    index: i32,
    records: Option<&[u8]>,
    acks: i16,
) -> Result<AppendOutcome, BrokerError> {
    if !(-1..=1).contains(&acks) {
        return Err(BrokerError::InvalidRequiredAcks(acks));
    }
    let partition = broker.local_partition(topic, index)?;
    let records = records.unwrap_or(&[]);
    let max_message_bytes = broker.effective().message_max_bytes;
    if records.len() > max_message_bytes.saturating_mul(2).saturating_add(1 << 20) {
        // Grossly oversized: don't even CRC it.
        return Err(BrokerError::MessageTooLarge {
            size: records.len(),
            max: max_message_bytes,
        });
    }
    let h = validate_produce_records(records)?;
    if h.is_transactional() {
        return Err(BrokerError::InvalidRequest(
            "transactional produce is not supported yet".into(),
        ));
    }
    partition.append(records)
}

pub fn handle(
    broker: &Arc<Broker>,
    header: &Header,
    req: ProduceRequest,
) -> Result<Reply, ProtocolError> {
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for td in &req.topic_data {
        // v13 (KIP-516) names topics by id.
        let name = if header.version() >= 13 {
            broker
                .metadata()
                .topic_by_id(&td.topic_id)
                .map(|t| t.name.clone())
                .unwrap_or_default()
        } else {
            td.name.to_string()
        };
        let mut partitions = Vec::with_capacity(td.partition_data.len());
        for pd in &td.partition_data {
            let resp = PartitionProduceResponse::default().with_index(pd.index);
            let outcome = if name.is_empty() && header.version() >= 13 {
                Err(BrokerError::UnknownTopicId)
            } else {
                produce_partition(broker, &name, pd.index, pd.records.as_deref(), req.acks)
            };
            partitions.push(match outcome {
                Ok(AppendOutcome::Appended(info, append_time)) => resp
                    .with_base_offset(info.base_offset)
                    .with_log_append_time_ms(append_time.unwrap_or(-1))
                    .with_log_start_offset(info.log_start_offset),
                Ok(AppendOutcome::Duplicate {
                    base_offset,
                    log_start_offset,
                }) => resp
                    .with_base_offset(base_offset)
                    .with_log_start_offset(log_start_offset),
                Err(e) => {
                    debug!(topic = %name, partition = pd.index, error = %e, "produce rejected");
                    crate::metrics::produce_error(e.code());
                    let resp = resp
                        .with_error_code(e.code())
                        .with_base_offset(-1)
                        .with_log_start_offset(-1);
                    if header.version() >= 8 {
                        resp.with_error_message(Some(sb(&e.to_string())))
                    } else {
                        resp
                    }
                }
            });
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(td.name.clone())
                .with_topic_id(td.topic_id)
                .with_partition_responses(partitions),
        );
    }
    if req.acks == 0 {
        return Ok(Reply::None);
    }
    respond(
        header,
        &ProduceResponse::default().with_responses(responses),
    )
}
