//! Request headers and bodies.
//!
//! [`decode_header`] reads the request header (v1 or v2, chosen by API key
//! and version) after checking the key and version against the broker's
//! table, so that an unsupported request is reported with its correlation id
//! and nothing else is decoded. [`decode_body`] decodes the body fully before
//! the broker acts on it.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;

use crate::error::ProtocolError;
use crate::versions::ApiTable;

/// A request header together with its parsed API key.
#[derive(Debug, Clone)]
pub struct Header {
    /// The API.
    pub api_key: ApiKey,
    /// The full header as sent.
    pub header: RequestHeader,
}

impl Header {
    /// Version of the request.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
    /// Correlation id to echo in the response.
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
}

/// Reads the header at the front of `frame`, leaving the body in `frame`.
pub fn decode_header(frame: &mut Bytes, table: &ApiTable) -> Result<Header, ProtocolError> {
    if frame.len() < 8 {
        return Err(ProtocolError::TruncatedHeader(frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(raw_key).map_err(|()| ProtocolError::UnknownApiKey {
        api_key: raw_key,
        correlation_id,
    })?;
    let Some(range) = table.range(api_key) else {
        return Err(ProtocolError::UnknownApiKey {
            api_key: raw_key,
            correlation_id,
        });
    };
    if version < range.min || version > range.max || version < api_key.valid_versions().min {
        return Err(ProtocolError::UnsupportedVersion {
            api_key,
            version,
            correlation_id,
        });
    }
    let header_version = api_key.request_header_version(version);
    let header =
        RequestHeader::decode(frame, header_version).map_err(|e| ProtocolError::Malformed {
            api_key,
            version,
            correlation_id,
            reason: e.to_string(),
        })?;
    Ok(Header { api_key, header })
}

/// Decodes a request body of type `T`.
///
/// Trailing bytes after a complete body are ignored, as the Java broker
/// ignores them: librdkafka 2.16 sends three extra bytes after some
/// Metadata v13 requests (captured in this crate's tests), and Kafka serves
/// them.
pub fn decode_body<T: Decodable>(header: &Header, mut body: Bytes) -> Result<T, ProtocolError> {
    T::decode(&mut body, header.version()).map_err(|e| ProtocolError::Malformed {
        api_key: header.api_key,
        version: header.version(),
        correlation_id: header.correlation_id(),
        reason: e.to_string(),
    })
}
