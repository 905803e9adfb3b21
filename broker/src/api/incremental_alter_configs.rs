//! IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT on
//! topic configs (APPEND/SUBTRACT only for list-typed keys, INVALID_CONFIG
//! otherwise), validated as a whole before anything changes, durable in the
//! metadata log. On BROKER resources (this node's id, or `""` for the
//! cluster-wide default) the same operations change dynamic broker configs,
//! validated by the same rules as AlterConfigs
//! ([`crate::config::keys::validate_dynamic`], Kafka's).

use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use memorystreamer_raft::MetadataImage;

use super::describe_configs::{config_denial, BROKER, TOPIC};
use super::sb;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::config::topic::{definition, ConfigType, REMOVED_TOPIC_CONFIGS};
use crate::config::{keys, ConfigRepository};
use crate::context::RequestContext;
use crate::error::BrokerError;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// What `apply` needs to know about a key: its type and the value it has
/// when not set in the resource being changed.
type KeyInfo<'a> = &'a dyn Fn(&str) -> Result<(ConfigType, String), BrokerError>;

/// A topic key's type and default.
fn topic_key(
    configs: &ConfigRepository,
    image: &MetadataImage,
    name: &str,
) -> Result<(ConfigType, String), BrokerError> {
    let def = definition(name).ok_or_else(|| crate::config::topic::unknown_key(name))?;
    Ok((def.kind, configs.topic_config_default(image, def)))
}

/// A broker key's type (list or not) and value in effect; an unknown key
/// gets the error AlterConfigs gives it.
fn broker_key(configs: &ConfigRepository, name: &str) -> Result<(ConfigType, String), BrokerError> {
    let key = keys::lookup(name).ok_or_else(|| keys::unknown_key(name))?;
    let kind = match key.kind {
        keys::KeyType::List => ConfigType::List,
        _ => ConfigType::String,
    };
    Ok((kind, configs.broker_value(key)))
}

/// A topic's stored overrides without the keys Kafka 4.0 removed (an older
/// version may have stored them; they are refused when new).
fn current_topic_configs(stored: &[(String, String)]) -> Vec<(String, String)> {
    stored
        .iter()
        .filter(|(k, _)| !REMOVED_TOPIC_CONFIGS.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// Applies the operations to the current overrides.
fn apply(
    key_info: KeyInfo<'_>,
    current: &[(String, String)],
    ops: &[(String, i8, Option<String>)],
) -> Result<Vec<(String, String)>, BrokerError> {
    let mut configs = current.to_vec();
    for (name, op, value) in ops {
        let (kind, default) = key_info(name)?;
        let pos = configs.iter().position(|(k, _)| k == name);
        match *op {
            SET => {
                let v = value.clone().ok_or_else(|| {
                    BrokerError::InvalidConfig(format!("{name}: SET needs a value"))
                })?;
                match pos {
                    Some(i) => configs[i].1 = v,
                    None => configs.push((name.clone(), v)),
                }
            }
            DELETE => {
                if let Some(i) = pos {
                    configs.remove(i);
                }
            }
            APPEND | SUBTRACT => {
                if kind != ConfigType::List {
                    return Err(BrokerError::InvalidConfig(format!(
                        "{name}: APPEND and SUBTRACT apply to list configs only"
                    )));
                }
                let current = pos.map(|i| configs[i].1.clone()).unwrap_or(default);
                let mut items: Vec<String> = current
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect();
                for item in value
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                {
                    if *op == APPEND {
                        if !items.iter().any(|x| x == item) {
                            items.push(item.to_string());
                        }
                    } else {
                        items.retain(|x| x != item);
                    }
                }
                let joined = items.join(",");
                match pos {
                    Some(i) => configs[i].1 = joined,
                    None => configs.push((name.clone(), joined)),
                }
            }
            other => {
                return Err(BrokerError::InvalidRequest(format!(
                    "unknown config operation {other}"
                )));
            }
        }
    }
    Ok(configs)
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::with_capacity(req.resources.len());
    for r in &req.resources {
        let base = AlterConfigsResourceResponse::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        if let Some((code, message)) = config_denial(
            broker,
            ctx,
            AclOperation::AlterConfigs,
            r.resource_type,
            &r.resource_name,
        ) {
            responses.push(base.with_error_code(code).with_error_message(Some(message)));
            continue;
        }
        responses.push({
            let ops: Vec<(String, i8, Option<String>)> = r
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.config_operation,
                        c.value.as_ref().map(|v| v.to_string()),
                    )
                })
                .collect();
            let image = broker.cache.image();
            let configs = broker.configs();
            let outcome = match r.resource_type {
                TOPIC => match image.topic(&r.resource_name) {
                    None => Err(BrokerError::UnknownTopicOrPartition),
                    // Keys Kafka 4.0 removed that an older version stored
                    // are dropped here, so they cannot fail the new set.
                    Some(t) => match apply(
                        &|k: &str| topic_key(configs, &image, k),
                        &current_topic_configs(&t.configs),
                        &ops,
                    ) {
                        Ok(configs) => {
                            broker
                                .alter_topic_configs(&r.resource_name, configs, req.validate_only)
                                .await
                        }
                        Err(e) => Err(e),
                    },
                },
                BROKER => {
                    let current = configs.dynamic_broker_configs(&image, &r.resource_name);
                    match apply(&|k: &str| broker_key(configs, k), &current, &ops) {
                        Ok(configs) => {
                            broker
                                .alter_broker_configs(&r.resource_name, configs, req.validate_only)
                                .await
                        }
                        Err(e) => Err(e),
                    }
                }
                _ => Err(BrokerError::InvalidRequest(
                    "only TOPIC and BROKER resources are supported".into(),
                )),
            };
            match outcome {
                // Kafka sends a null message on success.
                Ok(()) => base.with_error_message(None),
                Err(e) => base
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(&e.to_string()))),
            }
        });
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_kafka_removed_does_not_survive_an_incremental_alter() {
        let stored = vec![
            ("message.format.version".to_string(), "3.0-IV1".to_string()),
            ("retention.ms".to_string(), "1000".to_string()),
        ];
        let ops = vec![("retention.bytes".to_string(), 0, Some("5".to_string()))];
        let info = |_: &str| Ok((ConfigType::Long, String::new()));
        let after = apply(&info, &current_topic_configs(&stored), &ops).expect("apply");
        assert_eq!(
            after,
            vec![
                ("retention.ms".to_string(), "1000".to_string()),
                ("retention.bytes".to_string(), "5".to_string()),
            ]
        );
    }
}
