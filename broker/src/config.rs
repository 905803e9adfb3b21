//! Broker configuration: flags, environment variables and a Kafka
//! `server.properties` file.
//!
//! Precedence, lowest to highest: built-in defaults, the `--config` file
//! (Kafka's `key=value` properties format with Kafka's key names, so an
//! operator's existing file carries over), `MEMORYSTREAMER_*` environment
//! variables, command-line flags (including `--override key=value`).
//!
//! DESIGN §9 mentions a TOML file; Kafka's properties format was chosen
//! instead because the users we serve already have `server.properties` files
//! and the keys are Kafka's either way.
//!
//! Where things are: the resolved types live here ([`BrokerConfig`]);
//! `args` is the command line, `parse` turns properties into a
//! [`BrokerConfig`], `registry` is the one registry of every broker and
//! topic key (what each does here, defaults, the topic ↔ broker fallback),
//! `keys` holds Kafka's validation of dynamic changes, DescribeConfigs
//! documentation and the docs generator, `topic` parses and validates a
//! topic's overrides, and `repository` is the component that owns the
//! static and effective configuration and derives per-topic settings and
//! DescribeConfigs values.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::BrokerError;

mod args;
mod kafka_keys;
pub mod key_types;
pub mod keys;
pub mod listener;
mod parse;
pub mod registry;
pub mod repository;
pub mod settings;
#[cfg(test)]
mod tests;
pub mod topic;

pub use args::{Args, LogFormat};
pub use listener::{Listener, ProtocolMap, SecurityProtocol};
pub use parse::parse_properties;
pub use repository::ConfigRepository;
pub use settings::{ConnectionLimits, GroupConfig, ReplicationConfig};

/// Defaults for partition logs, from `log.*` broker keys.
#[derive(Debug, Clone)]
pub struct LogDefaults {
    /// `log.segment.bytes`
    pub segment_bytes: u64,
    /// `log.roll.ms` / `log.roll.hours`
    pub segment_ms: Duration,
    /// `log.index.interval.bytes`
    pub index_interval_bytes: u64,
    /// `log.index.size.max.bytes`
    pub index_max_bytes: u64,
    /// `log.flush.interval.messages`
    pub flush_messages: Option<u64>,
    /// `log.flush.interval.ms`
    pub flush_ms: Option<Duration>,
    /// `log.flush.scheduler.interval.ms`: how often logs are checked for a
    /// due `flush.ms` (Kafka's default is "never"; here 100 ms, so that a
    /// topic's `flush.ms` takes effect without another setting).
    pub flush_scheduler_interval: Duration,
    /// `log.retention.ms` / `log.retention.minutes` / `log.retention.hours` (-1: forever)
    pub retention_ms: i64,
    /// `log.retention.bytes` (-1: no limit)
    pub retention_bytes: i64,
    /// `log.retention.check.interval.ms`
    pub retention_check_interval: Duration,
    /// `log.cleanup.policy`: default `cleanup.policy` of topics.
    pub cleanup_policy: String,
    /// `log.cleaner.enable`: run the compaction cleaner.
    pub cleaner_enable: bool,
    /// `log.cleaner.backoff.ms`: pause between cleaner passes over all logs.
    pub cleaner_backoff: Duration,
    /// `log.cleaner.dedupe.buffer.size`: memory for the key map of a pass.
    pub cleaner_dedupe_buffer_size: u64,
    /// `log.cleaner.io.max.bytes.per.second` (None: unlimited).
    pub cleaner_io_max_bytes_per_second: Option<f64>,
    /// `log.cleaner.delete.retention.ms`: default `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// `log.cleaner.min.compaction.lag.ms`
    pub min_compaction_lag_ms: i64,
    /// `log.cleaner.max.compaction.lag.ms`
    pub max_compaction_lag_ms: i64,
    /// `log.cleaner.min.cleanable.ratio`
    pub min_cleanable_ratio: f64,
    /// `log.message.timestamp.type`: default `message.timestamp.type`.
    pub message_timestamp_type: String,
    /// `compression.type` (broker level): default of topics.
    pub compression_type: String,
}

