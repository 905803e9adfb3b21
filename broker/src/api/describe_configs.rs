//! DescribeConfigs (key 32): topic configs (every key Kafka defines, with
//! its effective value, source, synonyms and documentation when asked) and
//! broker configs: for this node's id every key with its value in effect
//! and where it comes from (per-broker dynamic, cluster-default dynamic,
//! static file/flags, Kafka's default) — every key of Apache Kafka's broker
//! table and MemoryStreamer's own (`crate::config::keys`), with Kafka's
//! read-only flags, types and documentation (saying where a key has no
//! effect here), password values hidden; for the empty name the cluster-wide
//! dynamic defaults only, as Kafka answers `--entity-default`. Unknown
//! requested keys are left out, as Kafka does.

use std::collections::BTreeMap;

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::request::Header;

use super::sb;
use crate::broker::Broker;
use crate::config::keys::{self, Dynamic, KeyType};
use crate::topic_config::ConfigType;

/// Resource types.
pub const TOPIC: i8 = 2;
/// Broker resource type.
pub const BROKER: i8 = 4;
/// Config sources.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_DYNAMIC_BROKER: i8 = 2;
const SOURCE_DYNAMIC_DEFAULT: i8 = 3;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// Where the value of broker key `key` comes from: per-broker dynamic,
/// cluster-default dynamic, static, or Kafka's default.
fn broker_key_source(broker: &Broker, key: &str) -> i8 {
    let node = broker.config.node_id.to_string();
    let set = |resource: &str| {
        broker
            .dynamic_broker_configs(resource)
            .iter()
            .any(|(k, _)| k == key)
    };
    if set(&node) {
        SOURCE_DYNAMIC_BROKER
    } else if set("") {
        SOURCE_DYNAMIC_DEFAULT
    } else if broker.config.props.contains_key(key) {
        SOURCE_STATIC_BROKER
    } else {
        SOURCE_DEFAULT
    }
}

/// A double as Java's `Double.toString` prints it, which is how Kafka
/// renders DOUBLE configs: `0.5`, `10.0`, `1.7976931348623157E308`.
fn java_double(d: f64) -> String {
    let a = d.abs();
    if !d.is_finite() || a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = d.to_string();
        if s.contains('.') || !d.is_finite() {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{d:e}");
        let (m, e) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        if m.contains('.') {
            format!("{m}E{e}")
        } else {
            format!("{m}.0E{e}")
        }
    }
}

/// Broker keys whose Kafka default is null because their value in effect
/// comes from another key (`log.retention.ms` from `log.retention.hours`,
/// `log.roll.ms` from `log.roll.hours`, `log.flush.interval.ms` from
/// `log.flush.scheduler.interval.ms`): Kafka describes them with no value
/// unless they are set themselves, and so do we (the fallback still
/// applies). Other keys without a Kafka default (`node.id`, `log.dirs`) are
/// described with the value this broker runs with.
const NULL_DEFAULT_KEYS: &[&str] = &["log.flush.interval.ms", "log.retention.ms", "log.roll.ms"];

/// The value a static broker key has in the configuration: its own, or for
/// `broker.id` / `node.id` the other one (Kafka copies one to the other).
fn static_value<'a>(c: &'a crate::config::BrokerConfig, key: &str) -> Option<&'a String> {
    c.props.get(key).or_else(|| match key {
        "broker.id" => c.props.get("node.id"),
        "node.id" => c.props.get("broker.id"),
        _ => None,
    })
}

/// The configuration a broker has with no settings at all (Kafka's defaults).
fn kafka_default_broker_config() -> Option<crate::config::BrokerConfig> {
    crate::config::BrokerConfig::from_properties(&BTreeMap::new(), crate::config::LogFormat::Text)
        .ok()
}

