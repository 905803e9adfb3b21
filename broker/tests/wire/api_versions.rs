//! ApiVersions on the wire: the v0 response header every version gets,
//! and the ranges answered to a version from the future.
//!
//! Not the per-API version table itself (`broker/src/api/mod.rs`).

use bytes::BytesMut;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::common::*;

#[test]
fn api_versions_header_is_v0_and_unknown_version_gets_ranges() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    // v3 request: the response header must be v0 (no tagged-field byte):
    // the frame is correlation id then error code 0 directly.
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("wire"))
        .with_client_software_version(StrBytes::from_static_str("1"));
    let id = c.send(ApiKey::ApiVersions, 3, &req);
    let frame = c.read_frame().expect("response");
    assert_eq!(&frame[0..4], &id.to_be_bytes());
    assert_eq!(
        &frame[4..6],
        &[0, 0],
        "error code right after the correlation id"
    );
    let mut rest = frame.slice(4..);
    let resp = ApiVersionsResponse::decode(&mut rest, 3).expect("decode");
    let produce = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == 0)
        .expect("produce advertised");
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    assert!(resp
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Fetch as i16 && k.max_version >= 13));

    // A version from the future: v0-format answer, error 35, our ranges.
    let mut raw = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(99)
        .with_correlation_id(77)
        .encode(&mut raw, 1)
        .expect("header");
    let mut frame = (raw.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&raw);
    c.send_raw(&frame);
    let mut resp = c.read_frame().expect("response");
    let header = ResponseHeader::decode(&mut resp, 0).expect("header");
    assert_eq!(header.correlation_id, 77);
    let body = ApiVersionsResponse::decode(&mut resp, 0).expect("v0 body");
    assert_eq!(body.error_code, 35);
    assert!(!body.api_keys.is_empty());
}
