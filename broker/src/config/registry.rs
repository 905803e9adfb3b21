//! The config registry: every config key MemoryStreamer knows and what it
//! does with each, the one source everything else derives from.
//!
//! * Broker keys: Kafka's facts (type, Kafka's default, dynamic level, doc)
//!   in the generated table (`super::kafka_keys`) plus MemoryStreamer's own
//!   keys ([`OWN_KEYS`]), found by [`lookup`]; and [`BROKER_KEYS`], what
//!   each key does here (read at start, applied live) and its default where
//!   it differs from Kafka's ([`default_value`]).
//! * Topic keys: [`TOPIC_CONFIGS`] (type, Kafka's default, the broker key a
//!   topic key falls back to, what it does here, doc; [`topic_key_of`] is
//!   the reverse of the fallback).
//!
//! Derived from them: the parsing of `server.properties` / environment /
//! flags (`super::parse`), unknown-key warnings ([`is_known`]),
//! DescribeConfigs types, read-only flags and documentation
//! (`super::keys::documentation`), the application of dynamic broker
//! configs ([`is_live`]), Kafka's validation of dynamic changes
//! (`super::keys::validate_dynamic`) and `docs/configuration.md`
//! (`super::keys::configuration_markdown`). This module is NOT a parser of
//! values (broker values: `super::parse`; topic values and their
//! validation: `super::topic`).

use super::kafka_keys::KAFKA_BROKER_KEYS;
use super::key_types::{Dynamic, Effect, Importance, KafkaKey, KeyType};
use crate::error::BrokerError;

/// Keys MemoryStreamer has that Kafka does not.
pub const OWN_KEYS: &[KafkaKey] = &[
    KafkaKey {
        name: "controller.listener",
        kind: KeyType::String,
        default: Some("127.0.0.1:0"),
        importance: Importance::High,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "HOST:PORT the metadata-quorum (controller) listener binds; defaults to this node's entry in controller.quorum.voters.",
    },
    KafkaKey {
        name: "leader.imbalance.per.broker.percentage",
        kind: KeyType::Int,
        default: Some("10"),
        importance: Importance::High,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "Share (percent) of a broker's partitions not led by their preferred replica above which the automatic leader rebalance moves them back (Kafka removed this key in 4.0).",
    },
    KafkaKey {
        name: "metrics.addr",
        kind: KeyType::String,
        default: Some("127.0.0.1:9644"),
        importance: Importance::Medium,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "Address of the Prometheus endpoint (/metrics), or off.",
    },
    KafkaKey {
        name: "metrics.topic.labels",
        kind: KeyType::Boolean,
        default: Some("true"),
        importance: Importance::Low,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "Label traffic metrics by topic (true), or count every topic under topic=\"_all\" (false) to bound cardinality.",
    },
    KafkaKey {
        name: "ssl.certificate.reload.interval.ms",
        kind: KeyType::Long,
        default: Some("10000"),
        importance: Importance::Low,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "How often TLS listeners re-read their keystore and truststore files and serve new contents to new connections (0: never).",
    },
];

/// The key called `name`: Kafka's, else MemoryStreamer's own.
pub fn lookup(name: &str) -> Option<&'static KafkaKey> {
    KAFKA_BROKER_KEYS
        .binary_search_by(|k| k.name.cmp(name))
        .ok()
        .map(|i| &KAFKA_BROKER_KEYS[i])
        .or_else(|| OWN_KEYS.iter().find(|k| k.name == name))
}

/// Every key: Kafka's (sorted), then MemoryStreamer's own.
pub fn all() -> impl Iterator<Item = &'static KafkaKey> {
    KAFKA_BROKER_KEYS.iter().chain(OWN_KEYS)
}

/// True for a key a configuration file may hold without a warning: every
/// Kafka key, MemoryStreamer's own, the authorizer's, and Kafka's
/// per-listener form `listener.name.<listener>.<key>`.
pub fn is_known(name: &str) -> bool {
    lookup(name).is_some() || name.starts_with("listener.name.") || AUTHORIZER_KEYS.contains(&name)
}

/// The StandardAuthorizer's keys (`crate::authorizer`): Kafka reads them
/// from `server.properties` outside its broker key table, so, as there,
/// they are not described by DescribeConfigs; known, so not warned about.
pub const AUTHORIZER_KEYS: &[&str] = &["super.users", "allow.everyone.if.no.acl.found"];

/// True when Kafka lets `name` change at run time (in some form).
pub fn is_dynamic(name: &str) -> bool {
    lookup(name).is_some_and(|k| k.dynamic != Dynamic::ReadOnly)
}

