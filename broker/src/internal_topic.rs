//! Record batches of the internal compacted topics the coordinators keep
//! their state in (`__consumer_offsets`, `__transaction_state`): encoding a
//! batch of key/value records, and replaying a partition a coordinator
//! loads (when this node becomes its leader).
//!
//! Replay never prevents start-up: it parses batches with the log crate's
//! capped parser (CRC, bounded decompression, record count and structure
//! checked, nothing allocated from a declared count), and a batch that does
//! not decode, or a region that cannot be read, is logged with topic,
//! partition and offset and skipped; replay goes on with what follows. The
//! coordinators' callbacks run inside a `replay{topic, partition}` tracing
//! span, so their warnings about undecodable keys and values name the
//! partition too.
//!
//! Not here: the record schemas (each coordinator's `records` module) or
//! what a replayed record means.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use memorystreamer_log::batch::Batches;
use memorystreamer_log::records::{parse_records, records_section};
use memorystreamer_log::{BatchHeader, LogError};
use tracing::warn;

use crate::error::BrokerError;
use crate::replica::partition::Partition;

/// Bytes read from the log per replay step.
const REPLAY_WINDOW: usize = 1 << 20;
/// Most bytes one replayed batch may decompress to.
const REPLAY_DECOMPRESSED_CAP: usize = 64 * 1024 * 1024;

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

/// The records of one stored batch, checked as a consumer would need them
/// (CRC, capped decompression, record structure and count). Headers are
/// not carried over: no coordinator record has any.
fn batch_records(h: &BatchHeader, batch: &[u8]) -> Result<Vec<Record>, LogError> {
    BatchHeader::validate(batch)?;
    let section = records_section(h, batch, REPLAY_DECOMPRESSED_CAP)?;
    let raws = parse_records(h, &section)?;
    Ok(raws
        .iter()
        .map(|r| Record {
            transactional: h.is_transactional(),
            control: h.is_control(),
            delete_horizon: false,
            partition_leader_epoch: h.partition_leader_epoch,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            timestamp_type: if h.is_log_append_time() {
                TimestampType::LogAppend
            } else {
                TimestampType::Creation
            },
            offset: r.offset(h),
            sequence: if h.base_sequence < 0 {
                -1
            } else {
                h.base_sequence.wrapping_add(r.offset_delta)
            },
            timestamp: r.timestamp(h),
            key: r.key.map(Bytes::copy_from_slice),
            value: r.value.map(Bytes::copy_from_slice),
            headers: Default::default(),
        })
        .collect())
}

/// Calls `f` with every record of `p` from its log start to its log end
/// (transactional and control records included), in offset order. Returns
/// how many records there were. Like Kafka's coordinator loader it reads to
/// the log end, not the high watermark: a new leader's high watermark may
/// lag records the in-sync replicas already hold (and the old coordinator
/// acknowledged) until its followers fetch again.
///
/// An undecodable batch is logged (topic, partition, offset, why) and
/// skipped. Where the log cannot be read at all at some offset (a
/// malformed batch header), replay probes forward in doubling steps to the
/// next readable offset, logging the skipped range. Only a failure to read
/// the partition's bounds is returned as an error.
pub fn replay(p: &Partition, mut f: impl FnMut(&Record)) -> Result<usize, BrokerError> {
    let span = tracing::info_span!("replay", topic = %p.topic, partition = p.index);
    let _entered = span.enter();
    let mut records = 0usize;
    let mut offset = p.log_start_offset();
    let end = p.log_end_offset();
    // Doubles while reads at the cursor make no progress.
    let mut step = 1i64;
    while offset < end {
        let before = offset;
        let mut problem = None;
        // Where the last undecodable batch ends, when its header is
        // self-consistent enough to believe.
        let mut skip_to = None;
        match p.read_for_follower(offset, REPLAY_WINDOW, true) {
            Ok(read) if read.records.is_empty() => break,
            Ok(read) => {
                let window = &read.records[..];
                for item in Batches::new(window) {
                    let (h, range) = match item {
                        Ok(b) => b,
                        Err(e) => {
                            problem = Some(e.to_string());
                            break;
                        }
                    };
                    if h.last_offset() < offset {
                        continue;
                    }
                    match batch_records(&h, &window[range]) {
                        Ok(batch) => {
                            for r in batch.iter().filter(|r| r.offset >= offset) {
                                records += 1;
                                f(r);
                            }
                            offset = h.last_offset() + 1;
                        }
                        // Not advanced past: its header is not trusted. A
                        // later batch of the window moves the cursor on.
                        Err(e) => {
                            warn!(
                                topic = %p.topic,
                                partition = p.index,
                                offset = h.base_offset,
                                error = %e,
                                "skipping an undecodable batch of an internal topic"
                            );
                            let consistent = h.last_offset_delta >= 0
                                && i64::from(h.records_count) == i64::from(h.last_offset_delta) + 1;
                            skip_to = consistent.then(|| h.last_offset().saturating_add(1));
                        }
                    }
                }
            }
            Err(e) => problem = Some(e.to_string()),
        }
        if let Some(next) = skip_to.filter(|n| offset == before && *n > before && *n <= end) {
            offset = next;
        }
        if offset > before {
            step = 1;
            continue;
        }
        let next = before.saturating_add(step).min(end);
        warn!(
            topic = %p.topic,
            partition = p.index,
            offset = before,
            next,
            error = problem.as_deref().unwrap_or("no decodable batch"),
            "skipping unreadable records of an internal topic"
        );
        step = step.saturating_mul(2);
        offset = next;
    }
    Ok(records)
}
