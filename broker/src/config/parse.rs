//! Parsing Kafka-named properties into a [`BrokerConfig`]: the properties
//! file format, the typed reading of each key with the default the registry
//! gives it ([`super::registry::default_value`]: no default is written
//! here), and the checks of values that must hold at start-up.
//!
//! It is NOT where a key's default or effect is decided (the registry), nor
//! the reading of flags and environment variables (`super::args`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::registry::{default_value, spec, topic_key_of};
use super::{
    BrokerConfig, ConnectionLimits, GroupConfig, Listener, LogDefaults, LogFormat, ProtocolMap,
    ReplicationConfig, SecurityProtocol, TxnConfig,
};
use crate::error::BrokerError;

/// Parses Kafka's properties format: `key=value` or `key: value`, `#`/`!`
/// comments, surrounding whitespace ignored, and, as Java's
/// `Properties.load`, a line ending in an odd number of backslashes
/// continued on the next (its leading whitespace dropped: how Kafka's
/// multi-line `sasl.jaas.config` values are written). Later keys win.
pub fn parse_properties(text: &str) -> Result<BTreeMap<String, String>, BrokerError> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, first)) = lines.next() {
        let first = first.trim();
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut line = first.to_string();
        while continues(&line) {
            line.pop();
            match lines.next() {
                Some((_, next)) => line.push_str(next.trim_start()),
                None => break,
            }
        }
        let line = line.trim();
        let split = line.find(['=', ':']).ok_or_else(|| {
            BrokerError::Config(format!("line {}: expected key=value, got '{line}'", n + 1))
        })?;
        let (k, v) = line.split_at(split);
        out.insert(k.trim().to_string(), v[1..].trim().to_string());
    }
    Ok(out)
}

/// True when `line` ends in an odd number of backslashes (a continuation;
/// an even number is escaped backslashes).
fn continues(line: &str) -> bool {
    line.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Typed reads of the properties, each key's default from the registry.
struct Props<'a>(&'a BTreeMap<String, String>);

impl Props<'_> {
    /// The value of `key` as set, else its default (None: neither).
    fn raw(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .or_else(|| default_value(key))
    }

    /// `key` as a number, only when set.
    fn set<T: FromStr>(&self, key: &str) -> Result<Option<T>, BrokerError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(v) => number(key, v).map(Some),
        }
    }

    /// `key` as a number, as set or its default, checked against the
    /// registry's minimum.
    fn num<T: FromStr>(&self, key: &str) -> Result<T, BrokerError> {
        match self.raw(key) {
            Some(v) => {
                let n = number(key, v)?;
                check_min(key, v)?;
                Ok(n)
            }
            None => Err(BrokerError::Config(format!(
                "{key}: no value and no default"
            ))),
        }
    }

    /// `key` as milliseconds, as set or its default.
    fn millis(&self, key: &str) -> Result<Duration, BrokerError> {
        self.num::<u64>(key).map(Duration::from_millis)
    }

    /// `key` as true/false, as set or its default.
    fn boolean(&self, key: &str) -> Result<bool, BrokerError> {
        match self.raw(key).map(str::to_ascii_lowercase) {
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            v => Err(BrokerError::Config(format!(
                "{key}: '{}' is not true or false",
                v.unwrap_or_default()
            ))),
        }
    }

    /// A broker key that supplies a topic config's default, validated by
    /// the topic config rules (so a bad broker default fails at start-up
    /// with the same message a bad topic override gets).
    fn topic_default(&self, broker_key: &str) -> Result<String, BrokerError> {
        let Some(v) = self.0.get(broker_key) else {
            return Ok(default_value(broker_key).unwrap_or_default().to_string());
        };
        let topic_key = topic_key_of(broker_key).unwrap_or(broker_key);
        super::topic::TopicConfig::parse(&[(topic_key.to_string(), v.clone())])
            .map_err(|e| BrokerError::Config(format!("{broker_key}: {e}")))?;
        Ok(v.clone())
    }

    /// A topic default that is a number (the default's text when it is not).
    fn topic_default_num<T: FromStr>(&self, broker_key: &str) -> Result<T, BrokerError> {
        let v = self.topic_default(broker_key)?;
        v.parse()
            .or_else(|_| number(broker_key, default_value(broker_key).unwrap_or_default()))
    }
}

