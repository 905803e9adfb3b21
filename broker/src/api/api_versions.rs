//! ApiVersions (key 18): the supported-API table, and the client software
//! name and version (KIP-511) recorded on the session.
//!
//! The response header is always v0 (no tagged fields), even for v3+
//! requests: librdkafka parses it that way. A request of a version newer
//! than ours is answered in v0 with UNSUPPORTED_VERSION and our ranges, so
//! the client can retry with a version we know; the connection handles that
//! case before dispatch.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::ApiVersionsRequest;
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::ProtocolError;
use tracing::info;

use super::{respond, Reply, Session};
use crate::broker::Broker;

pub fn handle(
    _broker: &Arc<Broker>,
    session: &mut Session,
    header: &Header,
    body: Bytes,
) -> Result<Reply, ProtocolError> {
    let req: ApiVersionsRequest = decode_body(header, body)?;
    if header.version() >= 3 {
        session.client_software_name = Some(req.client_software_name.to_string());
        session.client_software_version = Some(req.client_software_version.to_string());
        info!(
            client_id = header.header.client_id.as_deref().unwrap_or(""),
            software_name = %req.client_software_name,
            software_version = %req.client_software_version,
            "client identified"
        );
    }
    respond(header, &super::table().api_versions_response(0))
}
