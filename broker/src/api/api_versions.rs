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
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use memorystreamer_protocol_kafka::request::{decode_body, Header};
use memorystreamer_protocol_kafka::ProtocolError;
use tracing::{debug, info};

use super::{respond, Reply, Session};
use crate::broker::Broker;

/// INVALID_REQUEST.
const INVALID_REQUEST: i16 = 42;

/// KIP-511's rule for `client_software_name` / `client_software_version`
/// (Kafka's `[a-zA-Z0-9](?:[a-zA-Z0-9\\-.]*[a-zA-Z0-9])?`): letters, digits,
/// `-` and `.`, starting and ending with a letter or digit; not empty.
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
        }
        _ => false,
    }
}

/// Answers ApiVersions; a v3+ request with a client software name or
/// version outside KIP-511's rule is INVALID_REQUEST, as Kafka answers.
pub fn handle(
    _broker: &Arc<Broker>,
    session: &mut Session,
    header: &Header,
    body: Bytes,
) -> Result<Reply, ProtocolError> {
    let req: ApiVersionsRequest = decode_body(header, body)?;
    if header.version() >= 3
        && !(valid_software_field(&req.client_software_name)
            && valid_software_field(&req.client_software_version))
    {
        // Kafka's answer: INVALID_REQUEST with no API ranges (it lists them
        // only for UNSUPPORTED_VERSION); the connection stays open.
        debug!(
            software_name = %req.client_software_name,
            software_version = %req.client_software_version,
            "invalid client software name or version"
        );
        let resp = ApiVersionsResponse::default().with_error_code(INVALID_REQUEST);
        return respond(header, &resp);
    }
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

#[cfg(test)]
mod tests {
    use super::valid_software_field;

    #[test]
    fn software_fields_follow_kip_511() {
        for ok in [
            "librdkafka",
            "apache-kafka-java",
            "4.1.2",
            "a",
            "v1.0-rc.1",
            "9",
        ] {
            assert!(valid_software_field(ok), "{ok}");
        }
        for bad in ["", "-bad", "bad-", "bad name", "(devel)", ".1", "1.", "a_b"] {
            assert!(!valid_software_field(bad), "{bad}");
        }
    }
}
