//! DescribeAcls (key 29): the stored bindings a filter selects, grouped by
//! resource pattern, as Kafka 4.1's `AclApis.handleDescribeAcls`: DESCRIBE
//! on the cluster or CLUSTER_AUTHORIZATION_FAILED, SECURITY_DISABLED when no
//! authorizer is configured. A filter with an UNKNOWN code fails the
//! request's parse in Kafka (`DescribeAclsRequest.normalizeAndValidate`),
//! which closes the connection; so does this handler.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{DescribeAclsRequest, DescribeAclsResponse};
use memorystreamer_protocol_kafka::ProtocolError;

use super::create_acls::{check_cluster, message, unknown_codes, unparsable};
use super::sb;
use crate::authorizer::{
    AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourceType,
};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::error::BrokerError;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeAclsRequest,
) -> Result<DescribeAclsResponse, ProtocolError> {
    if unknown_codes(
        req.resource_type_filter,
        req.pattern_type_filter,
        req.operation,
        req.permission_type,
    ) {
        return Err(unparsable(
            ctx,
            "DescribeAclsRequest contains UNKNOWN elements",
        ));
    }
    let fail = |e: &BrokerError| {
        DescribeAclsResponse::default()
            .with_error_code(ctx.error_code(e))
            .with_error_message(Some(sb(&message(e))))
    };
    if let Err(e) = check_cluster(broker, ctx, AclOperation::Describe) {
        return Ok(fail(&e));
    }
    if broker.security.authorizer().is_none() {
        return Ok(fail(&BrokerError::SecurityDisabled(
            "No Authorizer is configured on the broker".into(),
        )));
    }
    let filter = AclBindingFilter {
        resource_type: ResourceType::from_code(req.resource_type_filter),
        resource_name: req.resource_name_filter.map(|s| s.to_string()),
        pattern_type: PatternType::from_code(req.pattern_type_filter),
        principal: req.principal_filter.map(|s| s.to_string()),
        host: req.host_filter.map(|s| s.to_string()),
        operation: AclOperation::from_code(req.operation),
        permission: AclPermissionType::from_code(req.permission_type),
    };
    // Kafka's `DescribeAclsResponse.aclsResources`: one resource per
    // (type, name, pattern type) with its entries.
    let mut resources: BTreeMap<(i8, String, i8), Vec<AclDescription>> = BTreeMap::new();
    for b in broker.describe_acls(&filter) {
        resources
            .entry((
                b.resource_type.code(),
                b.resource_name.clone(),
                b.pattern_type.code(),
            ))
            .or_default()
            .push(
                AclDescription::default()
                    .with_principal(sb(&b.principal))
                    .with_host(sb(&b.host))
                    .with_operation(b.operation.code())
                    .with_permission_type(b.permission.code()),
            );
    }
    Ok(DescribeAclsResponse::default()
        .with_error_message(None)
        .with_resources(
            resources
                .into_iter()
                .map(|((resource_type, name, pattern_type), acls)| {
                    DescribeAclsResource::default()
                        .with_resource_type(resource_type)
                        .with_resource_name(sb(&name))
                        .with_pattern_type(pattern_type)
                        .with_acls(acls)
                })
                .collect(),
        ))
}
