//! The config registry: the one table of what MemoryStreamer does with each
//! broker key ([`BROKER_KEYS`]: read at start, applied live, and its default
//! where it differs from Kafka's) and the lookups every other part derives
//! from it: the parser of `server.properties` / environment / flags
//! ([`default_value`], `super::parse`), unknown-key warnings and
//! DescribeConfigs documentation ([`super::keys::effect`]), the application
//! of dynamic broker configs ([`is_live`]), and the topic key ↔ broker key
//! fallback ([`topic_key_of`], from the topic table's `broker_key`).
//!
//! Kafka's facts (type, Kafka's default, dynamic level, doc) stay in the
//! generated table (`super::kafka_keys`, via [`super::keys::lookup`]); the
//! topic configs (name, type, default, fallback broker key, doc, validator)
//! are `crate::topic_config`'s table. This module is NOT a parser of values
//! nor the place of Kafka's validation of dynamic changes
//! ([`super::keys::validate_dynamic`]).

use super::keys::Effect;

/// MemoryStreamer's default of a key it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDefault {
    /// Kafka's default (the generated table, or [`super::keys::OWN_KEYS`]).
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
    /// Kafka's key (or one of [`super::keys::OWN_KEYS`]).
    pub name: &'static str,
    /// [`Effect::Static`]: read from the configuration at start;
    /// [`Effect::Live`]: also applied at once when changed at run time
    /// (the key must be dynamic in Kafka).
    pub effect: Effect,
    /// The value used when the key is not set.
    pub default: KeyDefault,
}

const fn read(name: &'static str) -> KeySpec {
    KeySpec {
        name,
        effect: Effect::Static,
        default: KeyDefault::Kafka,
    }
}

const fn live(name: &'static str) -> KeySpec {
    KeySpec {
        name,
        effect: Effect::Live,
        default: KeyDefault::Kafka,
    }
}

const fn with(spec: KeySpec, default: KeyDefault) -> KeySpec {
    KeySpec {
        name: spec.name,
        effect: spec.effect,
        default,
    }
}

/// Every broker key that has an effect in MemoryStreamer. Every other key
/// of Kafka's table is accepted and described with no effect; a key in
/// neither is reported once at start-up ([`super::keys::is_known`]).
///
/// A new key with behaviour goes here (with `live` when a run-time change
/// applies at once), is read in `super::parse` through [`default_value`],
/// and, when it supplies a topic config's default, is named as that topic
/// config's `broker_key` in `crate::topic_config::TOPIC_CONFIGS`.
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
    read("num.partitions"),
    read("default.replication.factor"),
    read("auto.create.topics.enable"),
    live("message.max.bytes"),
    read("socket.request.max.bytes"),
    read("connections.max.idle.ms"),
    read("max.connections"),
    read("max.connections.per.ip"),
    read("queued.max.request.bytes"),
    live("log.segment.bytes"),
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
    read("offsets.topic.num.partitions"),
    read("offsets.topic.replication.factor"),
    read("offsets.topic.segment.bytes"),
    read("transaction.state.log.num.partitions"),
    read("transaction.state.log.replication.factor"),
    read("transaction.state.log.segment.bytes"),
    read("transaction.state.log.min.isr"),
    read("transaction.max.timeout.ms"),
    read("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
    read("transaction.partition.verification.enable"),
    read("transactional.id.expiration.ms"),
    read("producer.id.expiration.ms"),
    read("group.initial.rebalance.delay.ms"),
    read("group.min.session.timeout.ms"),
    read("group.max.session.timeout.ms"),
    read("metrics.addr"),
    // With voters, this node's entry in controller.quorum.voters instead.
    read("controller.listener"),
    read("broker.session.timeout.ms"),
    read("controller.quorum.voters"),
    read("metrics.topic.labels"),
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
        KeyDefault::Kafka => super::keys::lookup(name).and_then(|k| k.default),
    }
}

/// The topic config whose default broker key `broker_key` supplies
/// (`log.retention.ms` → `retention.ms`), from the topic table.
pub fn topic_key_of(broker_key: &str) -> Option<&'static str> {
    crate::topic_config::TOPIC_CONFIGS
        .iter()
        .find(|d| d.broker_key == Some(broker_key))
        .map(|d| d.name)
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
