//! CreateAcls (key 30): stores ACL bindings as metadata records
//! (`Broker::create_acls`), as Kafka 4.1's `AclApis.handleCreateAcls`
//! answers: ALTER on the cluster or CLUSTER_AUTHORIZATION_FAILED on every
//! creation, SECURITY_DISABLED when no authorizer is configured, else one
//! result per creation. A creation with an UNKNOWN code fails the request's
//! parse in Kafka (`CreateAclsRequest.validate`), which closes the
//! connection; so does this handler.
//!
//! Also the pieces the other ACL handlers share: the unknown-element
//! refusal and the cluster-authorization and no-authorizer errors.

use std::sync::Arc;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{CreateAclsRequest, CreateAclsResponse};
use memorystreamer_protocol_kafka::ProtocolError;

use super::sb;
use crate::authorizer::{
    AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType, CLUSTER_NAME,
};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: CreateAclsRequest,
) -> Result<CreateAclsResponse, ProtocolError> {
    if req.creations.iter().any(is_unknown) {
        return Err(unparsable(ctx, "CreatableAcls contain unknown elements"));
    }
    let fail_all = |e: &BrokerError| {
        let result = AclCreationResult::default()
            .with_error_code(ctx.error_code(e))
            .with_error_message(Some(sb(&message(e))));
        CreateAclsResponse::default().with_results(vec![result; req.creations.len()])
    };
    if let Err(e) = check_cluster(broker, ctx, AclOperation::Alter) {
        return Ok(fail_all(&e));
    }
    if broker.security.authorizer().is_none() {
        return Ok(fail_all(&BrokerError::SecurityDisabled(
            "No Authorizer is configured.".into(),
        )));
    }
    let bindings: Vec<AclBinding> = req.creations.iter().map(binding).collect();
    let results = match broker.create_acls(&bindings).await {
        Ok(results) => results,
        Err(e) => return Ok(fail_all(&e)),
    };
    Ok(CreateAclsResponse::default().with_results(
        results
            .iter()
            .map(|r| match r {
                Ok(()) => AclCreationResult::default().with_error_message(None),
                Err(e) => AclCreationResult::default()
                    .with_error_code(ctx.error_code(e))
                    .with_error_message(Some(sb(&message(e)))),
            })
            .collect(),
    ))
}

fn binding(c: &AclCreation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::from_code(c.resource_type),
        resource_name: c.resource_name.to_string(),
        pattern_type: PatternType::from_code(c.resource_pattern_type),
        principal: c.principal.to_string(),
        host: c.host.to_string(),
        operation: AclOperation::from_code(c.operation),
        permission: AclPermissionType::from_code(c.permission_type),
    }
}

fn is_unknown(c: &AclCreation) -> bool {
    unknown_codes(
        c.resource_type,
        c.resource_pattern_type,
        c.operation,
        c.permission_type,
    )
}

/// Whether any of the four codes is UNKNOWN (or a code Kafka does not
/// define, which its `fromCode` reads as UNKNOWN).
pub(super) fn unknown_codes(resource: i8, pattern: i8, operation: i8, permission: i8) -> bool {
    ResourceType::from_code(resource) == ResourceType::Unknown
        || PatternType::from_code(pattern) == PatternType::Unknown
        || AclOperation::from_code(operation) == AclOperation::Unknown
        || AclPermissionType::from_code(permission) == AclPermissionType::Unknown
}

/// A request Kafka fails to parse (its request constructor throws): the
/// connection is closed without a response.
pub(super) fn unparsable(ctx: &RequestContext<'_>, reason: &str) -> ProtocolError {
    ProtocolError::Malformed {
        api_key: ctx.api_key(),
        version: ctx.version(),
        correlation_id: ctx.correlation_id(),
        reason: reason.to_string(),
    }
}

/// Kafka's `authorizeClusterOperation`: `operation` on the cluster, else
/// CLUSTER_AUTHORIZATION_FAILED (Kafka's message names the request's
/// internal description; ours names the API and the principal).
pub(super) fn check_cluster(
    broker: &Broker,
    ctx: &RequestContext<'_>,
    operation: AclOperation,
) -> Result<(), BrokerError> {
    if ctx.authorize(broker, operation, ResourceType::Cluster, CLUSTER_NAME) {
        return Ok(());
    }
    Err(BrokerError::ClusterAuthorizationFailed(format!(
        "Request {:?} v{} of {} is not authorized.",
        ctx.api_key(),
        ctx.version(),
        ctx.session.principal.as_str()
    )))
}

/// The message Kafka sends for `e`: the bare text of an INVALID_REQUEST
/// (whose `Display` here carries a prefix for logs), else `e`'s text.
pub(super) fn message(e: &BrokerError) -> String {
    match e {
        BrokerError::InvalidRequest(m) => m.clone(),
        e => e.to_string(),
    }
}
