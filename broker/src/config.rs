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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use tracing::warn;

use crate::error::BrokerError;

mod kafka_keys;
pub mod keys;
pub mod settings;

pub use settings::{ConnectionLimits, GroupConfig};

/// Command-line interface of the `memorystreamer` binary.
#[derive(Debug, Parser)]
#[command(
    name = "memorystreamer",
    version,
    about = "A Kafka-compatible message broker",
    long_about = "MemoryStreamer: a message broker that existing Kafka clients use unchanged.\n\n\
        With no arguments it starts a single node with the Kafka protocol on 127.0.0.1:9092 \
        and data under ./data. Settings come from --config (Kafka server.properties format), \
        then MEMORYSTREAMER_* environment variables, then flags (flags win)."
)]
pub struct Args {
    /// A Kafka `server.properties` file (key=value, Kafka key names such as
    /// log.dirs, listeners, num.partitions, auto.create.topics.enable,
    /// log.segment.bytes, message.max.bytes). Unknown keys are reported, not fatal.
    #[arg(long, env = "MEMORYSTREAMER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for all data (`log.dirs`). Default: ./data
    #[arg(long, env = "MEMORYSTREAMER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Comma-separated listeners, e.g. PLAINTEXT://127.0.0.1:9092 (`listeners`).
    #[arg(long, env = "MEMORYSTREAMER_LISTENERS")]
    pub listeners: Option<String>,
    /// Comma-separated addresses given to clients (`advertised.listeners`).
    /// Default: the listeners, with 0.0.0.0 replaced by 127.0.0.1.
    #[arg(long, env = "MEMORYSTREAMER_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// This node's id (`node.id`). Default: 1
    #[arg(long, env = "MEMORYSTREAMER_NODE_ID")]
    pub node_id: Option<i32>,
    /// Any server.properties key, as KEY=VALUE; repeatable; wins over the file.
    #[arg(long = "override", short = 'o', value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Address of the Prometheus endpoint (`/metrics`), or "off"
    /// (`metrics.addr`). Default: 127.0.0.1:9644, or a free port when that
    /// one is taken (another node on this host); a given address must be free.
    #[arg(long, env = "MEMORYSTREAMER_METRICS_ADDR")]
    pub metrics_addr: Option<String>,
    /// Where this node's metadata-quorum (controller) listener binds, as
    /// HOST:PORT (`controller.listener`). Default: 127.0.0.1:0 for a
    /// single node; with voters, this node's address in the voter list.
    #[arg(long, env = "MEMORYSTREAMER_CONTROLLER_LISTENER")]
    pub controller_listener: Option<String>,
    /// The metadata quorum's voters as `id@host:port,...`
    /// (`controller.quorum.voters`). Without it the node is a single-node
    /// cluster of itself.
    #[arg(long, env = "MEMORYSTREAMER_CONTROLLER_QUORUM_VOTERS")]
    pub controller_quorum_voters: Option<String>,
    /// Log output format: text or json. Filter with RUST_LOG (default info).
    #[arg(long, env = "MEMORYSTREAMER_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Output format of the broker's own logs.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A listener: security protocol, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Kafka security protocol name (only PLAINTEXT today).
    pub protocol: String,
    /// Host to bind or advertise.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Listener {
    /// Parses `PROTOCOL://HOST:PORT` (HOST may be empty or a bracketed IPv6).
    pub fn parse(s: &str) -> Result<Self, BrokerError> {
        let bad = |why: &str| BrokerError::Config(format!("listener '{s}': {why}"));
        let (protocol, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected PROTOCOL://HOST:PORT"))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("missing :PORT"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("port is not a number 0-65535"))?;
        let protocol = protocol.trim().to_ascii_uppercase();
        if protocol != "PLAINTEXT" {
            return Err(bad(
                "only PLAINTEXT listeners are supported so far (SSL/SASL are on the roadmap)",
            ));
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Listener {
            protocol,
            host,
            port,
        })
    }

    fn parse_list(s: &str) -> Result<Vec<Self>, BrokerError> {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(Listener::parse)
            .collect()
    }
}

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
    /// `controller.listener`: where the metadata-quorum listener binds.
    pub controller_listener: String,
    /// `broker.session.timeout.ms`: a broker silent for this long is fenced.
    pub broker_session_timeout: Duration,
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

/// Broker keys whose run-time change (IncrementalAlterConfigs /
/// AlterConfigs on a BROKER resource, as `kafka-configs --entity-type
/// brokers` sends) MemoryStreamer applies at once: the defaults of topic
/// configs and the cleaner's budget. Every key Kafka makes dynamic
/// ([`keys::is_dynamic`]) can be changed; the others among them are stored
/// and described but not applied ([`keys::Effect`]).
pub const DYNAMIC_KEYS: &[&str] = &[
    "message.max.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.index.interval.bytes",
    "log.flush.interval.messages",
    "log.retention.ms",
    "log.retention.bytes",
    "log.cleanup.policy",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.dedupe.buffer.size",
    "log.message.timestamp.type",
    "compression.type",
];

impl BrokerConfig {
    /// This configuration with dynamic broker configs layered on top, in
    /// Kafka's precedence: per-broker over cluster default over static.
    /// Only [`DYNAMIC_KEYS`] are applied (other dynamic keys are stored and
    /// described, not applied; [`keys::validate_dynamic`] checks a change).
    /// Fails (naming the key) when a value is invalid.
    pub fn with_dynamic(
        &self,
        cluster_default: &[(String, String)],
        per_broker: &[(String, String)],
    ) -> Result<BrokerConfig, BrokerError> {
        let mut props = self.props.clone();
        for (k, v) in cluster_default.iter().chain(per_broker) {
            if DYNAMIC_KEYS.contains(&k.as_str()) {
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

/// Keys MemoryStreamer reads (they have an effect here). Every other key of
/// [`keys::KAFKA_BROKER_KEYS`] is accepted and described with no effect;
/// a key in neither is reported once at start-up ([`keys::is_known`]).
pub(crate) const KNOWN_KEYS: &[&str] = &[
    "node.id",
    "broker.id",
    "log.dirs",
    "log.dir",
    "listeners",
    "advertised.listeners",
    "num.partitions",
    "default.replication.factor",
    "auto.create.topics.enable",
    "message.max.bytes",
    "socket.request.max.bytes",
    "connections.max.idle.ms",
    "max.connections",
    "max.connections.per.ip",
    "queued.max.request.bytes",
    "log.segment.bytes",
    "log.roll.ms",
    "log.roll.hours",
    "log.index.interval.bytes",
    "log.index.size.max.bytes",
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "log.flush.scheduler.interval.ms",
    "log.retention.ms",
    "log.retention.minutes",
    "log.retention.hours",
    "log.retention.bytes",
    "log.retention.check.interval.ms",
    "log.cleanup.policy",
    "log.cleaner.enable",
    "log.cleaner.backoff.ms",
    "log.cleaner.dedupe.buffer.size",
    "log.cleaner.io.max.bytes.per.second",
    "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio",
    "log.cleaner.threads",
    "log.message.timestamp.type",
    "compression.type",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "offsets.topic.segment.bytes",
    "transaction.state.log.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.segment.bytes",
    "transaction.state.log.min.isr",
    "transaction.max.timeout.ms",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transaction.partition.verification.enable",
    "transactional.id.expiration.ms",
    "producer.id.expiration.ms",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "metrics.addr",
    "controller.listener",
    "broker.session.timeout.ms",
    "controller.quorum.voters",
    "metrics.topic.labels",
];

/// Parses Kafka's properties format: `key=value` or `key: value`, `#`/`!`
/// comments, surrounding whitespace ignored. Later keys win.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, BrokerError> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']).ok_or_else(|| {
            BrokerError::Config(format!("line {}: expected key=value, got '{line}'", n + 1))
        })?;
        let (k, v) = line.split_at(split);
        out.insert(k.trim().to_string(), v[1..].trim().to_string());
    }
    Ok(out)
}

/// Parses `controller.quorum.voters` (`id@host:port,...`) and
/// `controller.listener`. Without voters the node is its own single-voter
/// quorum on `controller.listener` (default 127.0.0.1:0: nobody else dials
/// it). With voters this node must be one of them; its listener defaults to
/// its own entry.
fn quorum_settings(
    props: &BTreeMap<String, String>,
    node_id: i32,
) -> Result<(String, std::collections::BTreeMap<u64, String>), BrokerError> {
    let me = u64::try_from(node_id)
        .map_err(|_| BrokerError::Config(format!("node.id {node_id} must not be negative")))?;
    let mut voters = std::collections::BTreeMap::new();
    if let Some(v) = props
        .get("controller.quorum.voters")
        .filter(|v| !v.trim().is_empty())
    {
        for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, addr) = item.split_once('@').ok_or_else(|| {
                BrokerError::Config(format!(
                    "controller.quorum.voters: '{item}' is not id@host:port"
                ))
            })?;
            let id: u64 = id.trim().parse().map_err(|_| {
                BrokerError::Config(format!("controller.quorum.voters: bad node id in '{item}'"))
            })?;
            let addr = addr.trim();
            if addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
            {
                return Err(BrokerError::Config(format!(
                    "controller.quorum.voters: '{addr}' is not host:port"
                )));
            }
            if voters.insert(id, addr.to_string()).is_some() {
                return Err(BrokerError::Config(format!(
                    "controller.quorum.voters: node {id} listed twice"
                )));
            }
        }
        if !voters.contains_key(&me) {
            return Err(BrokerError::Config(format!(
                "controller.quorum.voters does not list this node (node.id {node_id})"
            )));
        }
    }
    let listener = match props.get("controller.listener") {
        Some(l) => l.clone(),
        None => voters
            .get(&me)
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:0".to_string()),
    };
    if voters.is_empty() {
        voters.insert(me, listener.clone());
    } else if let Some(own) = voters.get(&me) {
        // The host may differ (bind 0.0.0.0, advertise a name); the port must not.
        let port = |a: &str| a.rsplit_once(':').map(|(_, p)| p.to_string());
        if port(own) != port(&listener) {
            return Err(BrokerError::Config(format!(
                "controller.listener {listener} does not use the port of this node's entry {own} in controller.quorum.voters"
            )));
        }
    }
    Ok((listener, voters))
}

