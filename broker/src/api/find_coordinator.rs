//! FindCoordinator (key 10): this node coordinates every group (single
//! node). v0–3 carry one key; v4+ a batch (`coordinator_keys`). Transaction
//! coordinators (key type 1) do not exist yet: COORDINATOR_NOT_AVAILABLE.

use std::sync::Arc;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::request::Header;

use super::sb;
use crate::broker::Broker;

const GROUP: i8 = 0;

pub fn handle(
    broker: &Arc<Broker>,
    header: &Header,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let (host, port) = broker
        .config
        .advertised_listeners
        .first()
        .map(|l| (l.host.clone(), i32::from(l.port)))
        .unwrap_or_default();
    let node = broker.config.node_id;
    let answer = |key: &StrBytes| -> (Option<ResponseError>, String) {
        if req.key_type != GROUP {
            return (
                Some(ResponseError::CoordinatorNotAvailable),
                "transactions are not supported yet".into(),
            );
        }
        if key.is_empty() {
            return (Some(ResponseError::InvalidRequest), "empty group id".into());
        }
        (None, String::new())
    };
    if header.version() >= 4 {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                let (err, msg) = answer(k);
                let c = Coordinator::default().with_key(k.clone());
                match err {
                    None => c
                        .with_node_id(BrokerId(node))
                        .with_host(sb(&host))
                        .with_port(port),
                    Some(e) => c
                        .with_node_id(BrokerId(-1))
                        .with_port(-1)
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(&msg))),
                }
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    match answer(&req.key) {
        (None, _) => FindCoordinatorResponse::default()
            .with_node_id(BrokerId(node))
            .with_host(sb(&host))
            .with_port(port),
        (Some(e), msg) => {
            let r = FindCoordinatorResponse::default()
                .with_error_code(e.code())
                .with_node_id(BrokerId(-1))
                .with_port(-1);
            if header.version() >= 1 {
                r.with_error_message(Some(sb(&msg)))
            } else {
                r
            }
        }
    }
}
