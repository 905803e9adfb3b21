//! DescribeConfigs (key 32): topic configs (every key Kafka defines, with
//! its effective value, source, synonyms and documentation when asked) and
//! this broker's static configs. Unknown requested keys are left out, as
//! Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::request::Header;

use super::sb;
use crate::broker::Broker;
use crate::topic_config::ConfigType;

/// Resource types.
pub const TOPIC: i8 = 2;
/// Broker resource type.
pub const BROKER: i8 = 4;
/// Config sources.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// This broker's static configuration as (Kafka key, value, type).
pub fn broker_configs(broker: &Broker) -> Vec<(&'static str, String, ConfigType)> {
    let c = &broker.config;
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
            c.log
                .cleaner_io_max_bytes_per_second
                .unwrap_or(f64::MAX)
                .to_string(),
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
            c.log.min_cleanable_ratio.to_string(),
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
                         value: String,
                         source: i8,
                         read_only: bool,
                         kind: ConfigType,
                         doc: &str,
                         synonyms: Vec<(&str, String, i8)>| {
                let mut e = DescribeConfigsResourceResult::default()
                    .with_name(sb(name))
                    .with_value(Some(sb(&value)))
                    .with_read_only(read_only)
                    .with_config_source(source);
                if req.include_synonyms {
                    e = e.with_synonyms(
                        synonyms
                            .into_iter()
                            .map(|(n, v, src)| {
                                DescribeConfigsSynonym::default()
                                    .with_name(sb(n))
                                    .with_value(Some(sb(&v)))
                                    .with_source(src)
                            })
                            .collect(),
                    );
                }
                if v3 {
                    e = e.with_config_type(kind as i8);
                    if req.include_documentation {
                        e = e.with_documentation(Some(sb(doc)));
                    }
                }
                e
            };
            match r.resource_type {
                TOPIC => match broker.metadata().topic(&r.resource_name) {
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
                                let broker_source = if broker_value != d.default {
                                    // A broker setting other than Kafka's default.
                                    SOURCE_STATIC_BROKER
                                } else {
                                    SOURCE_DEFAULT
                                };
                                match d.broker_key {
                                    Some(bk) => synonyms.push((bk, broker_value, broker_source)),
                                    None => synonyms.push((
                                        d.name,
                                        d.default.to_string(),
                                        SOURCE_DEFAULT,
                                    )),
                                }
                                let source = if overridden {
                                    SOURCE_TOPIC
                                } else if d.broker_key.is_some() {
                                    broker_source
                                } else {
                                    SOURCE_DEFAULT
                                };
                                entry(d.name, value, source, false, d.kind, d.doc, synonyms)
                            })
                            .collect(),
                    ),
                },
                BROKER
                    if r.resource_name.is_empty()
                        || r.resource_name.as_str() == broker.config.node_id.to_string() =>
                {
                    base.with_configs(
                        broker_configs(broker)
                            .into_iter()
                            .filter(|(k, _, _)| wanted(k))
                            .map(|(k, v, kind)| {
                                let synonyms = vec![(k, v.clone(), SOURCE_STATIC_BROKER)];
                                entry(
                                    k,
                                    v,
                                    SOURCE_STATIC_BROKER,
                                    true,
                                    kind,
                                    "static broker setting",
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
