//! Produced record sets: validation of the RecordBatch v2 bytes a producer
//! sends, and record-level lookups for the rare paths that need them.
//!
//! Validation looks only at batch headers and the CRC (DESIGN §2); the
//! record-level helpers decode with `kafka-protocol` (decompressing as
//! needed, both framed and unframed snappy) and are for ListOffsets only,
//! never the produce or fetch path.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;
use memorystreamer_log::BatchHeader;

use crate::error::ProtocolError;

/// Validates the records of one partition of a Produce v3+ request: exactly
/// one whole RecordBatch v2 with a correct CRC and record count, and no
/// trailing bytes. Returns its header.
pub fn validate_produce_records(records: &[u8]) -> Result<BatchHeader, ProtocolError> {
    let h = BatchHeader::validate(records)?;
    if h.total_len() != records.len() {
        let extra = records.len() - h.total_len();
        return Err(match BatchHeader::parse(&records[h.total_len()..]) {
            Ok(_) => ProtocolError::BatchCount(2),
            Err(_) => ProtocolError::InvalidRecords(memorystreamer_log::LogError::Truncated {
                needed: h.total_len(),
                available: h.total_len() + extra,
            }),
        });
    }
    if h.is_control() {
        return Err(ProtocolError::InvalidRecords(
            memorystreamer_log::LogError::InvalidBatchLayout(
                "clients may not produce control batches",
            ),
        ));
    }
    Ok(h)
}

fn decode(batch: &[u8]) -> Result<Vec<kafka_protocol::records::Record>, ProtocolError> {
    let mut buf = Bytes::copy_from_slice(batch);
    let set = RecordBatchDecoder::decode(&mut buf)
        .map_err(|e| ProtocolError::RecordDecode(e.to_string()))?;
    Ok(set.records)
}

/// Offset of the first record in `batch` whose timestamp is >= `timestamp`
/// and whose offset is >= `min_offset` (the log start offset).
pub fn first_offset_at_or_after(
    batch: &[u8],
    timestamp: i64,
    min_offset: i64,
) -> Result<Option<(i64, i64)>, ProtocolError> {
    Ok(decode(batch)?
        .into_iter()
        .find(|r| r.timestamp >= timestamp && r.offset >= min_offset)
        .map(|r| (r.offset, r.timestamp)))
}

/// Offset and timestamp of the first record holding the largest timestamp.
pub fn offset_of_max_timestamp(batch: &[u8]) -> Result<Option<(i64, i64)>, ProtocolError> {
    let mut best: Option<(i64, i64)> = None;
    for r in decode(batch)? {
        if best.is_none_or(|(_, ts)| r.timestamp > ts) {
            best = Some((r.offset, r.timestamp));
        }
    }
    Ok(best)
}