/// The keys whose value MemoryStreamer computes (the value in effect, e.g.
/// `log.retention.ms` from `log.retention.hours`), as (Kafka key, value,
/// type). Every other key is described from where it is set.
pub fn broker_configs(c: &crate::config::BrokerConfig) -> Vec<(&'static str, String, ConfigType)> {
    let list = |ls: &[crate::config::Listener]| {
        ls.iter()
            .map(|l| format!("{}://{}:{}", l.protocol, l.host, l.port))
            .collect::<Vec<_>>()
            .join(",")
    };
    let opt = |o: Option<String>| o.unwrap_or_else(|| i64::MAX.to_string());
    vec![
        ("node.id", c.node_id.to_string(), ConfigType::Int),
        (
            "log.dirs",
            c.data_dir.display().to_string(),
            ConfigType::String,
        ),
        ("listeners", list(&c.listeners), ConfigType::List),
        (
            "advertised.listeners",
            list(&c.advertised_listeners),
            ConfigType::List,
        ),
        (
            "num.partitions",
            c.num_partitions.to_string(),
            ConfigType::Int,
        ),
        (
            "default.replication.factor",
            c.default_replication_factor.to_string(),
            ConfigType::Int,
        ),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
            ConfigType::Boolean,
        ),
        (
            "message.max.bytes",
            c.message_max_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "socket.request.max.bytes",
            c.socket_request_max_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "log.segment.bytes",
            c.log.segment_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "log.roll.ms",
            c.log.segment_ms.as_millis().to_string(),
            ConfigType::Long,
        ),
        (
            "log.index.interval.bytes",
            c.log.index_interval_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "log.index.size.max.bytes",
            c.log.index_max_bytes.to_string(),
            ConfigType::Int,
        ),
        (
            "log.flush.interval.messages",
            opt(c.log.flush_messages.map(|n| n.to_string())),
            ConfigType::Long,
        ),
        (
            "log.flush.interval.ms",
            opt(c.log.flush_ms.map(|d| d.as_millis().to_string())),
            ConfigType::Long,
        ),
        (
            "log.retention.ms",
            c.log.retention_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "log.retention.bytes",
            c.log.retention_bytes.to_string(),
            ConfigType::Long,
        ),
        (
            "log.retention.check.interval.ms",
            c.log.retention_check_interval.as_millis().to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleanup.policy",
            c.log.cleanup_policy.clone(),
            ConfigType::List,
        ),
        (
            "log.cleaner.enable",
            c.log.cleaner_enable.to_string(),
            ConfigType::Boolean,
        ),
        (
            "log.cleaner.backoff.ms",
            c.log.cleaner_backoff.as_millis().to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleaner.dedupe.buffer.size",
            c.log.cleaner_dedupe_buffer_size.to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleaner.io.max.bytes.per.second",
            java_double(c.log.cleaner_io_max_bytes_per_second.unwrap_or(f64::MAX)),
            ConfigType::Double,
        ),
        (
            "log.cleaner.delete.retention.ms",
            c.log.delete_retention_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleaner.min.compaction.lag.ms",
            c.log.min_compaction_lag_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleaner.max.compaction.lag.ms",
            c.log.max_compaction_lag_ms.to_string(),
            ConfigType::Long,
        ),
        (
            "log.cleaner.min.cleanable.ratio",
            java_double(c.log.min_cleanable_ratio),
            ConfigType::Double,
        ),
        (
            "log.message.timestamp.type",
            c.log.message_timestamp_type.clone(),
            ConfigType::String,
        ),
        (
            "compression.type",
            c.log.compression_type.clone(),
            ConfigType::String,
        ),
        (
            "offsets.topic.num.partitions",
            c.offsets_topic_partitions.to_string(),
            ConfigType::Int,
        ),
        (
            "group.initial.rebalance.delay.ms",
            c.group.initial_rebalance_delay.as_millis().to_string(),
            ConfigType::Int,
        ),
        (
            "group.min.session.timeout.ms",
            c.group.min_session_timeout.as_millis().to_string(),
            ConfigType::Int,
        ),
        (
            "group.max.session.timeout.ms",
            c.group.max_session_timeout.as_millis().to_string(),
            ConfigType::Int,
        ),
    ]
}

/// The source a topic config is reported with (DescribeConfigs, and
/// CreateTopics v5+): the topic's override, else the broker setting that
/// supplies its default (static when set through a synonym such as
/// `log.retention.hours`), else Kafka's default.
pub(crate) fn topic_config_source(
    broker: &Broker,
    d: &crate::topic_config::ConfigDef,
    overridden: bool,
) -> i8 {
    if overridden {
        return SOURCE_TOPIC;
    }
    let Some(bk) = d.broker_key else {
        return SOURCE_DEFAULT;
    };
    match broker_key_source(broker, bk) {
        SOURCE_DEFAULT if broker.topic_config_default(d) != d.default => SOURCE_STATIC_BROKER,
        src => src,
    }
}

