//! DeleteAcls (key 31): removes the stored bindings each filter selects
//! (`Broker::delete_acls`) and lists them per filter, as Kafka 4.1's
//! `AclApis.handleDeleteAcls`: ALTER on the cluster or
//! CLUSTER_AUTHORIZATION_FAILED on every filter, SECURITY_DISABLED when no
//! authorizer is configured. A filter with an UNKNOWN code fails the
//! request's parse in Kafka (`DeleteAclsRequest.normalizeAndValidate`),
//! which closes the connection; so does this handler.

use std::sync::Arc;

use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{DeleteAclsRequest, DeleteAclsResponse};
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
    req: DeleteAclsRequest,
) -> Result<DeleteAclsResponse, ProtocolError> {
    let unknown = req.filters.iter().any(|f| {
        unknown_codes(
            f.resource_type_filter,
            f.pattern_type_filter,
            f.operation,
            f.permission_type,
        )
    });
    if unknown {
        return Err(unparsable(ctx, "Filters contain UNKNOWN elements"));
    }
    let fail_all = |e: &BrokerError| {
        let result = DeleteAclsFilterResult::default()
            .with_error_code(ctx.error_code(e))
            .with_error_message(Some(sb(&message(e))));
        DeleteAclsResponse::default().with_filter_results(vec![result; req.filters.len()])
    };
    if let Err(e) = check_cluster(broker, ctx, AclOperation::Alter) {
        return Ok(fail_all(&e));
    }
    if broker.security.authorizer().is_none() {
        return Ok(fail_all(&BrokerError::SecurityDisabled(
            "No Authorizer is configured.".into(),
        )));
    }
    let filters: Vec<AclBindingFilter> = req.filters.iter().map(filter).collect();
    let results = match broker.delete_acls(&filters).await {
        Ok(results) => results,
        Err(e) => return Ok(fail_all(&e)),
    };
    Ok(DeleteAclsResponse::default().with_filter_results(
        results
            .into_iter()
            .map(|r| match r {
                Ok(matched) => DeleteAclsFilterResult::default()
                    .with_error_message(None)
                    .with_matching_acls(
                        matched
                            .iter()
                            .map(|b| {
                                DeleteAclsMatchingAcl::default()
                                    .with_error_message(None)
                                    .with_resource_type(b.resource_type.code())
                                    .with_resource_name(sb(&b.resource_name))
                                    .with_pattern_type(b.pattern_type.code())
                                    .with_principal(sb(&b.principal))
                                    .with_host(sb(&b.host))
                                    .with_operation(b.operation.code())
                                    .with_permission_type(b.permission.code())
                            })
                            .collect(),
                    ),
                Err(e) => DeleteAclsFilterResult::default()
                    .with_error_code(ctx.error_code(&e))
                    .with_error_message(Some(sb(&message(&e)))),
            })
            .collect(),
    ))
}

fn filter(f: &DeleteAclsFilter) -> AclBindingFilter {
    AclBindingFilter {
        resource_type: ResourceType::from_code(f.resource_type_filter),
        resource_name: f.resource_name_filter.as_ref().map(|s| s.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type_filter),
        principal: f.principal_filter.as_ref().map(|s| s.to_string()),
        host: f.host_filter.as_ref().map(|s| s.to_string()),
        operation: AclOperation::from_code(f.operation),
        permission: AclPermissionType::from_code(f.permission_type),
    }
}