/// The resolved configuration of a broker.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `node.id`
    pub node_id: i32,
    /// `log.dirs` (the first one; one data directory per node for now)
    pub data_dir: PathBuf,
    /// `listeners`
    pub listeners: Vec<Listener>,
    /// `advertised.listeners`
    pub advertised_listeners: Vec<Listener>,
    /// The name of the advertised listener other brokers reach this one
    /// on (`inter.broker.listener.name` / `security.inter.broker.protocol`).
    pub inter_broker_listener: String,
    /// `num.partitions`
    pub num_partitions: i32,
    /// `default.replication.factor`
    pub default_replication_factor: i16,
    /// `auto.create.topics.enable`
    pub auto_create_topics: bool,
    /// `message.max.bytes`: largest record batch accepted.
    pub message_max_bytes: usize,
    /// `socket.request.max.bytes`: largest request frame accepted.
    pub socket_request_max_bytes: usize,
    /// `connections.max.idle.ms`, `max.connections`,
    /// `max.connections.per.ip`, `queued.max.request.bytes`.
    pub connections: ConnectionLimits,
    /// `log.*` defaults for partition logs.
    pub log: LogDefaults,
    /// Output format of the broker's logs.
    pub log_format: LogFormat,
    /// `offsets.topic.num.partitions`
    pub offsets_topic_partitions: i32,
    /// `offsets.topic.segment.bytes`: segment size of `__consumer_offsets`
    /// (small segments let the cleaner compact it sooner).
    pub offsets_topic_segment_bytes: u64,
    /// Transaction coordinator settings (`transaction.*` keys).
    pub txn: TxnConfig,
    /// `metrics.addr`: where `/metrics` is served; None when "off".
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// `metrics.topic.labels`: label traffic counters by topic (true) or
    /// count every topic under `topic="_all"` (false) to bound cardinality.
    pub metrics_topic_labels: bool,
    /// Group coordinator settings (`group.*` keys).
    pub group: GroupConfig,
    /// Replication settings (`replica.*`, `min.insync.replicas`, the
    /// internal topics' replication factors, leader election keys).
    pub replication: ReplicationConfig,
    /// `broker.rack`: this broker's rack (None: unset), registered with the
    /// broker so placement spreads replicas over racks.
    pub rack: Option<String>,
    /// `controller.listener`: where the metadata-quorum listener binds.
    pub controller_listener: String,
    /// The controller listener's name and security protocol (from
    /// `controller.listener.names` and `listener.security.protocol.map`),
    /// at the `controller.listener` address: PLAINTEXT, or SSL for mutual
    /// TLS between quorum voters.
    pub controller_security: Listener,
    /// `broker.session.timeout.ms`: a broker silent for this long is fenced.
    pub broker_session_timeout: Duration,
    /// `broker.heartbeat.interval.ms`: how often this node heartbeats the
    /// quorum voters (capped at a quarter of the session by the quorum).
    pub broker_heartbeat_interval: Duration,
    /// `controller.quorum.election.timeout.ms`: a voter that hears no
    /// quorum leader for a random time in [this, 1.5 × this) stands for
    /// election; the Raft heartbeat is a tenth of it
    /// (`quorum::RaftTimeouts` in the raft crate).
    pub quorum_election_timeout: Duration,
    /// `controller.quorum.voters`: node id → controller address. Always
    /// holds at least this node (a single-node cluster by default).
    pub quorum_voters: std::collections::BTreeMap<u64, String>,
    /// The Kafka-named properties this configuration was built from.
    pub props: BTreeMap<String, String>,
    /// The output format the configuration was built with.
    pub log_format_setting: LogFormat,
}

/// Transaction coordinator settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// `transaction.state.log.num.partitions` (default 50).
    pub state_log_partitions: i32,
    /// `transaction.state.log.segment.bytes` (default 100 MiB).
    pub state_log_segment_bytes: u64,
    /// `transaction.max.timeout.ms`: largest `transaction.timeout.ms` a
    /// producer may ask for (default 900000).
    pub max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how
    /// often expired transactions are looked for (default 10000).
    pub abort_check_interval: Duration,
    /// `transactional.id.expiration.ms`: a transactional id with no
    /// transaction for this long is forgotten (default 7 days).
    pub transactional_id_expiration_ms: i64,
    /// `producer.id.expiration.ms`: a producer id idle this long loses its
    /// deduplication state in each partition (default 1 day).
    pub producer_id_expiration_ms: i64,
}

impl BrokerConfig {
    /// This configuration with dynamic broker configs layered on top, in
    /// Kafka's precedence: per-broker over cluster default over static.
    /// Only live keys ([`registry::is_live`]) are applied (other dynamic keys
    /// are stored and described, not applied; [`keys::validate_dynamic`]
    /// checks a change).
    /// Fails (naming the key) when a value is invalid.
    pub fn with_dynamic(
        &self,
        cluster_default: &[(String, String)],
        per_broker: &[(String, String)],
    ) -> Result<BrokerConfig, BrokerError> {
        let mut props = self.props.clone();
        for (k, v) in cluster_default.iter().chain(per_broker) {
            if registry::is_live(k) {
                props.insert(k.clone(), v.clone());
            }
        }
        let mut c = BrokerConfig::from_properties(&props, self.log_format_setting).map_err(
            |e| match e {
                BrokerError::Config(m) => BrokerError::ConfigChangeRefused(m),
                other => other,
            },
        )?;
        // The static properties stay the base for the next change.
        c.props = self.props.clone();
        Ok(c)
    }
}
