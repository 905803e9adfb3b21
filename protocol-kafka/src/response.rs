//! Response encoding: size prefix, response header (v0 or v1 as the API and
//! version require; ApiVersions always v0), body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::{Encodable, HeaderVersion};

use crate::error::ProtocolError;

/// Encodes a whole response frame, size prefix included.
pub fn encode_response<T: Encodable + HeaderVersion>(
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &T,
) -> Result<Bytes, ProtocolError> {
    let fail = |reason: String| ProtocolError::Encode {
        api_key,
        version,
        reason,
    };
    let header_version = T::header_version(version);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_size = header
        .compute_size(header_version)
        .map_err(|e| fail(e.to_string()))?;
    let body_size = body
        .compute_size(version)
        .map_err(|e| fail(e.to_string()))?;
    let mut buf = BytesMut::with_capacity(4 + header_size + body_size);
    buf.put_i32((header_size + body_size) as i32);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| fail(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| fail(e.to_string()))?;
    Ok(buf.freeze())
}
