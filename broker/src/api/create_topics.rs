//! CreateTopics (key 19): validated creation, `validate_only`, replication
//! factors up to the live brokers (-1: `default.replication.factor`),
//! manual replica assignments checked as Kafka checks them (with its
//! messages), configs returned (KIP-525, v5+). Authorization as Kafka's
//! controller: CREATE on the cluster or on each topic (else
//! TOPIC_AUTHORIZATION_FAILED, "Authorization failed."); without
//! DESCRIBE_CONFIGS on a topic it is still created but its configs are
//! replaced by `topic_config_error_code` TOPIC_AUTHORIZATION_FAILED.

use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use tracing::info;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::{Broker, NewTopic};
use crate::context::RequestContext;
use crate::error::BrokerError;

fn new_topic(
    broker: &Broker,
    t: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<NewTopic, BrokerError> {
    let mut configs = Vec::with_capacity(t.configs.len());
    for c in &t.configs {
        let value = c
            .value
            .as_ref()
            .ok_or_else(|| BrokerError::InvalidConfig(format!("{}: null value", c.name)))?;
        configs.push((c.name.to_string(), value.to_string()));
    }
    let (partitions, replication_factor) = if t.assignments.is_empty() {
        (
            if t.num_partitions == -1 {
                broker.config.num_partitions
            } else {
                t.num_partitions
            },
            if t.replication_factor == -1 {
                broker.config.default_replication_factor
            } else {
                t.replication_factor
            },
        )
    } else {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err(BrokerError::InvalidRequest(
                "Both numPartitions or replicationFactor and replicasAssignments were set. Both \
                 cannot be used at the same time."
                    .into(),
            ));
        }
        for (i, a) in t.assignments.iter().enumerate() {
            if a.partition_index != i as i32 {
                return Err(BrokerError::InvalidReplicaAssignment(
                    "partitions must be assigned in order starting from 0".into(),
                ));
            }
            if a.broker_ids.is_empty() {
                return Err(BrokerError::InvalidReplicaAssignment(
                    "The manual partition assignment includes an empty replica list.".into(),
                ));
            }
        }
        let rf = t.assignments[0].broker_ids.len() as i16;
        (t.assignments.len() as i32, rf)
    };
    let assignments = (!t.assignments.is_empty()).then(|| {
        t.assignments
            .iter()
            .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
            .collect()
    });
    Ok(NewTopic {
        name: t.name.to_string(),
        partitions,
        replication_factor,
        configs,
        assignments,
    })
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut results = Vec::with_capacity(req.topics.len());
    // As Kafka: a name given more than once is answered once, with
    // INVALID_REQUEST, and not created.
    let repeated = super::repeated(req.topics.iter().map(|t| t.name.as_str()));
    let mut answered = std::collections::HashSet::<&str>::new();
    // Kafka's controller: CREATE on the cluster, else on each topic.
    let create_any = ctx.authorize(
        broker,
        AclOperation::Create,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    for t in &req.topics {
        if !answered.insert(t.name.as_str()) {
            continue;
        }
        let mut result = CreatableTopicResult::default().with_name(t.name.clone());
        if repeated.contains(t.name.as_str()) {
            results.push(
                result
                    .with_error_code(kafka_protocol::ResponseError::InvalidRequest.code())
                    .with_error_message(Some(sb("Duplicate topic name.")))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1),
            );
            continue;
        }
        if !create_any && !ctx.authorize(broker, AclOperation::Create, ResourceType::Topic, &t.name)
        {
            results.push(
                result
                    .with_error_code(BrokerError::TopicAuthorizationFailed.code())
                    .with_error_message(Some(sb("Authorization failed.")))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1),
            );
            continue;
        }
        let outcome = match new_topic(broker, t) {
            Ok(nt) => broker
                .create_topic(&nt, req.validate_only)
                .await
                .map(|img| (nt, img)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((nt, img)) => {
                if !req.validate_only {
                    info!(topic = %nt.name, "created by CreateTopics");
                }
                result = result
                    .with_error_message(None)
                    .with_topic_id(if req.validate_only {
                        uuid::Uuid::nil()
                    } else {
                        img.topic_id
                    })
                    .with_num_partitions(nt.partitions)
                    .with_replication_factor(nt.replication_factor);
                let describe_configs = ctx.authorize(
                    broker,
                    AclOperation::DescribeConfigs,
                    ResourceType::Topic,
                    &t.name,
                );
                if ctx.version() >= 5 && !describe_configs {
                    // Created, but its configs are not shown.
                    result = result
                        .with_topic_config_error_code(BrokerError::TopicAuthorizationFailed.code());
                } else if ctx.version() >= 5 {
                    // Every topic config with its value and source, as
                    // DescribeConfigs reports them (KIP-525; Kafka does the
                    // same, also for validate_only).
                    result = result.with_configs(Some(
                        broker
                            .configs()
                            .topic_config_values(&broker.cache.image(), &img)
                            .into_iter()
                            .map(|(d, value, overridden)| {
                                CreatableTopicConfigs::default()
                                    .with_name(sb(d.name))
                                    .with_value(Some(sb(&value)))
                                    .with_config_source(
                                        super::describe_configs::topic_config_source(
                                            broker, d, overridden,
                                        ),
                                    )
                            })
                            .collect(),
                    ));
                }
            }
            Err(e) => {
                result = result
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(&crate::controller::admin_error_message(&e))))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1);
            }
        }
        results.push(result);
    }
    CreateTopicsResponse::default().with_topics(results)
}