/// A broker key that supplies a topic config's default, validated by the
/// topic config rules (so a bad broker default fails at start-up with the
/// same message a bad topic override gets).
fn topic_default(
    props: &BTreeMap<String, String>,
    broker_key: &str,
    topic_key: &str,
    default: &str,
) -> Result<String, BrokerError> {
    let Some(v) = props.get(broker_key) else {
        return Ok(default.to_string());
    };
    crate::topic_config::TopicConfig::parse(&[(topic_key.to_string(), v.clone())])
        .map_err(|e| BrokerError::Config(format!("{broker_key}: {e}")))?;
    Ok(v.clone())
}

fn parse_num<T: std::str::FromStr>(
    props: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<T>, BrokerError> {
    match props.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| BrokerError::Config(format!("{key}: '{v}' is not a valid number"))),
    }
}

impl BrokerConfig {
    /// Resolves the configuration from parsed arguments (reading `--config`).
    pub fn from_args(args: &Args) -> Result<Self, BrokerError> {
        let mut props = match &args.config {
            Some(path) => load_file(path)?,
            None => BTreeMap::new(),
        };
        for kv in &args.overrides {
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                BrokerError::Config(format!("--override '{kv}': expected KEY=VALUE"))
            })?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        if let Some(d) = &args.data_dir {
            props.insert("log.dirs".into(), d.display().to_string());
        }
        if let Some(l) = &args.listeners {
            props.insert("listeners".into(), l.clone());
        }
        if let Some(l) = &args.advertised_listeners {
            props.insert("advertised.listeners".into(), l.clone());
        }
        if let Some(m) = &args.metrics_addr {
            props.insert("metrics.addr".into(), m.clone());
        }
        if let Some(n) = args.node_id {
            props.insert("node.id".into(), n.to_string());
        }
        if let Some(l) = &args.controller_listener {
            props.insert("controller.listener".into(), l.clone());
        }
        if let Some(v) = &args.controller_quorum_voters {
            props.insert("controller.quorum.voters".into(), v.clone());
        }
        for k in props.keys() {
            if !keys::is_known(k) {
                warn!(key = %k, "unknown or not yet supported configuration key, ignored");
            }
        }
        Self::from_properties(&props, args.log_format)
    }

    /// Builds the configuration from Kafka-named properties.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
        log_format: LogFormat,
    ) -> Result<Self, BrokerError> {
        let node_id = parse_num(props, "node.id")?
            .or(parse_num(props, "broker.id")?)
            .unwrap_or(1);
        let data_dir = props
            .get("log.dirs")
            .or(props.get("log.dir"))
            .map(|d| d.split(',').next().unwrap_or("").trim().to_string())
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data"));
        let listeners = Listener::parse_list(
            props
                .get("listeners")
                .map(String::as_str)
                .unwrap_or("PLAINTEXT://127.0.0.1:9092"),
        )?;
        if listeners.is_empty() {
            return Err(BrokerError::Config(
                "listeners: at least one listener is required".into(),
            ));
        }
        let advertised_listeners = match props.get("advertised.listeners") {
            Some(s) => Listener::parse_list(s)?,
            None => listeners
                .iter()
                .map(|l| Listener {
                    host: match l.host.as_str() {
                        "" | "0.0.0.0" | "::" => "127.0.0.1".into(),
                        h => h.into(),
                    },
                    ..l.clone()
                })
                .collect(),
        };
        let bool_key = |key: &str, default: bool| -> Result<bool, BrokerError> {
            match props.get(key).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if v == "true" => Ok(true),
                Some(v) if v == "false" => Ok(false),
                Some(v) => Err(BrokerError::Config(format!(
                    "{key}: '{v}' is not true or false"
                ))),
            }
        };
        let num_partitions: i32 = parse_num(props, "num.partitions")?.unwrap_or(1);
        if num_partitions < 1 {
            return Err(BrokerError::Config(
                "num.partitions must be at least 1".into(),
            ));
        }
        let roll_ms: Option<u64> = parse_num(props, "log.roll.ms")?;
        let roll_hours: Option<u64> = parse_num(props, "log.roll.hours")?;
        let segment_ms = Duration::from_millis(
            roll_ms.unwrap_or_else(|| roll_hours.unwrap_or(168).saturating_mul(3_600_000)),
        );
        let segment_bytes: u64 = parse_num(props, "log.segment.bytes")?.unwrap_or(1 << 30);
        if segment_bytes < 14 {
            return Err(BrokerError::Config(
                "log.segment.bytes must be at least 14".into(),
            ));
        }
        let mut c = BrokerConfig {
            node_id,
            data_dir,
            listeners,
            advertised_listeners,
            num_partitions,
            default_replication_factor: parse_num(props, "default.replication.factor")?
                .unwrap_or(1),
            auto_create_topics: bool_key("auto.create.topics.enable", true)?,
            message_max_bytes: parse_num(props, "message.max.bytes")?.unwrap_or(1_048_588),
            socket_request_max_bytes: parse_num(props, "socket.request.max.bytes")?
                .unwrap_or(memorystreamer_protocol_kafka::frame::DEFAULT_MAX_FRAME),
            connections: ConnectionLimits {
                max_idle: match parse_num::<i64>(props, "connections.max.idle.ms")? {
                    Some(ms) if ms < 0 => None,
                    ms => Some(Duration::from_millis(ms.unwrap_or(600_000) as u64)),
                },
                max_connections: parse_num::<i32>(props, "max.connections")?
                    .unwrap_or(i32::MAX)
                    .max(0) as usize,
                max_connections_per_ip: parse_num::<i32>(props, "max.connections.per.ip")?
                    .unwrap_or(i32::MAX)
                    .max(0) as usize,
                queued_max_request_bytes: parse_num::<i64>(props, "queued.max.request.bytes")?
                    .unwrap_or(-1),
            },
            log: LogDefaults {
                segment_bytes,
                segment_ms,
                index_interval_bytes: parse_num(props, "log.index.interval.bytes")?.unwrap_or(4096),
                index_max_bytes: parse_num(props, "log.index.size.max.bytes")?
                    .unwrap_or(10 * 1024 * 1024),
                flush_messages: parse_num(props, "log.flush.interval.messages")?,
                flush_ms: parse_num::<u64>(props, "log.flush.interval.ms")?
                    .map(Duration::from_millis),
                flush_scheduler_interval: Duration::from_millis(
                    parse_num::<u64>(props, "log.flush.scheduler.interval.ms")?
                        .unwrap_or(100)
                        .clamp(1, 86_400_000),
                ),
                retention_ms: match parse_num::<i64>(props, "log.retention.ms")? {
                    Some(ms) => ms,
                    None => match parse_num::<i64>(props, "log.retention.minutes")? {
                        Some(m) => m.saturating_mul(60_000),
                        None => parse_num::<i64>(props, "log.retention.hours")?
                            .unwrap_or(168)
                            .saturating_mul(3_600_000),
                    },
                },
                retention_bytes: parse_num(props, "log.retention.bytes")?.unwrap_or(-1),
                retention_check_interval: Duration::from_millis(
                    parse_num::<u64>(props, "log.retention.check.interval.ms")?
                        .unwrap_or(300_000)
                        .max(1),
                ),
                cleanup_policy: topic_default(
                    props,
                    "log.cleanup.policy",
                    "cleanup.policy",
                    "delete",
                )?,
                cleaner_enable: bool_key("log.cleaner.enable", true)?,
                cleaner_backoff: Duration::from_millis(
                    parse_num::<u64>(props, "log.cleaner.backoff.ms")?
                        .unwrap_or(15_000)
                        .max(1),
                ),
                cleaner_dedupe_buffer_size: parse_num(props, "log.cleaner.dedupe.buffer.size")?
                    .unwrap_or(134_217_728),
                cleaner_io_max_bytes_per_second: parse_num::<f64>(
                    props,
                    "log.cleaner.io.max.bytes.per.second",
                )?
                .filter(|r| r.is_finite() && *r > 0.0 && *r < f64::MAX),
                delete_retention_ms: topic_default(
                    props,
                    "log.cleaner.delete.retention.ms",
                    "delete.retention.ms",
                    "86400000",
                )?
                .parse()
                .unwrap_or(86_400_000),
                min_compaction_lag_ms: topic_default(
                    props,
                    "log.cleaner.min.compaction.lag.ms",
                    "min.compaction.lag.ms",
                    "0",
                )?
                .parse()
                .unwrap_or(0),
                max_compaction_lag_ms: topic_default(
                    props,
                    "log.cleaner.max.compaction.lag.ms",
                    "max.compaction.lag.ms",
                    "9223372036854775807",
                )?
                .parse()
                .unwrap_or(i64::MAX),
                min_cleanable_ratio: topic_default(
                    props,
                    "log.cleaner.min.cleanable.ratio",
                    "min.cleanable.dirty.ratio",
                    "0.5",
                )?
                .parse()
                .unwrap_or(0.5),
                message_timestamp_type: topic_default(
                    props,
                    "log.message.timestamp.type",
                    "message.timestamp.type",
                    "CreateTime",
                )?,
                compression_type: topic_default(
                    props,
                    "compression.type",
                    "compression.type",
                    "producer",
                )?,
            },
            log_format,
            metrics_addr: match props
                .get("metrics.addr")
                .map(String::as_str)
                .unwrap_or("127.0.0.1:9644")
            {
                "off" | "" => None,
                a => Some(a.parse().map_err(|_| {
                    BrokerError::Config(format!(
                        "metrics.addr: '{a}' is not HOST:PORT (an IP address) or off"
                    ))
                })?),
            },
            metrics_topic_labels: bool_key("metrics.topic.labels", true)?,
            offsets_topic_partitions: match parse_num::<i32>(props, "offsets.topic.num.partitions")?
                .unwrap_or(50)
            {
                n if n >= 1 => n,
                _ => {
                    return Err(BrokerError::Config(
                        "offsets.topic.num.partitions must be at least 1".into(),
                    ))
                }
            },
            offsets_topic_segment_bytes: match parse_num::<u64>(
                props,
                "offsets.topic.segment.bytes",
            )?
            .unwrap_or(104_857_600)
            {
                n if n >= 14 => n,
                _ => {
                    return Err(BrokerError::Config(
                        "offsets.topic.segment.bytes must be at least 14".into(),
                    ))
                }
            },
            txn: TxnConfig {
                state_log_partitions: match parse_num::<i32>(
                    props,
                    "transaction.state.log.num.partitions",
                )?
                .unwrap_or(50)
                {
                    n if n >= 1 => n,
                    _ => {
                        return Err(BrokerError::Config(
                            "transaction.state.log.num.partitions must be at least 1".into(),
                        ))
                    }
                },
                state_log_segment_bytes: match parse_num::<u64>(
                    props,
                    "transaction.state.log.segment.bytes",
                )?
                .unwrap_or(104_857_600)
                {
                    n if n >= 14 => n,
                    _ => {
                        return Err(BrokerError::Config(
                            "transaction.state.log.segment.bytes must be at least 14".into(),
                        ))
                    }
                },
                max_timeout_ms: match parse_num::<i32>(props, "transaction.max.timeout.ms")?
                    .unwrap_or(900_000)
                {
                    n if n >= 1 => n,
                    _ => {
                        return Err(BrokerError::Config(
                            "transaction.max.timeout.ms must be at least 1".into(),
                        ))
                    }
                },
                abort_check_interval: Duration::from_millis(
                    parse_num::<u64>(
                        props,
                        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                    )?
                    .unwrap_or(10_000)
                    .max(10),
                ),
                transactional_id_expiration_ms: match parse_num::<i64>(
                    props,
                    "transactional.id.expiration.ms",
                )?
                .unwrap_or(604_800_000)
                {
                    n if n >= 1 => n,
                    _ => {
                        return Err(BrokerError::Config(
                            "transactional.id.expiration.ms must be at least 1".into(),
                        ))
                    }
                },
                producer_id_expiration_ms: match parse_num::<i64>(
                    props,
                    "producer.id.expiration.ms",
                )?
                .unwrap_or(86_400_000)
                {
                    n if n >= 1 => n,
                    _ => {
                        return Err(BrokerError::Config(
                            "producer.id.expiration.ms must be at least 1".into(),
                        ))
                    }
                },
            },
            controller_listener: String::new(),
            broker_session_timeout: Duration::from_millis(
                parse_num::<u64>(props, "broker.session.timeout.ms")?
                    .unwrap_or(9_000)
                    .max(100),
            ),
            quorum_voters: std::collections::BTreeMap::new(),
            props: props.clone(),
            log_format_setting: log_format,
            group: GroupConfig {
                min_session_timeout: Duration::from_millis(
                    parse_num(props, "group.min.session.timeout.ms")?.unwrap_or(6_000),
                ),
                max_session_timeout: Duration::from_millis(
                    parse_num(props, "group.max.session.timeout.ms")?.unwrap_or(1_800_000),
                ),
                initial_rebalance_delay: Duration::from_millis(
                    parse_num(props, "group.initial.rebalance.delay.ms")?.unwrap_or(3_000),
                ),
            },
        };
        let (listener, voters) = quorum_settings(props, c.node_id)?;
        c.controller_listener = listener;
        c.quorum_voters = voters;
        Ok(c)
    }
}

