//! ApiVersions (key 18): the registry's version ranges (`super::table`),
//! and the client software name and version (KIP-511) recorded on the
//! session.
//!
//! The response header is always v0 (no tagged fields), even for v3+
//! requests: librdkafka parses it that way. A request of a version newer
//! than ours is answered in v0 with UNSUPPORTED_VERSION and our ranges, so
//! the client can retry with a version we know: the header decoder refuses
//! the version before dispatch, so the connection sends
//! [`unsupported_version`] itself.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::response::encode_response;
use memorystreamer_protocol_kafka::ProtocolError;
use tracing::{debug, info};

use super::Reply;
use crate::broker::Broker;
use crate::context::{ClientSoftware, RequestContext};

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

/// Answers ApiVersions with the registry's ranges and records the client
/// software (v3+) on the session; a v3+ request with a client software name
/// or version outside KIP-511's rule is INVALID_REQUEST, as Kafka answers.
pub async fn handle(
    _broker: &Arc<Broker>,
    ctx: &mut RequestContext<'_>,
    req: ApiVersionsRequest,
) -> ApiVersionsResponse {
    if ctx.version() >= 3
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
        return ApiVersionsResponse::default()
            .with_error_code(ResponseError::InvalidRequest.code());
    }
    if ctx.version() >= 3 {
        ctx.session.client_software = Some(ClientSoftware {
            name: req.client_software_name.to_string(),
            version: req.client_software_version.to_string(),
        });
        info!(
            client_id = ctx.client_id(),
            software_name = %req.client_software_name,
            software_version = %req.client_software_version,
            "client identified"
        );
    }
    super::table().api_versions_response(0)
}

/// The v0 ApiVersions answer to a version we do not know: error 35 plus our
/// ranges, so the client can retry with a version we support. The
/// connection sends it when the header decoder refuses the version, before
/// any dispatch.
pub fn unsupported_version(correlation_id: i32) -> Result<Reply, ProtocolError> {
    let body = super::table().api_versions_response(ResponseError::UnsupportedVersion.code());
    encode_response(ApiKey::ApiVersions, 0, correlation_id, &body).map(Reply::Frame)
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
