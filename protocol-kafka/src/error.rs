//! The protocol crate's single error type.

use kafka_protocol::messages::ApiKey;
use memorystreamer_log::LogError;

/// What can go wrong turning bytes into requests and responses into bytes.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The 4-byte size prefix announces more than the broker accepts
    /// (`socket.request.max.bytes`). The connection is closed, as in Kafka.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Announced size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A negative size prefix.
    #[error("negative frame size {0}")]
    NegativeFrameSize(i32),
    /// A frame too short to hold a request header.
    #[error("request header truncated ({0} bytes)")]
    TruncatedHeader(usize),
    /// An API key this broker does not know.
    #[error("unknown API key {api_key}")]
    UnknownApiKey {
        /// Key from the header.
        api_key: i16,
        /// Correlation id from the header.
        correlation_id: i32,
    },
    /// A known API at a version outside the supported range.
    #[error("unsupported version {version} of {api_key:?}")]
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// Version from the header.
        version: i16,
        /// Correlation id from the header.
        correlation_id: i32,
    },
    /// A header or body that does not decode.
    #[error("malformed {api_key:?} v{version} request: {reason}")]
    Malformed {
        /// The API.
        api_key: ApiKey,
        /// Version from the header.
        version: i16,
        /// Correlation id from the header.
        correlation_id: i32,
        /// What the decoder reported.
        reason: String,
    },
    /// A response that could not be encoded (a broker bug, never client input).
    #[error("cannot encode {api_key:?} v{version} response: {reason}")]
    Encode {
        /// The API.
        api_key: ApiKey,
        /// Version being encoded.
        version: i16,
        /// What the encoder reported.
        reason: String,
    },
    /// A produced record set that is not acceptable.
    #[error("invalid records: {0}")]
    InvalidRecords(#[from] LogError),
    /// More or fewer than one batch in a v3+ produce partition.
    #[error("produce requests of version 3 or later carry exactly one record batch per partition, got {0}")]
    BatchCount(usize),
    /// Records that the Kafka codec cannot decode (for the few paths that
    /// look at individual records).
    #[error("cannot decode records: {0}")]
    RecordDecode(String),
}