fn load_file(path: &Path) -> Result<BTreeMap<String, String>, BrokerError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BrokerError::Config(format!("cannot read config file {}: {e}", path.display()))
    })?;
    parse_properties(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_precedence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("server.properties");
        std::fs::write(
            &file,
            "# comment\nnode.id=3\nlog.dirs=/tmp/x,/tmp/y\nlisteners=PLAINTEXT://0.0.0.0:19092\n\
             num.partitions = 4\nauto.create.topics.enable=false\nsome.unknown.key=1\n",
        )
        .expect("write");
        let args = Args::parse_from([
            "memorystreamer",
            "--config",
            file.to_str().expect("utf8"),
            "--node-id",
            "7",
            "-o",
            "message.max.bytes=2048",
        ]);
        let cfg = BrokerConfig::from_args(&args).expect("config");
        assert_eq!(cfg.node_id, 7, "flag wins over file");
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.num_partitions, 4);
        assert!(!cfg.auto_create_topics);
        assert_eq!(cfg.message_max_bytes, 2048);
        assert_eq!(cfg.listeners[0].port, 19092);
        assert_eq!(cfg.advertised_listeners[0].host, "127.0.0.1");
    }

    #[test]
    fn defaults_and_errors() {
        let cfg =
            BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text).expect("defaults");
        assert_eq!(
            cfg.listeners[0],
            Listener::parse("PLAINTEXT://127.0.0.1:9092").expect("parse")
        );
        assert_eq!(cfg.data_dir, PathBuf::from("data"));
        assert!(Listener::parse("127.0.0.1:9092").is_err());
        assert!(Listener::parse("SSL://127.0.0.1:9093").is_err());
        assert!(Listener::parse("PLAINTEXT://h:99999").is_err());
        let mut p = BTreeMap::new();
        p.insert("num.partitions".to_string(), "abc".to_string());
        assert!(BrokerConfig::from_properties(&p, LogFormat::Text).is_err());
        assert!(parse_properties("novalue").is_err());
    }

    #[test]
    fn transaction_settings() {
        let d = BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text).expect("defaults");
        assert_eq!(
            (
                d.txn.state_log_partitions,
                d.txn.max_timeout_ms,
                d.txn.transactional_id_expiration_ms,
                d.txn.producer_id_expiration_ms
            ),
            (50, 900_000, 604_800_000, 86_400_000)
        );
        assert_eq!(d.txn.abort_check_interval, Duration::from_secs(10));
        for key in [
            "transaction.state.log.num.partitions",
            "transaction.max.timeout.ms",
            "transactional.id.expiration.ms",
            "producer.id.expiration.ms",
        ] {
            let mut p = BTreeMap::new();
            p.insert(key.to_string(), "0".to_string());
            let e = BrokerConfig::from_properties(&p, LogFormat::Text)
                .expect_err("zero refused")
                .to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn quorum_voters_and_controller_listener() {
        let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // No voters: a one-voter quorum of this node on an ephemeral port.
        let c = BrokerConfig::from_properties(&props(&[("node.id", "4")]), LogFormat::Text)
            .expect("single");
        assert_eq!(c.controller_listener, "127.0.0.1:0");
        assert_eq!(c.quorum_voters.keys().copied().collect::<Vec<_>>(), vec![4]);
        let v = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293";
        let c = BrokerConfig::from_properties(
            &props(&[("node.id", "2"), ("controller.quorum.voters", v)]),
            LogFormat::Text,
        )
        .expect("voters");
        assert_eq!(
            c.controller_listener, "127.0.0.1:9193",
            "defaults to own entry"
        );
        assert_eq!(c.quorum_voters.len(), 3);
        let ok = props(&[
            ("node.id", "2"),
            ("controller.quorum.voters", v),
            ("controller.listener", "0.0.0.0:9193"),
        ]);
        assert!(BrokerConfig::from_properties(&ok, LogFormat::Text).is_ok());
        for bad in [
            vec![("node.id", "5"), ("controller.quorum.voters", v)],
            vec![("node.id", "1"), ("controller.quorum.voters", "1@nohost")],
            vec![
                ("node.id", "1"),
                ("controller.quorum.voters", "x@127.0.0.1:1"),
            ],
            vec![
                ("node.id", "1"),
                ("controller.quorum.voters", "1@127.0.0.1:1,1@127.0.0.1:2"),
            ],
            vec![
                ("node.id", "2"),
                ("controller.quorum.voters", v),
                ("controller.listener", "127.0.0.1:9093"),
            ],
        ] {
            let e = BrokerConfig::from_properties(&props(&bad), LogFormat::Text)
                .expect_err("invalid quorum settings");
            assert!(e.to_string().contains("controller"), "{e}");
        }
    }
}