/// MemoryStreamer's default of a key it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDefault {
    /// Kafka's default (the generated table, or [`OWN_KEYS`]).
    Kafka,
    /// A default of MemoryStreamer's own (where Kafka's does not fit a
    /// single-binary broker: `log.dirs`, `listeners`, `node.id`, …).
    Ours(&'static str),
    /// No default value: unset means the setting is off (or comes from
    /// another key, as `log.retention.ms` from `log.retention.hours`).
    Unset,
}

/// What MemoryStreamer does with one broker key it reads.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// Kafka's key (or one of [`OWN_KEYS`]).
    pub name: &'static str,
    /// [`Effect::Static`]: read from the configuration at start;
    /// [`Effect::Live`]: also applied at once when changed at run time
    /// (the key must be dynamic in Kafka).
    pub effect: Effect,
    /// The value used when the key is not set.
    pub default: KeyDefault,
    /// The smallest value accepted (a number key), checked when the
    /// configuration is parsed: "`key` must be at least `min`".
    pub min: Option<i64>,
}

const fn read(name: &'static str) -> KeySpec {
    KeySpec {
        name,
        effect: Effect::Static,
        default: KeyDefault::Kafka,
        min: None,
    }
}

const fn live(name: &'static str) -> KeySpec {
    KeySpec {
        name,
        effect: Effect::Live,
        ..read(name)
    }
}

const fn with(spec: KeySpec, default: KeyDefault) -> KeySpec {
    KeySpec { default, ..spec }
}

const fn at_least(spec: KeySpec, min: i64) -> KeySpec {
    KeySpec {
        min: Some(min),
        ..spec
    }
}

