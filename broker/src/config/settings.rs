//! Plain settings structs that lower-level components take from the broker
//! configuration (so those components depend on `config`, never the other
//! way round). Parsing lives in `parse.rs` and defaults in `registry.rs`;
//! this module holds only the types.

use std::time::Duration;

/// Kafka's connection limits (static broker configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `connections.max.idle.ms` (default 10 minutes; negative: never).
    pub max_idle: Option<Duration>,
    /// `max.connections`: open client connections across listeners
    /// (default `i32::MAX`).
    pub max_connections: usize,
    /// `max.connections.per.ip` (default `i32::MAX`).
    pub max_connections_per_ip: usize,
    /// `queued.max.request.bytes`: bytes of requests being read or processed
    /// across connections; not positive means unbounded (default -1).
    pub queued_max_request_bytes: i64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_idle: Some(Duration::from_millis(600_000)),
            max_connections: i32::MAX as usize,
            max_connections_per_ip: i32::MAX as usize,
            queued_max_request_bytes: -1,
        }
    }
}

/// Coordinator settings (Kafka's broker keys and defaults).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`
    pub min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`
    pub max_session_timeout: Duration,
    /// `group.initial.rebalance.delay.ms`
    pub initial_rebalance_delay: Duration,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout: Duration::from_millis(6_000),
            max_session_timeout: Duration::from_millis(1_800_000),
            initial_rebalance_delay: Duration::from_millis(3_000),
        }
    }
}

/// Largest decompressed records section the broker works on (key checks on
/// compacted topics, recompression, compaction). Producers' batches are far
/// smaller; the cap stops a small compressed batch from expanding into
/// gigabytes in the broker's memory.
pub const MAX_DECOMPRESSED_BYTES: usize = 64 << 20;

/// Per-topic settings the partition enforces itself (derived by
/// `super::ConfigRepository::partition_settings`).
#[derive(Debug, Clone)]
pub struct PartitionSettings {
    /// `max.message.bytes`: largest batch accepted.
    pub max_message_bytes: usize,
    /// `cleanup.policy` includes `compact`: records must have keys.
    pub compacted: bool,
    /// `message.timestamp.type=LogAppendTime`.
    pub log_append_time: bool,
    /// `compression.type`: None keeps the producer's codec, else the codec
    /// batches are stored with.
    pub compression: Option<i16>,
}