pub fn handle(
    broker: &Arc<Broker>,
    header: &Header,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let v3 = header.version() >= 3;
    let results = req
        .resources
        .iter()
        .map(|r| {
            let wanted = |k: &str| {
                r.configuration_keys
                    .as_ref()
                    .is_none_or(|keys| keys.iter().any(|x| x.as_str() == k))
            };
            let base = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entry = |name: &str,
                         value: Option<String>,
                         source: i8,
                         read_only: bool,
                         sensitive: bool,
                         kind: i8,
                         doc: &str,
                         synonyms: Vec<(&str, Option<String>, i8)>| {
                let mut e = DescribeConfigsResourceResult::default()
                    .with_name(sb(name))
                    .with_value(value.as_deref().map(sb))
                    .with_read_only(read_only)
                    .with_is_sensitive(sensitive)
                    .with_config_source(source);
                if req.include_synonyms {
                    e = e.with_synonyms(
                        synonyms
                            .into_iter()
                            .map(|(n, v, src)| {
                                DescribeConfigsSynonym::default()
                                    .with_name(sb(n))
                                    .with_value(v.as_deref().map(sb))
                                    .with_source(src)
                            })
                            .collect(),
                    );
                }
                if v3 {
                    e = e.with_config_type(kind);
                    // Null unless asked for, as Kafka sends it.
                    e = e.with_documentation(req.include_documentation.then(|| sb(doc)));
                }
                e
            };
            match r.resource_type {
                TOPIC => match broker.metadata().topic(&r.resource_name) {
                    None if crate::broker::validate_topic_name(&r.resource_name).is_err() => base
                        .with_error_code(ResponseError::InvalidTopicException.code())
                        .with_error_message(Some(sb("invalid topic name"))),
                    None => base
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_error_message(Some(sb("unknown topic"))),
                    Some(t) => base.with_configs(
                        broker
                            .topic_config_values(t)
                            .into_iter()
                            .filter(|(d, _, _)| wanted(d.name))
                            .map(|(d, value, overridden)| {
                                // Synonyms in Kafka's order of precedence: the
                                // topic override, the broker key that supplies
                                // the default, Kafka's default.
                                let mut synonyms = Vec::new();
                                if overridden {
                                    synonyms.push((d.name, value.clone(), SOURCE_TOPIC));
                                }
                                let broker_value = broker.topic_config_default(d);
                                let broker_source = match d
                                    .broker_key
                                    .map_or(SOURCE_DEFAULT, |k| broker_key_source(broker, k))
                                {
                                    // Set through a synonym (log.retention.hours, …).
                                    SOURCE_DEFAULT if broker_value != d.default => {
                                        SOURCE_STATIC_BROKER
                                    }
                                    src => src,
                                };
                                // Kafka names the broker key, and lists none
                                // when there is none or it has no value (a
                                // null default: log.retention.ms, log.roll.ms, …).
                                if let Some(bk) = d.broker_key {
                                    let null_default =
                                        keys::lookup(bk).is_none_or(|k| k.default.is_none());
                                    if !(null_default && broker_source == SOURCE_DEFAULT) {
                                        synonyms.push((bk, broker_value, broker_source));
                                    }
                                }
                                let source = topic_config_source(broker, d, overridden);
                                let synonyms = synonyms
                                    .into_iter()
                                    .map(|(n, v, s)| (n, Some(v), s))
                                    .collect();
                                entry(
                                    d.name,
                                    Some(value),
                                    source,
                                    false,
                                    false,
                                    d.kind as i8,
                                    d.doc,
                                    synonyms,
                                )
                            })
                            .collect(),
                    ),
                },
                BROKER if r.resource_name.is_empty() => base.with_configs(
                    broker
                        .dynamic_broker_configs("")
                        .into_iter()
                        .filter(|(k, _)| wanted(k))
                        .map(|(k, v)| {
                            let key = keys::lookup(&k);
                            // Kafka treats a key it does not know as sensitive.
                            let sensitive = key.is_none_or(|x| x.kind == KeyType::Password);
                            let value = (!sensitive).then_some(v);
                            let doc = key.map(keys::documentation).unwrap_or_default();
                            let synonyms =
                                vec![(k.as_str(), value.clone(), SOURCE_DYNAMIC_DEFAULT)];
                            entry(
                                &k,
                                value,
                                SOURCE_DYNAMIC_DEFAULT,
                                !keys::is_dynamic(&k),
                                sensitive,
                                key.map_or(0, |x| x.kind as i8),
                                &doc,
                                synonyms,
                            )
                        })
                        .collect(),
                ),
                BROKER if r.resource_name.as_str() == broker.config.node_id.to_string() => {
                    let per_broker: BTreeMap<String, String> = broker
                        .dynamic_broker_configs(&broker.config.node_id.to_string())
                        .into_iter()
                        .collect();
                    let cluster: BTreeMap<String, String> =
                        broker.dynamic_broker_configs("").into_iter().collect();
                    let defaults: BTreeMap<&str, String> = kafka_default_broker_config()
                        .map(|d| {
                            broker_configs(&d)
                                .into_iter()
                                .map(|(k, v, _)| (k, v))
                                .collect()
                        })
                        .unwrap_or_default();
                    let computed: BTreeMap<&str, String> = broker_configs(&broker.effective())
                        .into_iter()
                        .map(|(k, v, _)| (k, v))
                        .collect();
                    // Kafka lists a key it defines as internal only when set.
                    let set = |k: &str| {
                        per_broker.contains_key(k)
                            || cluster.contains_key(k)
                            || static_value(&broker.config, k).is_some()
                    };
                    base.with_configs(
                        keys::all()
                            .filter(|key| wanted(key.name) && (!key.internal || set(key.name)))
                            .map(|key| {
                                let k = key.name;
                                let sensitive = key.kind == KeyType::Password;
                                let shown = |v: &String| (!sensitive).then(|| v.clone());
                                // Kafka's precedence, highest first.
                                let mut synonyms = Vec::new();
                                if let Some(x) = per_broker.get(k) {
                                    synonyms.push((k, shown(x), SOURCE_DYNAMIC_BROKER));
                                }
                                if let Some(x) = cluster.get(k) {
                                    synonyms.push((k, shown(x), SOURCE_DYNAMIC_DEFAULT));
                                }
                                if let Some(x) = static_value(&broker.config, k) {
                                    synonyms.push((k, shown(x), SOURCE_STATIC_BROKER));
                                }
                                // No default synonym for a key without a
                                // Kafka default (log.dirs, node.id, …).
                                let default = key
                                    .default
                                    .map(|d| defaults.get(k).cloned().unwrap_or(d.to_string()));
                                if let Some(x) = &default {
                                    synonyms.push((k, shown(x), SOURCE_DEFAULT));
                                }
                                let source = synonyms.first().map_or(SOURCE_DEFAULT, |s| s.2);
                                // A dynamic value is described as set (applied
                                // or not); otherwise the value in effect.
                                let value = match synonyms.first() {
                                    _ if sensitive => None,
                                    Some((
                                        _,
                                        v,
                                        SOURCE_DYNAMIC_BROKER | SOURCE_DYNAMIC_DEFAULT,
                                    )) => v.clone(),
                                    first if NULL_DEFAULT_KEYS.contains(&k) => {
                                        first.and_then(|s| s.1.clone())
                                    }
                                    first => computed
                                        .get(k)
                                        .cloned()
                                        .or_else(|| first.and_then(|s| s.1.clone())),
                                };
                                entry(
                                    k,
                                    value,
                                    source,
                                    key.dynamic == Dynamic::ReadOnly,
                                    sensitive,
                                    key.kind as i8,
                                    &keys::documentation(key),
                                    synonyms,
                                )
                            })
                            .collect(),
                    )
                }
                BROKER => base
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(sb("unknown broker id"))),
                _ => base
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(sb("only TOPIC and BROKER resources are supported"))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

#[cfg(test)]
mod tests {
    use super::java_double;

    #[test]
    fn doubles_render_as_java_does() {
        assert_eq!(java_double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(10.0), "10.0");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
    }
}
