//! Heartbeat (key 12).

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use crate::authorizer::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::context::RequestContext;

pub async fn handle(
    broker: &Arc<Broker>,
    ctx: &RequestContext<'_>,
    req: HeartbeatRequest,
) -> HeartbeatResponse {
    if !ctx.authorize(
        broker,
        AclOperation::Read,
        ResourceType::Group,
        &req.group_id,
    ) {
        return HeartbeatResponse::default()
            .with_error_code(kafka_protocol::ResponseError::GroupAuthorizationFailed.code());
    }
    let code = broker.coordinator_error(&req.group_id);
    if code != 0 {
        return HeartbeatResponse::default().with_error_code(code);
    }
    let err = broker.groups.heartbeat(
        &req.group_id,
        &req.member_id,
        req.group_instance_id.as_deref(),
        req.generation_id,
    );
    HeartbeatResponse::default().with_error_code(err.map(|e| e.code()).unwrap_or(0))
}
