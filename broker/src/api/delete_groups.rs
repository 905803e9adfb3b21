//! DeleteGroups (key 42): empty groups only (NON_EMPTY_GROUP otherwise);
//! offsets and metadata are tombstoned in `__consumer_offsets`.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let results = req
        .groups_names
        .iter()
        .map(|g| {
            DeletableGroupResult::default()
                .with_group_id(g.clone())
                .with_error_code(match broker.coordinator_error(g) {
                    _ if !ctx.authorize(broker, AclOperation::Delete, ResourceType::Group, g) => {
                        kafka_protocol::ResponseError::GroupAuthorizationFailed.code()
                    }
                    0 => broker
                        .groups
                        .delete(broker, g)
                        .map(|e| e.code())
                        .unwrap_or(0),
                    code => code,
                })
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