/// The registry's minimum of `key` (a value too large for an i64 is above
/// any minimum).
fn check_min(key: &str, v: &str) -> Result<(), BrokerError> {
    match (spec(key).and_then(|s| s.min), v.trim().parse::<i64>()) {
        (Some(min), Ok(n)) if n < min => {
            Err(BrokerError::Config(format!("{key} must be at least {min}")))
        }
        _ => Ok(()),
    }
}

fn number<T: FromStr>(key: &str, v: &str) -> Result<T, BrokerError> {
    v.parse::<T>()
        .map_err(|_| BrokerError::Config(format!("{key}: '{v}' is not a valid number")))
}

/// The listener other brokers reach this one on, as Kafka chooses it:
/// `inter.broker.listener.name`, else the listener named after
/// `security.inter.broker.protocol` (only one of the two may be set), and
/// it must be advertised. With neither set Kafka uses `PLAINTEXT` and
/// refuses to start when no listener has that name; here the first
/// advertised listener is taken then instead, so that a single broker with
/// only secured listeners starts without an inter-broker key.
///
/// Brokers dial each other in plaintext or TLS (`crate::interbroker`);
/// the SASL client side is not built, so a cluster of more than one voter
/// whose inter-broker listener is SASL_PLAINTEXT or SASL_SSL is refused
/// here rather than failing to replicate later.
fn inter_broker_listener(
    props: &Props<'_>,
    advertised: &[Listener],
) -> Result<String, BrokerError> {
    let by_name = props.0.get("inter.broker.listener.name");
    let by_protocol = props.0.get("security.inter.broker.protocol");
    let name = match (by_name, by_protocol) {
        (Some(_), Some(_)) => {
            return Err(BrokerError::Config(
                "only one of inter.broker.listener.name and security.inter.broker.protocol \
                 may be set"
                    .into(),
            ))
        }
        (Some(n), None) | (None, Some(n)) => n.trim().to_ascii_uppercase(),
        (None, None) => match advertised.iter().find(|l| l.name == "PLAINTEXT") {
            Some(l) => l.name.clone(),
            None => advertised
                .first()
                .map(|l| l.name.clone())
                .unwrap_or_default(),
        },
    };
    if !advertised.iter().any(|l| l.name == name) {
        let names: Vec<&str> = advertised.iter().map(|l| l.name.as_str()).collect();
        return Err(BrokerError::Config(format!(
            "inter-broker listener {name} is not an advertised listener (advertised: {})",
            names.join(",")
        )));
    }
    Ok(name)
}

/// The controller listener as the quorum sees it: the first name of
/// `controller.listener.names` (default `CONTROLLER`), its protocol from
/// `listener.security.protocol.map` (PLAINTEXT when the map does not name
/// it, as Kafka's default for controller listeners), bound at `bind`
/// (`controller.listener` or this node's voter entry). SSL means mutual
/// TLS between voters; SASL is refused: the quorum authenticates with
/// certificates only.
fn controller_security(
    props: &Props<'_>,
    map: &ProtocolMap,
    names: &[String],
    bind: &str,
) -> Result<Listener, BrokerError> {
    let name = names
        .first()
        .cloned()
        .unwrap_or_else(|| "CONTROLLER".into());
    let protocol = map
        .get(&name)
        .or_else(|| SecurityProtocol::from_name(&name))
        .unwrap_or(SecurityProtocol::Plaintext);
    if matches!(
        protocol,
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
    ) {
        return Err(BrokerError::Config(format!(
            "controller listener {name} is {}: the metadata quorum authenticates voters with \
             TLS certificates only; map {name} to SSL in listener.security.protocol.map (with \
             listener.name.{}.ssl.client.auth=required) or to PLAINTEXT",
            protocol.name(),
            name.to_ascii_lowercase()
        )));
    }
    let (host, port) = bind.rsplit_once(':').unwrap_or((bind, "0"));
    let port = port.parse::<u16>().map_err(|_| {
        BrokerError::Config(format!(
            "controller listener address '{bind}' is not host:port"
        ))
    })?;
    if protocol == SecurityProtocol::Ssl {
        let own = format!(
            "listener.name.{}.ssl.client.auth",
            name.to_ascii_lowercase()
        );
        let auth = props
            .0
            .get(&own)
            .or(props.0.get("ssl.client.auth"))
            .map(|v| v.trim().to_ascii_lowercase());
        if auth.as_deref() != Some("required") {
            tracing::warn!(listener = %name, "the controller listener is SSL without \
                ssl.client.auth=required: voters are not authenticated (set {own}=required)");
        }
    }
    Ok(Listener {
        name,
        protocol,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
    })
}

