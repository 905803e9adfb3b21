//! AlterConfigs (key 33, the legacy form): replaces every override of a
//! topic, or every dynamic config of a BROKER resource, with the given set.

use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};

use super::describe_configs::{config_denial, BROKER, TOPIC};
use super::sb;
use crate::authorizer::AclOperation;
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
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
            let outcome = match r.resource_type {
                TOPIC | BROKER => match r
                    .configs
                    .iter()
                    .map(|c| match &c.value {
                        Some(v) => Ok((c.name.to_string(), v.to_string())),
                        None => Err(BrokerError::InvalidRequest(format!(
                            "null value for {}",
                            c.name
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()
                {
                    Err(e) => Err(e),
                    Ok(configs) if r.resource_type == TOPIC => {
                        broker
                            .alter_topic_configs(&r.resource_name, configs, req.validate_only)
                            .await
                    }
                    Ok(configs) => {
                        broker
                            .alter_broker_configs(&r.resource_name, configs, req.validate_only)
                            .await
                    }
                },
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
    AlterConfigsResponse::default().with_responses(responses)
}
