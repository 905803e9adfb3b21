//! SyncGroup (key 14): the leader's assignments are stored and every member
//! gets its own back byte for byte (empty bytes when it has none).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::ResponseError;

use super::sb;
use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;
use crate::group::protocol::Reply;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: SyncGroupRequest,
) -> SyncGroupResponse {
    if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::GroupAuthorizationFailed.code());
    }
    let code = broker.coordinator_error(&req.group_id);
    if code != 0 {
        return SyncGroupResponse::default().with_error_code(code);
    }
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), Bytes::clone(&a.assignment)))
        .collect();
    let reply = broker.groups.sync(
        broker,
        &req.group_id,
        &req.member_id,
        req.group_instance_id.as_deref(),
        req.generation_id,
        req.protocol_type.as_deref(),
        req.protocol_name.as_deref(),
        assignments,
    );
    let result = match reply {
        Reply::Now(r) => Some(r),
        Reply::Later(rx) => rx.await.ok(),
    };
    let Some(r) = result else {
        return SyncGroupResponse::default()
            .with_error_code(ResponseError::RebalanceInProgress.code());
    };
    let resp = SyncGroupResponse::default()
        .with_error_code(r.error.map(|e| e.code()).unwrap_or(0))
        .with_assignment(r.assignment);
    if ctx.version() >= 5 {
        resp.with_protocol_type(r.protocol_type.as_deref().map(sb))
            .with_protocol_name(r.protocol_name.as_deref().map(sb))
    } else {
        resp
    }
}
