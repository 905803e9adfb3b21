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

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::config::keys::{self, Dynamic, KeyType};
use crate::config::repository::source;
use crate::context::RequestContext;

/// Resource types.
pub const TOPIC: i8 = 2;
/// Broker resource type.
pub const BROKER: i8 = 4;

/// The source a topic config is reported with (DescribeConfigs, and
/// CreateTopics v5+): see [`crate::config::ConfigRepository::topic_config_source`].
pub(crate) fn topic_config_source(
    broker: &Broker,
    d: &crate::config::topic::ConfigDef,
    overridden: bool,
) -> i8 {
    broker
        .configs()
        .topic_config_source(&broker.cache.image(), d, overridden)
}

/// Kafka's check of one config resource (`ConfigHelper` and the
/// controller's `authorizeAlterResource`): `operation` (DESCRIBE_CONFIGS or
/// ALTER_CONFIGS) on the cluster for broker, broker-logger and
/// client-metrics resources, on the topic or group for those. The error
/// the resource gets when refused; None when allowed or of another type
/// (answered as without an authorizer).
pub(super) fn config_denied(
    broker: &Broker,
    ctx: &RequestContext<'_>,
    operation: AclOperation,
    resource_type: i8,
    name: &str,
) -> Option<ResponseError> {
    const BROKER_LOGGER: i8 = 8;
    const CLIENT_METRICS: i8 = 16;
    const GROUP: i8 = 32;
    let (rt, name, error) = match resource_type {
        BROKER | BROKER_LOGGER | CLIENT_METRICS => (
            ResourceType::Cluster,
            CLUSTER_NAME,
            ResponseError::ClusterAuthorizationFailed,
        ),
        TOPIC => (
            ResourceType::Topic,
            name,
            ResponseError::TopicAuthorizationFailed,
        ),
        GROUP => (
            ResourceType::Group,
            name,
            ResponseError::GroupAuthorizationFailed,
        ),
        _ => return None,
    };
    (!ctx.authorize(broker, operation, rt, name)).then_some(error)
}

/// [`config_denied`] as the error code and message a refused resource is
/// answered with (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs);
/// None when allowed.
pub(super) fn config_denial(
    broker: &Broker,
    ctx: &RequestContext<'_>,
    operation: AclOperation,
    resource_type: i8,
    name: &str,
) -> Option<(i16, StrBytes)> {
    config_denied(broker, ctx, operation, resource_type, name)
        .map(|e| (e.code(), sb(&e.to_string())))
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let v3 = ctx.version() >= 3;
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
            if let Some((code, message)) = config_denial(
                broker,
                ctx,
                AclOperation::DescribeConfigs,
                r.resource_type,
                &r.resource_name,
            ) {
                return base.with_error_code(code).with_error_message(Some(message));
            }
            let image = broker.cache.image();
            let configs = broker.configs();
            match r.resource_type {
                TOPIC => match image.topic(&r.resource_name) {
                    None if crate::broker::validate_topic_name(&r.resource_name).is_err() => base
                        .with_error_code(ResponseError::InvalidTopicException.code())
                        .with_error_message(Some(sb("invalid topic name"))),
                    None => base
                        .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        .with_error_message(Some(sb("unknown topic"))),
                    Some(t) => base.with_configs(
                        configs
                            .topic_config_values(&image, t)
                            .into_iter()
                            .filter(|(d, _, _)| wanted(d.name))
                            .map(|(d, value, overridden)| {
                                // Synonyms in Kafka's order of precedence: the
                                // topic override, the broker key that supplies
                                // the default, Kafka's default.
                                let mut synonyms = Vec::new();
                                if overridden {
                                    synonyms.push((d.name, Some(value.clone()), source::TOPIC));
                                }
                                let broker_source = configs.topic_fallback_source(&image, d);
                                // Kafka names the broker key, and lists none
                                // when there is none or it has no value (a
                                // null default: log.retention.ms, log.roll.ms, …).
                                if let Some(bk) = d.broker_key {
                                    let null_default =
                                        keys::lookup(bk).is_none_or(|k| k.default.is_none());
                                    if !(null_default && broker_source == source::DEFAULT) {
                                        let v = configs.topic_config_default(&image, d);
                                        synonyms.push((bk, Some(v), broker_source));
                                    }
                                }
                                let source = if overridden {
                                    source::TOPIC
                                } else {
                                    broker_source
                                };
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
                    configs
                        .dynamic_broker_configs(&image, "")
                        .into_iter()
                        .filter(|(k, _)| wanted(k))
                        .map(|(k, v)| {
                            let key = keys::lookup(&k);
                            // Kafka treats a key it does not know as sensitive.
                            let sensitive = key.is_none_or(|x| x.kind == KeyType::Password);
                            let value = (!sensitive).then_some(v);
                            let doc = key.map(keys::documentation).unwrap_or_default();
                            let synonyms =
                                vec![(k.as_str(), value.clone(), source::DYNAMIC_DEFAULT)];
                            entry(
                                &k,
                                value,
                                source::DYNAMIC_DEFAULT,
                                !keys::is_dynamic(&k),
                                sensitive,
                                key.map_or(0, |x| x.kind as i8),
                                &doc,
                                synonyms,
                            )
                        })
                        .collect(),
                ),
                BROKER if r.resource_name.as_str() == broker.config.node_id.to_string() => base
                    .with_configs(
                        keys::all()
                            .filter(|key| {
                                // Kafka lists a key it defines as internal only when set.
                                wanted(key.name)
                                    && (!key.internal
                                        || configs.broker_key_is_set(&image, key.name))
                            })
                            .map(|key| {
                                let k = key.name;
                                let sensitive = key.kind == KeyType::Password;
                                let synonyms = configs.broker_synonyms(&image, key);
                                let source = synonyms.first().map_or(source::DEFAULT, |s| s.0);
                                let value = configs
                                    .broker_describe_value(k, &synonyms)
                                    .filter(|_| !sensitive);
                                let synonyms = synonyms
                                    .into_iter()
                                    .map(|(src, v)| (k, (!sensitive).then_some(v), src))
                                    .collect();
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
                    ),
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
