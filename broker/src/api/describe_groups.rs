//! DescribeGroups (key 15): state, protocol and members with their
//! metadata and assignment. An unknown group is reported as "Dead" (v0–5)
//! or GROUP_ID_NOT_FOUND (v6+), as Kafka does.

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let groups: Vec<DescribedGroup> = req
        .groups
        .iter()
        .map(|id| {
            if !ctx.authorize(broker, AclOperation::Describe, ResourceType::Group, id) {
                return DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_error_code(ResponseError::GroupAuthorizationFailed.code());
            }
            let code = broker.coordinator_error(id);
            if code != 0 {
                return DescribedGroup::default()
                    .with_group_id(id.clone())
                    .with_error_code(code);
            }
            broker.groups.with_group(id, |g| {
                let base = DescribedGroup::default().with_group_id(id.clone());
                let Some(g) = g else {
                    let dead = base.with_group_state(sb("Dead"));
                    return if ctx.version() >= 6 {
                        dead.with_error_code(ResponseError::GroupIdNotFound.code())
                            .with_error_message(Some(sb("group not found")))
                    } else {
                        dead
                    };
                };
                // As Kafka: member metadata and the chosen protocol are
                // reported only for a Stable group.
                let stable = g.state.name() == "Stable";
                let members = g
                    .members()
                    .iter()
                    .map(|m| {
                        DescribedGroupMember::default()
                            .with_member_id(sb(&m.member_id))
                            .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                            .with_client_id(sb(&m.client_id))
                            .with_client_host(sb(&m.client_host))
                            .with_member_metadata(if stable {
                                m.metadata(g.protocol.as_deref())
                            } else {
                                bytes::Bytes::new()
                            })
                            .with_member_assignment(m.assignment.clone())
                    })
                    .collect();
                base.with_group_state(sb(g.state.name()))
                    .with_protocol_type(sb(g.protocol_type.as_deref().unwrap_or("")))
                    .with_protocol_data(sb(if stable {
                        g.protocol.as_deref().unwrap_or("")
                    } else {
                        ""
                    }))
                    .with_members(members)
            })
        })
        .collect();
    let groups = groups
        .into_iter()
        .map(|g: DescribedGroup| {
            if g.error_code == 0 {
                let ops = ctx.authorized_operations(
                    broker,
                    req.include_authorized_operations,
                    ResourceType::Group,
                    &g.group_id,
                    crate::authorizer::group_operations,
                );
                g.with_authorized_operations(ops)
            } else {
                g
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}
