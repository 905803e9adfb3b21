//! How the harness judges an answer: response frames checked and decoded
//! back (with `apis.rs`'s per-API decoders), and which requests may
//! legitimately keep a handler waiting or get no answer.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;

use super::apis::decode_response;

/// Checks a response frame: size prefix, header (v0 for ApiVersions), the
/// correlation id, and a body that decodes as the API's response at this
/// version with nothing left over.
pub fn check_response(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    frame: &Bytes,
) -> Result<(), String> {
    if frame.len() < 4 {
        return Err(format!("response frame of {} bytes", frame.len()));
    }
    let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    if size < 0 || size as usize != frame.len() - 4 {
        return Err(format!(
            "size prefix {size} but {} bytes follow",
            frame.len() - 4
        ));
    }
    let mut body = frame.slice(4..);
    let header_version = if api == ApiKey::ApiVersions {
        0
    } else {
        api.response_header_version(version)
    };
    let header = ResponseHeader::decode(&mut body, header_version)
        .map_err(|e| format!("response header does not decode: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err(format!(
            "correlation id {} answered with {}",
            correlation_id, header.correlation_id
        ));
    }
    decode_response(api, &mut body, version)
        .map_err(|e| format!("response body does not decode as {api:?} v{version}: {e}"))?;
    if !body.is_empty() {
        return Err(format!("{} bytes after the response body", body.len()));
    }
    Ok(())
}

/// Whether a handler of this request may legitimately still be running
/// after `limit`: Fetch long-polls up to `max_wait_ms`; JoinGroup waits for
/// the other members up to the rebalance timeout; SyncGroup waits for the
/// leader's assignment. Returns how long it may wait.
pub fn may_wait(api: ApiKey, version: i16, body: &Bytes) -> Option<Duration> {
    let ms = |v: i32| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    match api {
        ApiKey::Fetch => {
            let req = FetchRequest::decode(&mut body.clone(), version).ok()?;
            Some(ms(req.max_wait_ms))
        }
        ApiKey::JoinGroup => {
            let req = JoinGroupRequest::decode(&mut body.clone(), version).ok()?;
            Some(ms(req.rebalance_timeout_ms.max(req.session_timeout_ms)))
        }
        // Bounded by the group's rebalance timeout, which an earlier
        // JoinGroup chose.
        ApiKey::SyncGroup => Some(Duration::from_secs(600)),
        _ => None,
    }
}

/// Whether a Produce request asks for no response (acks = 0).
pub fn acks_zero(version: i16, body: &Bytes) -> bool {
    ProduceRequest::decode(&mut body.clone(), version).is_ok_and(|r| r.acks == 0)
}
