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
    /// `min.insync.replicas` (the topic's, else the broker's): in-sync
    /// replicas an `acks=all` produce needs (NOT_ENOUGH_REPLICAS below it).
    pub min_insync_replicas: i32,
}

/// Replication settings (Kafka's broker keys and defaults), read at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// `offsets.topic.replication.factor` (default 3): `__consumer_offsets`'s
    /// replication factor, capped by the live brokers at creation.
    pub offsets_topic_replication_factor: i16,
    /// `transaction.state.log.replication.factor` (default 3), capped like
    /// the offsets topic's.
    pub transaction_state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr` (default 2): `__transaction_state`'s
    /// `min.insync.replicas` (capped by its replication factor here).
    pub transaction_state_log_min_isr: i32,
    /// `min.insync.replicas` (default 1): the broker default of the topic
    /// key; a partition reads its effective value from
    /// [`PartitionSettings::min_insync_replicas`].
    pub min_insync_replicas: i32,
    /// `replica.lag.time.max.ms` (default 30 s): a follower that has not
    /// caught up to the leader's log end for this long leaves the ISR.
    pub lag_time_max: Duration,
    /// `replica.fetch.max.bytes` (default 1 MiB): bytes a follower asks per
    /// partition in one fetch.
    pub fetch_max_bytes: i32,
    /// `replica.fetch.wait.max.ms` (default 500 ms): a follower fetch's
    /// `max_wait_ms` (below `replica.lag.time.max.ms`).
    pub fetch_wait_max: Duration,
    /// `replica.fetch.min.bytes` (default 1): a follower fetch's
    /// `min_bytes`.
    pub fetch_min_bytes: i32,
    /// `num.replica.fetchers` (default 1): fetcher connections per source
    /// broker.
    pub num_fetchers: usize,
    /// `unclean.leader.election.enable`: always false here (true is refused
    /// at start-up): a leader is only elected from the ISR.
    pub unclean_leader_election: bool,
    /// `auto.leader.rebalance.enable` (default true): move leadership back
    /// to the preferred replica.
    pub auto_leader_rebalance: bool,
    /// `leader.imbalance.check.interval.seconds` (default 300 s).
    pub leader_imbalance_check_interval: Duration,
    /// `leader.imbalance.per.broker.percentage` (default 10): a broker's
    /// share of partitions not led by their preferred replica above which
    /// the rebalance runs.
    pub leader_imbalance_per_broker_percentage: u32,
    /// `controlled.shutdown.enable` (default true): SIGTERM moves leadership
    /// off the node before it exits.
    pub controlled_shutdown: bool,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            offsets_topic_replication_factor: 3,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            min_insync_replicas: 1,
            lag_time_max: Duration::from_millis(30_000),
            fetch_max_bytes: 1_048_576,
            fetch_wait_max: Duration::from_millis(500),
            fetch_min_bytes: 1,
            num_fetchers: 1,
            unclean_leader_election: false,
            auto_leader_rebalance: true,
            leader_imbalance_check_interval: Duration::from_secs(300),
            leader_imbalance_per_broker_percentage: 10,
            controlled_shutdown: true,
        }
    }
}
