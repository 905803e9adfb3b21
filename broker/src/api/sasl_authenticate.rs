//! SaslAuthenticate (key 36) when it reaches a handler: on a PLAINTEXT or
//! SSL listener, or after authentication completed. Kafka answers
//! ILLEGAL_SASL_STATE with its fixed message; the connection stays open.

use std::sync::Arc;

use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::context::RequestContext;

/// ILLEGAL_SASL_STATE with Kafka's message.
pub async fn handle(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext<'_>,
    _req: SaslAuthenticateRequest,
) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::IllegalSaslState.code())
        .with_error_message(Some(StrBytes::from_static_str(
            "SaslAuthenticate request received after successful authentication",
        )))
}
