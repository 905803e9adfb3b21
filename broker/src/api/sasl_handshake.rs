//! SaslHandshake (key 17) when it reaches a handler: on a PLAINTEXT or SSL
//! listener, or on a SASL connection already authenticated (and not
//! starting a KIP-368 re-authentication, which `security/authenticator.rs`
//! takes before dispatch). Kafka 4.x answers ILLEGAL_SASL_STATE with an
//! empty mechanism list and keeps the connection open.

use std::sync::Arc;

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::ResponseError;

use crate::broker::Broker;
use crate::context::RequestContext;

/// ILLEGAL_SASL_STATE, no mechanisms.
pub async fn handle(
    _broker: &Arc<Broker>,
    _ctx: &RequestContext<'_>,
    _req: SaslHandshakeRequest,
) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code())
}
