//! JoinGroup (key 11): waits (without holding any lock) until the group's
//! join phase completes; KIP-394 member-id round trip for v4+.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::group::protocol::{JoinRequest, JoinResult, Reply};

fn to_response(r: JoinResult, version: i16) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_skip_assignment(version >= 9 && r.skip_assignment)
        .with_error_code(r.error.map(|e| e.code()).unwrap_or(0))
        .with_generation_id(r.generation_id)
        .with_protocol_type(if version >= 7 {
            r.protocol_type.as_deref().map(sb)
        } else {
            None
        })
        .with_protocol_name(r.protocol_name.as_deref().map(sb))
        .with_leader(sb(&r.leader))
        .with_member_id(sb(&r.member_id))
        .with_members(
            r.members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(sb(&m.member_id))
                        .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                        .with_metadata(m.metadata)
                })
                .collect(),
        )
}

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: JoinGroupRequest,
) -> JoinGroupResponse {
    let version = ctx.version();
    // READ on the group, before the group id is even looked at.
    if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        return JoinGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code())
            .with_generation_id(-1)
            .with_protocol_name(None)
            .with_member_id(req.member_id);
    }
    if req.group_id.is_empty() {
        return JoinGroupResponse::default()
            .with_error_code(ResponseError::InvalidGroupId.code())
            .with_protocol_name(None)
            .with_member_id(req.member_id);
    }
    let code = broker.coordinator_error(&req.group_id);
    if code != 0 {
        return JoinGroupResponse::default()
            .with_error_code(code)
            .with_protocol_name(None)
            .with_member_id(req.member_id);
    }
    let jr = JoinRequest {
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: ctx.client_id().to_string(),
        client_host: ctx.session.client_host(),
        session_timeout: Duration::from_millis(req.session_timeout_ms.max(0) as u64),
        rebalance_timeout: Duration::from_millis(
            if version >= 1 {
                req.rebalance_timeout_ms
            } else {
                req.session_timeout_ms
            }
            .max(0) as u64,
        ),
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), Bytes::clone(&p.metadata)))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let result = match broker.groups.join(broker, &req.group_id, jr) {
        Reply::Now(r) => r,
        Reply::Later(rx) => match rx.await {
            Ok(r) => r,
            Err(_) => JoinResult {
                error: Some(crate::error::GroupError::UnknownMemberId),
                generation_id: -1,
                protocol_type: None,
                protocol_name: None,
                leader: String::new(),
                member_id: req.member_id.to_string(),
                members: Vec::new(),
                skip_assignment: false,
            },
        },
    };
    to_response(result, version)
}