/// Every broker key that has an effect in MemoryStreamer. Every other key
/// of Kafka's table is accepted and described with no effect; a key in
/// neither is reported once at start-up ([`is_known`]).
///
/// A new key with behaviour goes here (with `live` when a run-time change
/// applies at once), is read in `super::parse` through [`default_value`],
/// and, when it supplies a topic config's default, is named as that topic
/// config's `broker_key` in `crate::config::topic::TOPIC_CONFIGS`.
pub const BROKER_KEYS: &[KeySpec] = &[
    with(read("node.id"), KeyDefault::Ours("1")),
    with(read("broker.id"), KeyDefault::Unset),
    with(read("log.dirs"), KeyDefault::Ours("data")),
    with(read("log.dir"), KeyDefault::Unset),
    with(
        read("listeners"),
        KeyDefault::Ours("PLAINTEXT://127.0.0.1:9092"),
    ),
    read("advertised.listeners"),
    read("inter.broker.listener.name"),
    read("security.inter.broker.protocol"),
    at_least(read("num.partitions"), 1),
    at_least(read("default.replication.factor"), 1),
    at_least(live("min.insync.replicas"), 1),
    at_least(read("replica.lag.time.max.ms"), 1),
    at_least(read("replica.fetch.max.bytes"), 0),
    at_least(read("replica.fetch.wait.max.ms"), 0),
    at_least(read("replica.fetch.min.bytes"), 1),
    at_least(read("num.replica.fetchers"), 1),
    // Only false is accepted (start-up refuses true).
    read("unclean.leader.election.enable"),
    read("auto.leader.rebalance.enable"),
    at_least(read("leader.imbalance.check.interval.seconds"), 1),
    at_least(read("leader.imbalance.per.broker.percentage"), 0),
    read("broker.rack"),
    read("controlled.shutdown.enable"),
    read("auto.create.topics.enable"),
    live("message.max.bytes"),
    read("socket.request.max.bytes"),
    read("connections.max.idle.ms"),
    read("max.connections"),
    read("max.connections.per.ip"),
    read("queued.max.request.bytes"),
    at_least(live("log.segment.bytes"), 14),
    with(live("log.roll.ms"), KeyDefault::Unset),
    read("log.roll.hours"),
    live("log.index.interval.bytes"),
    read("log.index.size.max.bytes"),
    // Kafka's default is Long.MAX_VALUE, i.e. never.
    with(live("log.flush.interval.messages"), KeyDefault::Unset),
    with(read("log.flush.interval.ms"), KeyDefault::Unset),
    // Kafka's default is "never"; here 100 ms, so that a topic's
    // `flush.ms` takes effect without another setting.
    with(
        read("log.flush.scheduler.interval.ms"),
        KeyDefault::Ours("100"),
    ),
    with(live("log.retention.ms"), KeyDefault::Unset),
    with(read("log.retention.minutes"), KeyDefault::Unset),
    read("log.retention.hours"),
    live("log.retention.bytes"),
    read("log.retention.check.interval.ms"),
    live("log.cleanup.policy"),
    read("log.cleaner.enable"),
    read("log.cleaner.backoff.ms"),
    live("log.cleaner.dedupe.buffer.size"),
    live("log.cleaner.io.max.bytes.per.second"),
    live("log.cleaner.delete.retention.ms"),
    live("log.cleaner.min.compaction.lag.ms"),
    live("log.cleaner.max.compaction.lag.ms"),
    live("log.cleaner.min.cleanable.ratio"),
    read("log.cleaner.threads"),
    live("log.message.timestamp.type"),
    live("compression.type"),
    at_least(read("offsets.topic.num.partitions"), 1),
    // Capped by the live brokers when the topic is created (Kafka refuses
    // to create it until enough brokers registered).
    at_least(read("offsets.topic.replication.factor"), 1),
    at_least(read("offsets.topic.segment.bytes"), 14),
    at_least(read("transaction.state.log.num.partitions"), 1),
    at_least(read("transaction.state.log.replication.factor"), 1),
    at_least(read("transaction.state.log.segment.bytes"), 14),
    at_least(read("transaction.state.log.min.isr"), 1),
    at_least(read("transaction.max.timeout.ms"), 1),
    read("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
    read("transaction.partition.verification.enable"),
    at_least(read("transactional.id.expiration.ms"), 1),
    at_least(read("producer.id.expiration.ms"), 1),
    read("group.initial.rebalance.delay.ms"),
    read("group.min.session.timeout.ms"),
    read("group.max.session.timeout.ms"),
    read("metrics.addr"),
    // With voters, this node's entry in controller.quorum.voters instead.
    read("controller.listener"),
    read("listener.security.protocol.map"),
    read("controller.listener.names"),
    read("broker.session.timeout.ms"),
    at_least(read("broker.heartbeat.interval.ms"), 1),
    // Kafka's default, 1000 ms, and Kafka's meaning (RaftTimeouts).
    at_least(read("controller.quorum.election.timeout.ms"), 40),
    read("controller.quorum.voters"),
    read("metrics.topic.labels"),
    // Security (`crate::security`, `crate::authorizer`, the sasl crate);
    // each also read per listener as `listener.name.<l>.<key>`.
    read("authorizer.class.name"),
    read("connections.max.reauth.ms"),
    read("connection.failed.authentication.delay.ms"),
    read("sasl.enabled.mechanisms"),
    read("sasl.mechanism.inter.broker.protocol"),
    read("sasl.jaas.config"),
    read("sasl.server.max.receive.size"),
    read("sasl.oauthbearer.jwks.endpoint.url"),
    read("sasl.oauthbearer.expected.issuer"),
    read("sasl.oauthbearer.expected.audience"),
    read("sasl.oauthbearer.clock.skew.seconds"),
    read("sasl.oauthbearer.sub.claim.name"),
    read("sasl.oauthbearer.scope.claim.name"),
    read("ssl.client.auth"),
    read("ssl.principal.mapping.rules"),
    read("ssl.enabled.protocols"),
    read("ssl.cipher.suites"),
    read("ssl.allow.dn.changes"),
    read("ssl.allow.san.changes"),
    read("ssl.keystore.type"),
    read("ssl.keystore.location"),
    read("ssl.keystore.password"),
    read("ssl.keystore.key"),
    read("ssl.keystore.certificate.chain"),
    read("ssl.key.password"),
    read("ssl.truststore.type"),
    read("ssl.truststore.location"),
    read("ssl.truststore.password"),
    read("ssl.truststore.certificates"),
    read("ssl.certificate.reload.interval.ms"),
];

/// What MemoryStreamer does with `name` (its entry in [`BROKER_KEYS`]).
pub fn spec(name: &str) -> Option<&'static KeySpec> {
    BROKER_KEYS.iter().find(|k| k.name == name)
}

/// What `name` does in MemoryStreamer.
pub fn effect(name: &str) -> Effect {
    spec(name).map_or(Effect::None, |k| k.effect)
}

/// True when a run-time change of `name` is applied at once.
pub fn is_live(name: &str) -> bool {
    effect(name) == Effect::Live
}

/// The value MemoryStreamer uses for `name` when it is not set: its own
/// default, else Kafka's; None when unset means off (or another key
/// supplies the value).
pub fn default_value(name: &str) -> Option<&'static str> {
    match spec(name).map_or(KeyDefault::Kafka, |k| k.default) {
        KeyDefault::Ours(d) => Some(d),
        KeyDefault::Unset => None,
        KeyDefault::Kafka => lookup(name).and_then(|k| k.default),
    }
}

