//! Produced record sets: validation of the RecordBatch v2 bytes a producer
//! sends, and record-level lookups for the rare paths that need them.
//!
//! Validation here looks at the batch header, the CRC and the batch
//! boundaries; the partition then walks every record
//! (`memorystreamer_log::records::validate_produced`), as Kafka's log
//! validator does. The record-level lookups for ListOffsets use the log's
//! capped walker too: nothing here hands untrusted batches to
//! `kafka-protocol`'s record decoder, which trusts declared counts.

use memorystreamer_log::records::for_each_record;
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

/// Largest decompressed records section ListOffsets walks through in one
/// stored batch (as the produce path caps what it accepts).
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Each record of a stored batch as (offset, timestamp), through the log's
/// capped walker: a hostile record count or a decompression bomb is an
/// error, never an allocation.
fn visit_records(batch: &[u8], mut visit: impl FnMut(i64, i64)) -> Result<(), ProtocolError> {
    let h = BatchHeader::parse(batch)?;
    for_each_record(&h, batch, MAX_DECOMPRESSED_BYTES, |_, r| {
        visit(r.offset(&h), r.timestamp(&h));
        Ok(())
    })
    .map_err(ProtocolError::InvalidRecords)?;
    Ok(())
}

/// Offset of the first record in `batch` whose timestamp is >= `timestamp`
/// and whose offset is >= `min_offset` (the log start offset).
pub fn first_offset_at_or_after(
    batch: &[u8],
    timestamp: i64,
    min_offset: i64,
) -> Result<Option<(i64, i64)>, ProtocolError> {
    let mut found = None;
    visit_records(batch, |offset, ts| {
        if found.is_none() && ts >= timestamp && offset >= min_offset {
            found = Some((offset, ts));
        }
    })?;
    Ok(found)
}

/// Offset and timestamp of the first record holding the largest timestamp.
pub fn offset_of_max_timestamp(batch: &[u8]) -> Result<Option<(i64, i64)>, ProtocolError> {
    let mut best: Option<(i64, i64)> = None;
    visit_records(batch, |offset, ts| {
        if best.is_none_or(|(_, b)| ts > b) {
            best = Some((offset, ts));
        }
    })?;
    Ok(best)
}
