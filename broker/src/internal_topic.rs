//! Record batches of the internal compacted topics the coordinators keep
//! their state in (`__consumer_offsets`, `__transaction_state`): encoding a
//! batch of key/value records, and replaying a hosted partition on start.
//!
//! Not here: the record schemas (each coordinator's `records` module) or
//! what a replayed record means.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::error::BrokerError;
use crate::partition::Partition;

/// One uncompressed batch of `kvs` (a None value is a tombstone) stamped
/// `now_ms`; with a producer (id, epoch) it is that producer's
/// transactional batch, without sequence numbers (as Kafka's coordinators
/// write them).
pub fn encode_batch(
    topic: &str,
    kvs: Vec<(Bytes, Option<Bytes>)>,
    producer: Option<(i64, i16)>,
) -> Result<BytesMut, BrokerError> {
    let ts = crate::now_ms();
    let records: Vec<Record> = kvs
        .into_iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: producer.is_some(),
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.map_or(-1, |p| p.0),
            producer_epoch: producer.map_or(-1, |p| p.1),
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder takes the batch's base sequence from the first
            // record: -1 (none), and keeps offset - sequence constant.
            sequence: i as i32 - 1,
            timestamp: ts,
            key: Some(key),
            value,
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| BrokerError::InvalidRequest(format!("cannot encode {topic} batch: {e}")))?;
    Ok(buf)
}

/// Calls `f` with every record of `p` from its log start to its high
/// watermark (transactional and control records included), in offset
/// order. Returns how many records there were.
pub fn replay(p: &Partition, mut f: impl FnMut(&Record)) -> Result<usize, BrokerError> {
    let mut records = 0usize;
    let mut offset = p.log_start_offset();
    while offset < p.high_watermark() {
        let read = p.read(offset, 1 << 20, true, false)?;
        if read.records.is_empty() {
            break;
        }
        let mut buf = read.records.clone();
        while !buf.is_empty() {
            let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| {
                BrokerError::InvalidRequest(format!("corrupt {} batch: {e}", p.topic))
            })?;
            for r in set.records {
                offset = offset.max(r.offset + 1);
                records += 1;
                f(&r);
            }
        }
    }
    Ok(records)
}