/// The topic config whose default broker key `broker_key` supplies
/// (`log.retention.ms` → `retention.ms`), from the topic table.
pub fn topic_key_of(broker_key: &str) -> Option<&'static str> {
    TOPIC_CONFIGS
        .iter()
        .find(|d| d.broker_key == Some(broker_key))
        .map(|d| d.name)
}

// ---- Topic configs ----

/// One topic config Kafka defines: name, Kafka's default, type, the
/// broker key whose value is the default here (Kafka's
/// `ServerTopicConfigSynonyms`, named as the synonym in DescribeConfigs),
/// and what MemoryStreamer does with it. Values are validated by
/// `crate::config::topic::TopicConfig::parse`.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    /// Kafka's name.
    pub name: &'static str,
    /// Kafka's default value.
    pub default: &'static str,
    /// Value type.
    pub kind: KeyType,
    /// Broker-level key supplying the default, if any.
    pub broker_key: Option<&'static str>,
    /// [`Effect::Live`]: enforced, and a change applies at once to the
    /// topic's partitions; [`Effect::None`]: validated and stored only.
    pub effect: Effect,
    /// One-line documentation.
    pub doc: &'static str,
}

const MAX_LONG: &str = "9223372036854775807";

macro_rules! def {
    ($name:expr, $default:expr, $kind:ident, $broker:expr, $effect:ident, $doc:expr) => {
        ConfigDef {
            name: $name,
            default: $default,
            kind: KeyType::$kind,
            broker_key: $broker,
            effect: Effect::$effect,
            doc: $doc,
        }
    };
}