/// Parses `controller.quorum.voters` (`id@host:port,...`) and
/// `controller.listener`. Without voters the node is its own single-voter
/// quorum on `controller.listener` (default 127.0.0.1:0: nobody else dials
/// it). With voters this node must be one of them; its listener defaults to
/// its own entry.
fn quorum_settings(
    props: &Props<'_>,
    node_id: i32,
) -> Result<(String, BTreeMap<u64, String>), BrokerError> {
    let me = u64::try_from(node_id)
        .map_err(|_| BrokerError::Config(format!("node.id {node_id} must not be negative")))?;
    let mut voters = BTreeMap::new();
    if let Some(v) = props
        .raw("controller.quorum.voters")
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
    let listener = match props.0.get("controller.listener") {
        Some(l) => l.clone(),
        None => voters
            .get(&me)
            .cloned()
            .or_else(|| default_value("controller.listener").map(String::from))
            .unwrap_or_default(),
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

fn log_defaults(p: &Props<'_>) -> Result<LogDefaults, BrokerError> {
    let segment_ms = match p.set::<u64>("log.roll.ms")? {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_millis(p.num::<u64>("log.roll.hours")?.saturating_mul(3_600_000)),
    };
    Ok(LogDefaults {
        segment_bytes: p.num("log.segment.bytes")?,
        segment_ms,
        index_interval_bytes: p.num("log.index.interval.bytes")?,
        index_max_bytes: p.num("log.index.size.max.bytes")?,
        flush_messages: p.set("log.flush.interval.messages")?,
        flush_ms: p
            .set::<u64>("log.flush.interval.ms")?
            .map(Duration::from_millis),
        flush_scheduler_interval: Duration::from_millis(
            p.num::<u64>("log.flush.scheduler.interval.ms")?
                .clamp(1, 86_400_000),
        ),
        retention_ms: match p.set::<i64>("log.retention.ms")? {
            Some(ms) => ms,
            None => match p.set::<i64>("log.retention.minutes")? {
                Some(m) => m.saturating_mul(60_000),
                None => p
                    .num::<i64>("log.retention.hours")?
                    .saturating_mul(3_600_000),
            },
        },
        retention_bytes: p.num("log.retention.bytes")?,
        retention_check_interval: p.millis("log.retention.check.interval.ms")?.max(MIN_TICK),
        cleanup_policy: p.topic_default("log.cleanup.policy")?,
        cleaner_enable: p.boolean("log.cleaner.enable")?,
        cleaner_backoff: p.millis("log.cleaner.backoff.ms")?.max(MIN_TICK),
        cleaner_dedupe_buffer_size: p.num("log.cleaner.dedupe.buffer.size")?,
        cleaner_io_max_bytes_per_second: Some(p.num::<f64>("log.cleaner.io.max.bytes.per.second")?)
            .filter(|r| r.is_finite() && *r > 0.0 && *r < f64::MAX),
        delete_retention_ms: p.topic_default_num("log.cleaner.delete.retention.ms")?,
        min_compaction_lag_ms: p.topic_default_num("log.cleaner.min.compaction.lag.ms")?,
        max_compaction_lag_ms: p.topic_default_num("log.cleaner.max.compaction.lag.ms")?,
        min_cleanable_ratio: p.topic_default_num("log.cleaner.min.cleanable.ratio")?,
        message_timestamp_type: p.topic_default("log.message.timestamp.type")?,
        compression_type: p.topic_default("compression.type")?,
    })
}

/// The shortest interval of a periodic job (a zero would spin).
const MIN_TICK: Duration = Duration::from_millis(1);

fn txn_config(p: &Props<'_>) -> Result<TxnConfig, BrokerError> {
    Ok(TxnConfig {
        state_log_partitions: p.num("transaction.state.log.num.partitions")?,
        state_log_segment_bytes: p.num("transaction.state.log.segment.bytes")?,
        max_timeout_ms: p.num("transaction.max.timeout.ms")?,
        abort_check_interval: p
            .millis("transaction.abort.timed.out.transaction.cleanup.interval.ms")?
            .max(Duration::from_millis(10)),
        transactional_id_expiration_ms: p.num("transactional.id.expiration.ms")?,
        producer_id_expiration_ms: p.num("producer.id.expiration.ms")?,
    })
}

fn replication_config(p: &Props<'_>) -> Result<ReplicationConfig, BrokerError> {
    let unclean_leader_election = p.boolean("unclean.leader.election.enable")?;
    if unclean_leader_election {
        return Err(BrokerError::Config(
            "unclean.leader.election.enable: only false is supported (leaders are elected from \
             the in-sync replicas only)"
                .into(),
        ));
    }
    Ok(ReplicationConfig {
        offsets_topic_replication_factor: p.num("offsets.topic.replication.factor")?,
        transaction_state_log_replication_factor: p
            .num("transaction.state.log.replication.factor")?,
        transaction_state_log_min_isr: p.num("transaction.state.log.min.isr")?,
        min_insync_replicas: p.num("min.insync.replicas")?,
        lag_time_max: p.millis("replica.lag.time.max.ms")?.max(MIN_TICK),
        fetch_max_bytes: p.num("replica.fetch.max.bytes")?,
        fetch_wait_max: p.millis("replica.fetch.wait.max.ms")?,
        fetch_min_bytes: p.num("replica.fetch.min.bytes")?,
        num_fetchers: p.num("num.replica.fetchers")?,
        unclean_leader_election,
        auto_leader_rebalance: p.boolean("auto.leader.rebalance.enable")?,
        leader_imbalance_check_interval: Duration::from_secs(
            p.num::<u64>("leader.imbalance.check.interval.seconds")?,
        )
        .max(MIN_TICK),
        leader_imbalance_per_broker_percentage: p.num("leader.imbalance.per.broker.percentage")?,
        controlled_shutdown: p.boolean("controlled.shutdown.enable")?,
    })
}

impl BrokerConfig {
    /// Builds the configuration from Kafka-named properties.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
        log_format: LogFormat,
    ) -> Result<Self, BrokerError> {
        let p = Props(props);
        let node_id = match p.set("node.id")? {
            Some(n) => n,
            None => match p.set("broker.id")? {
                Some(n) => n,
                None => p.num("node.id")?,
            },
        };
        let data_dir = props
            .get("log.dirs")
            .or(props.get("log.dir"))
            .map(|d| d.split(',').next().unwrap_or("").trim().to_string())
            .filter(|d| !d.is_empty())
            .or_else(|| default_value("log.dirs").map(String::from))
            .map(PathBuf::from)
            .unwrap_or_default();
        // Kafka's controller listeners serve the quorum, not clients: ours
        // binds the voter address (controller.quorum.voters), so they are
        // not Kafka-protocol listeners here.
        let controller_names: Vec<String> = p
            .raw("controller.listener.names")
            .unwrap_or_default()
            .split(',')
            .map(|n| n.trim().to_ascii_uppercase())
            .filter(|n| !n.is_empty())
            .collect();
        // Without an explicit map, Kafka maps controller listeners to
        // PLAINTEXT (and every protocol name to itself).
        let protocol_map = match props.get("listener.security.protocol.map") {
            Some(m) => ProtocolMap::parse(m)?,
            None => {
                let default = default_value("listener.security.protocol.map").unwrap_or_default();
                let defaults = ProtocolMap::parse(default)?;
                let extra = controller_names
                    .iter()
                    .filter(|n| defaults.get(n).is_none())
                    .map(|n| format!(",{n}:PLAINTEXT"));
                ProtocolMap::parse(
                    &std::iter::once(default.to_string())
                        .chain(extra)
                        .collect::<String>(),
                )?
            }
        };
        let mut listeners =
            Listener::parse_list(p.raw("listeners").unwrap_or_default(), &protocol_map, true)?;
        listeners.retain(|l| !controller_names.contains(&l.name));
        if listeners.is_empty() {
            return Err(BrokerError::Config(
                "listeners: at least one listener is required".into(),
            ));
        }
        let advertised_listeners = match props.get("advertised.listeners") {
            Some(s) => {
                let advertised = Listener::parse_list(s, &protocol_map, false)?;
                if let Some(l) = advertised
                    .iter()
                    .find(|a| !listeners.iter().any(|l| l.name == a.name))
                {
                    return Err(BrokerError::Config(format!(
                        "advertised.listeners: {} is not a listener in listeners",
                        l.name
                    )));
                }
                advertised
            }
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
        let metrics_addr = match p.raw("metrics.addr").unwrap_or_default() {
            "off" | "" => None,
            a => Some(a.parse().map_err(|_| {
                BrokerError::Config(format!(
                    "metrics.addr: '{a}' is not HOST:PORT (an IP address) or off"
                ))
            })?),
        };
        let (controller_listener, quorum_voters) = quorum_settings(&p, node_id)?;
        let controller_security =
            controller_security(&p, &protocol_map, &controller_names, &controller_listener)?;
        let inter_broker_listener = inter_broker_listener(&p, &advertised_listeners)?;
        Ok(BrokerConfig {
            node_id,
            data_dir,
            listeners,
            advertised_listeners,
            inter_broker_listener,
            num_partitions: p.num("num.partitions")?,
            default_replication_factor: p.num("default.replication.factor")?,
            auto_create_topics: p.boolean("auto.create.topics.enable")?,
            message_max_bytes: p.num("message.max.bytes")?,
            socket_request_max_bytes: p.num("socket.request.max.bytes")?,
            connections: ConnectionLimits {
                max_idle: match p.num::<i64>("connections.max.idle.ms")? {
                    ms if ms < 0 => None,
                    ms => Some(Duration::from_millis(ms as u64)),
                },
                max_connections: p.num::<i32>("max.connections")?.max(0) as usize,
                max_connections_per_ip: p.num::<i32>("max.connections.per.ip")?.max(0) as usize,
                queued_max_request_bytes: p.num("queued.max.request.bytes")?,
            },
            log: log_defaults(&p)?,
            log_format,
            metrics_addr,
            metrics_topic_labels: p.boolean("metrics.topic.labels")?,
            offsets_topic_partitions: p.num("offsets.topic.num.partitions")?,
            offsets_topic_segment_bytes: p.num("offsets.topic.segment.bytes")?,
            txn: txn_config(&p)?,
            controller_listener,
            controller_security,
            broker_session_timeout: p
                .millis("broker.session.timeout.ms")?
                .max(Duration::from_millis(100)),
            broker_heartbeat_interval: p.millis("broker.heartbeat.interval.ms")?,
            quorum_election_timeout: p.millis("controller.quorum.election.timeout.ms")?,
            quorum_voters,
            props: props.clone(),
            log_format_setting: log_format,
            replication: replication_config(&p)?,
            rack: p
                .raw("broker.rack")
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(String::from),
            group: GroupConfig {
                min_session_timeout: p.millis("group.min.session.timeout.ms")?,
                max_session_timeout: p.millis("group.max.session.timeout.ms")?,
                initial_rebalance_delay: p.millis("group.initial.rebalance.delay.ms")?,
            },
        })
    }
}
