//! The log crate's single error type, and the one place the crate reports a
//! full disk (`ENOSPC`) in the broker's log: [`note_write_error`] logs it
//! clearly once per burst, not once per failed request, and
//! [`note_write_ok`] logs when writes succeed again.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// A follower's fetched batch whose base offset is below the log end
    /// offset or not above the previous batch's last offset (the fetch does
    /// not continue this log: the caller truncates or refetches). Nothing
    /// was written.
    #[error(
        "replicated batch at offset {got} out of order (expected at least {expected_at_least})"
    )]
    OffsetOutOfOrder {
        /// The lowest base offset the batch could have had.
        expected_at_least: i64,
        /// Its base offset.
        got: i64,
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
    /// A batch in a segment file whose header does not parse (bytes damaged
    /// on disk). Reads serve the batches before it and fail at it.
    #[error("corrupt record batch at position {position} of a segment: {reason}")]
    CorruptBatch {
        /// Byte position of the damaged batch in its `.log` file.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
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

/// True when `e` says the file system is full (`ENOSPC`, or `EDQUOT`: a quota).
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(28) | Some(122)) || e.kind() == io::ErrorKind::StorageFull
}

/// Minimum time between two "no space left" log lines.
const NO_SPACE_LOG_INTERVAL_MS: u64 = 10_000;
/// Set while writes fail for lack of space (cleared by the next good write).
static NO_SPACE: AtomicBool = AtomicBool::new(false);
/// When the last "no space left" line was logged (ms since the epoch).
static NO_SPACE_LOGGED_MS: AtomicU64 = AtomicU64::new(0);
/// Failures not logged since the last line.
static NO_SPACE_SUPPRESSED: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Reports a failed write of `what` to `path`: a full disk is logged as an
/// error at the start of a burst of such failures and then at most every
/// ten seconds with the number of failures in between; other errors are
/// left to the caller.
pub fn note_write_error(path: &Path, what: &str, e: &io::Error) {
    if !is_no_space(e) {
        return;
    }
    let first = !NO_SPACE.swap(true, Ordering::AcqRel);
    let now = now_ms();
    let last = NO_SPACE_LOGGED_MS.load(Ordering::Acquire);
    let due = first || now.saturating_sub(last) >= NO_SPACE_LOG_INTERVAL_MS;
    if due
        && NO_SPACE_LOGGED_MS
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        let more = NO_SPACE_SUPPRESSED.swap(0, Ordering::AcqRel);
        tracing::error!(
            path = %path.display(),
            write = what,
            failures_since_last_report = more,
            "no space left on device: writes to the log are refused \
             (produce answers KAFKA_STORAGE_ERROR) until space is freed; reads continue"
        );
    } else {
        NO_SPACE_SUPPRESSED.fetch_add(1, Ordering::AcqRel);
    }
}

/// Reports a successful log write: after a burst of "no space" failures,
/// logs once that writes work again. One relaxed load otherwise.
pub fn note_write_ok(path: &Path) {
    if NO_SPACE.load(Ordering::Relaxed) && NO_SPACE.swap(false, Ordering::AcqRel) {
        let more = NO_SPACE_SUPPRESSED.swap(0, Ordering::AcqRel);
        NO_SPACE_LOGGED_MS.store(0, Ordering::Release);
        tracing::info!(
            path = %path.display(),
            failures_since_last_report = more,
            "log writes succeed again after running out of disk space"
        );
    }
}