/// Every topic config Kafka 4.1 defines and describes (its `LogConfig`
/// without the internal `internal.segment.bytes` and the tiered-storage keys
/// not built here); accepted and stored, enforced where `effect` says so.
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    def!(
        "cleanup.policy",
        "delete",
        List,
        Some("log.cleanup.policy"),
        Live,
        "delete and/or compact old segments"
    ),
    def!(
        "compression.type",
        "producer",
        String,
        Some("compression.type"),
        Live,
        "final compression of the topic's batches; producer keeps them"
    ),
    def!(
        "compression.gzip.level",
        "-1",
        Int,
        Some("compression.gzip.level"),
        None,
        "gzip level (1 to 9, or -1 for the codec's default) when compression.type is gzip"
    ),
    def!(
        "compression.lz4.level",
        "9",
        Int,
        Some("compression.lz4.level"),
        None,
        "lz4 level (1 to 17) when compression.type is lz4"
    ),
    def!(
        "compression.zstd.level",
        "3",
        Int,
        Some("compression.zstd.level"),
        None,
        "zstd level (-131072 to 22) when compression.type is zstd"
    ),
    def!(
        "delete.retention.ms",
        "86400000",
        Long,
        Some("log.cleaner.delete.retention.ms"),
        Live,
        "how long tombstones are kept in compacted topics"
    ),
    def!(
        "file.delete.delay.ms",
        "60000",
        Long,
        Some("log.segment.delete.delay.ms"),
        None,
        "delay before deleting a file from the file system"
    ),
    def!(
        "flush.messages",
        MAX_LONG,
        Long,
        Some("log.flush.interval.messages"),
        Live,
        "fsync after this many records"
    ),
    def!(
        "flush.ms",
        MAX_LONG,
        Long,
        Some("log.flush.interval.ms"),
        Live,
        "fsync at least this often"
    ),
    def!(
        "follower.replication.throttled.replicas",
        "",
        List,
        None,
        None,
        "replicas whose follower replication is throttled"
    ),
    def!(
        "index.interval.bytes",
        "4096",
        Int,
        Some("log.index.interval.bytes"),
        Live,
        "bytes between offset index entries"
    ),
    def!(
        "leader.replication.throttled.replicas",
        "",
        List,
        None,
        None,
        "replicas whose leader replication is throttled"
    ),
    def!(
        "local.retention.bytes",
        "-2",
        Long,
        Some("log.local.retention.bytes"),
        None,
        "local retention bytes with tiered storage"
    ),
    def!(
        "local.retention.ms",
        "-2",
        Long,
        Some("log.local.retention.ms"),
        None,
        "local retention time with tiered storage"
    ),
    def!(
        "max.compaction.lag.ms",
        MAX_LONG,
        Long,
        Some("log.cleaner.max.compaction.lag.ms"),
        Live,
        "longest time a record stays uncompacted"
    ),
    def!(
        "max.message.bytes",
        "1048588",
        Int,
        Some("message.max.bytes"),
        Live,
        "largest record batch accepted"
    ),
    def!(
        "message.timestamp.after.max.ms",
        "3600000",
        Long,
        Some("log.message.timestamp.after.max.ms"),
        None,
        "how far in the future a record timestamp may be"
    ),
    def!(
        "message.timestamp.before.max.ms",
        MAX_LONG,
        Long,
        Some("log.message.timestamp.before.max.ms"),
        None,
        "how far in the past a record timestamp may be"
    ),
    def!(
        "message.timestamp.type",
        "CreateTime",
        String,
        Some("log.message.timestamp.type"),
        Live,
        "CreateTime or LogAppendTime"
    ),
    def!(
        "min.cleanable.dirty.ratio",
        "0.5",
        Double,
        Some("log.cleaner.min.cleanable.ratio"),
        Live,
        "dirty ratio that triggers compaction"
    ),
    def!(
        "min.compaction.lag.ms",
        "0",
        Long,
        Some("log.cleaner.min.compaction.lag.ms"),
        Live,
        "shortest time a record stays uncompacted"
    ),
    def!(
        "min.insync.replicas",
        "1",
        Int,
        Some("min.insync.replicas"),
        Live,
        "in-sync replicas required for acks=all"
    ),
    def!(
        "preallocate",
        "false",
        Boolean,
        Some("log.preallocate"),
        None,
        "preallocate segment files"
    ),
    def!(
        "remote.storage.enable",
        "false",
        Boolean,
        None,
        None,
        "tiered storage"
    ),
    def!(
        "retention.bytes",
        "-1",
        Long,
        Some("log.retention.bytes"),
        Live,
        "largest partition size before old segments are deleted"
    ),
    def!(
        "retention.ms",
        "604800000",
        Long,
        Some("log.retention.ms"),
        Live,
        "longest time a segment is kept"
    ),
    def!(
        "segment.bytes",
        "1073741824",
        Int,
        Some("log.segment.bytes"),
        Live,
        "segment file size"
    ),
    def!(
        "segment.index.bytes",
        "10485760",
        Int,
        Some("log.index.size.max.bytes"),
        None,
        "maximum offset index size"
    ),
    def!(
        "segment.jitter.ms",
        "0",
        Long,
        Some("log.roll.jitter.ms"),
        None,
        "random jitter subtracted from segment.ms"
    ),
    def!(
        "segment.ms",
        "604800000",
        Long,
        Some("log.roll.ms"),
        Live,
        "longest time before a segment rolls"
    ),
    def!(
        "unclean.leader.election.enable",
        "false",
        Boolean,
        Some("unclean.leader.election.enable"),
        None,
        "allow out-of-sync replicas to lead (only false is accepted)"
    ),
];

/// Topic configs Kafka removed in 4.0: refused in new requests as Kafka 4.1
/// refuses them (unknown), ignored when already stored by an older version.
pub const REMOVED_TOPIC_CONFIGS: &[&str] = &[
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.difference.max.ms",
];

/// The error for a topic config key Kafka does not define (its wording).
pub fn unknown_topic_key(name: &str) -> BrokerError {
    BrokerError::InvalidConfig(format!("Unknown topic config name: {name}"))
}

/// The definition of a topic config key.
pub fn definition(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::super::keys::{self, Dynamic};
    use super::*;

    #[test]
    fn every_key_is_defined_and_live_keys_are_dynamic_in_kafka() {
        for k in BROKER_KEYS {
            let def = keys::lookup(k.name);
            assert!(def.is_some(), "{} is neither Kafka's nor our own", k.name);
            if k.effect == Effect::Live {
                assert!(
                    def.is_some_and(|d| d.dynamic != Dynamic::ReadOnly),
                    "{} is live here but not dynamic in Kafka",
                    k.name
                );
            }
            assert_eq!(
                BROKER_KEYS.iter().filter(|x| x.name == k.name).count(),
                1,
                "{} listed twice",
                k.name
            );
        }
        assert_eq!(default_value("num.partitions"), Some("1"));
        assert_eq!(default_value("node.id"), Some("1"));
        assert_eq!(default_value("log.retention.ms"), None);
        assert_eq!(default_value("metrics.addr"), Some("127.0.0.1:9644"));
        assert_eq!(topic_key_of("log.retention.ms"), Some("retention.ms"));
        assert_eq!(topic_key_of("compression.type"), Some("compression.type"));
    }
}
