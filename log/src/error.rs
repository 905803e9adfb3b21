//! The log crate's single error type.

use std::io;

/// Everything that can go wrong in the segment log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An I/O error from the file system.
    #[error("log I/O error: {0}")]
    Io(#[from] io::Error),
    /// Fewer bytes than a complete batch header or batch needs.
    #[error("record batch truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes that were present.
        available: usize,
    },
    /// Magic byte other than 2 (legacy message formats are not stored).
    #[error("unsupported record batch magic {0} (only v2 is supported)")]
    UnsupportedMagic(i8),
    /// A `batchLength` smaller than a header.
    #[error("invalid record batch length {0}")]
    InvalidLength(i32),
    /// CRC32C over attributes..end does not match the header.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// Record count inconsistent with the offset delta.
    #[error("invalid record count {0}")]
    InvalidRecordCount(i32),
    /// Requested offset outside `[log_start_offset, log_end_offset]`.
    #[error("offset {offset} out of range [{start}, {end}]")]
    OffsetOutOfRange {
        /// Offset asked for.
        offset: i64,
        /// Log start offset.
        start: i64,
        /// Log end offset.
        end: i64,
    },
    /// The batch repeats one already appended; carries the original offsets.
    #[error("duplicate batch from producer {producer_id}, originally at offset {base_offset}")]
    DuplicateSequence {
        /// Producer id of the batch.
        producer_id: i64,
        /// Base offset the batch got when first appended.
        base_offset: i64,
    },
    /// A sequence gap or reordering for an idempotent producer.
    #[error("out of order sequence {got} from producer {producer_id} (expected {expected})")]
    OutOfOrderSequence {
        /// Producer id of the batch.
        producer_id: i64,
        /// Sequence the broker expected next.
        expected: i32,
        /// Sequence the batch carries.
        got: i32,
    },
    /// The batch carries an epoch older than the producer's current one.
    #[error("producer {producer_id} epoch {got} is older than current epoch {current}")]
    ProducerFenced {
        /// Producer id of the batch.
        producer_id: i64,
        /// Current epoch.
        current: i16,
        /// Epoch in the batch.
        got: i16,
    },
    /// A transactional batch that is not part of a transaction the
    /// coordinator verified (KIP-890), or one whose epoch does not match the
    /// producer's open transaction here.
    #[error("producer {producer_id}: {reason}")]
    InvalidTxnState {
        /// Producer id of the batch.
        producer_id: i64,
        /// What does not fit.
        reason: &'static str,
    },
    /// A produce request with more than one batch for an idempotent producer,
    /// or an otherwise unusable batch layout.
    #[error("invalid record batch layout: {0}")]
    InvalidBatchLayout(&'static str),
    /// A compressed records section that cannot be decompressed (or would
    /// decompress past the allowed size), or a codec that cannot compress.
    #[error("compression: {0}")]
    Codec(String),
    /// Records inside a batch that do not parse (lengths, varints, count).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// An index or segment file that cannot be used.
    #[error("corrupt log file {path}: {reason}")]
    Corrupt {
        /// File that is damaged.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Result alias for the log crate.
pub type Result<T, E = LogError> = std::result::Result<T, E>;
