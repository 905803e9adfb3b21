//! LeaveGroup (key 13): one member (v0–2) or a batch (v3+, static members
//! by instance id).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: LeaveGroupRequest,
) -> LeaveGroupResponse {
    if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        return LeaveGroupResponse::default()
            .with_error_code(kafka_protocol::ResponseError::GroupAuthorizationFailed.code());
    }
    let code = broker.coordinator_error(&req.group_id);
    if code != 0 {
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let batched = ctx.version() >= 3;
    let members: Vec<(String, Option<String>)> = if batched {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    match broker.groups.leave(broker, &req.group_id, &members) {
        Err(e) => LeaveGroupResponse::default().with_error_code(e.code()),
        Ok(results) if batched => LeaveGroupResponse::default().with_members(
            req.members
                .iter()
                .zip(results)
                .map(|(m, r)| {
                    MemberResponse::default()
                        .with_member_id(m.member_id.clone())
                        .with_group_instance_id(m.group_instance_id.clone())
                        .with_error_code(r.map(|e| e.code()).unwrap_or(0))
                })
                .collect(),
        ),
        Ok(results) => LeaveGroupResponse::default().with_error_code(
            results
                .first()
                .cloned()
                .flatten()
                .map(|e| e.code())
                .unwrap_or(0),
        ),
    }
}
