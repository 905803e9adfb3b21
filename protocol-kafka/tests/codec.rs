//! Request decoding and response encoding against captured client bytes.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, MetadataRequest};
use memorystreamer_protocol_kafka::request::{decode_body, decode_header};
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn table() -> ApiTable {
    ApiTable::new(vec![
        ApiRange {
            api_key: ApiKey::Metadata,
            min: 0,
            max: 13,
        },
        ApiRange {
            api_key: ApiKey::ApiVersions,
            min: 0,
            max: 4,
        },
    ])
}

/// Metadata v13 as librdkafka 2.16 sends it (captured): no topics.
#[test]
fn librdkafka_metadata_v13() {
    let mut frame = Bytes::from(hex("0003000d00000002000772646b61666b610001000000"));
    let h = decode_header(&mut frame, &table()).expect("header");
    assert_eq!(h.api_key, ApiKey::Metadata);
    assert_eq!(h.version(), 13);
    assert_eq!(h.correlation_id(), 2);
    assert_eq!(h.header.client_id.as_deref(), Some("rdkafka"));
    let req: MetadataRequest = decode_body(&h, frame).expect("body");
    assert_eq!(req.topics.map(|t| t.len()), Some(0));
}

/// librdkafka 2.16 follows some Metadata v13 bodies with three extra bytes;
/// the Java broker ignores them and so must we.
#[test]
fn librdkafka_metadata_v13_with_trailing_bytes() {
    let mut frame = Bytes::from(hex("0003000d00000003000772646b61666b610000000000010000"));
    let h = decode_header(&mut frame, &table()).expect("header");
    let req: MetadataRequest = decode_body(&h, frame).expect("body");
    assert!(req.topics.is_none(), "null topics = all topics");
}
