//! InitProducerId (key 22) for idempotent producers: a new producer id from
//! the durable id blocks, epoch 0. Requests with a transactional id need the
//! transaction coordinator, which does not exist yet; they are refused with
//! UNSUPPORTED_VERSION (see the handler).

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;
use tracing::warn;

use crate::broker::Broker;

pub async fn handle(broker: &Arc<Broker>, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let fail = |e: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(e.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req.transactional_id.is_some() {
        // No transaction coordinator yet: FindCoordinator is not advertised,
        // so clients fail before getting here; a client that sends it anyway
        // is told the request is not supported for this broker.
        return fail(ResponseError::UnsupportedVersion);
    }
    match broker.allocate_producer_id().await {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            warn!(error = %e, "cannot allocate producer id");
            fail(e.response_error())
        }
    }
}
