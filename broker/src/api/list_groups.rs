//! ListGroups (key 16): every group with its protocol type, state (v4+,
//! filterable) and type (v5+, always "classic").

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::sb;
use crate::authorizer::{AclOperation, ResourceType, CLUSTER_NAME};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: ListGroupsRequest,
) -> ListGroupsResponse {
    // DESCRIBE on the cluster lists every group; else only the groups the
    // principal may DESCRIBE, silently.
    let all = ctx.authorize(
        broker,
        AclOperation::Describe,
        ResourceType::Cluster,
        CLUSTER_NAME,
    );
    let groups = broker
        .groups
        .list()
        .into_iter()
        .filter(|g| {
            all || ctx.authorize(
                broker,
                AclOperation::Describe,
                ResourceType::Group,
                &g.group_id,
            )
        })
        .filter(|g| {
            req.states_filter.is_empty()
                || req
                    .states_filter
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(g.state.name()))
        })
        .filter(|_| {
            req.types_filter.is_empty()
                || req
                    .types_filter
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("classic"))
        })
        .map(|g| {
            ListedGroup::default()
                .with_group_id(GroupId(sb(&g.group_id)))
                .with_protocol_type(sb(&g.protocol_type))
                .with_group_state(sb(g.state.name()))
                .with_group_type(sb("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}
