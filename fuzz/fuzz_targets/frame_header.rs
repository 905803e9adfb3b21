//! Fuzzes the request path the connection runs on untrusted bytes: frame
//! split (size cap), request header, and the body decoder of every API the
//! broker serves. Nothing may panic.
#![no_main]

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use libfuzzer_sys::fuzz_target;
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::{decode_body, decode_header};
use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};

fuzz_target!(|data: &[u8]| {
    let table = ApiTable::new(
        ApiKey::iter()
            .map(|k| ApiRange { api_key: k, min: k.valid_versions().min, max: k.valid_versions().max })
            .collect(),
    );
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) {
        let mut frame = frame.freeze();
        let Ok(h) = decode_header(&mut frame, &table) else { continue };
        let body: Bytes = frame;
        let _ = match h.api_key {
            ApiKey::Produce => decode_body::<ProduceRequest>(&h, body).map(drop),
            ApiKey::Fetch => decode_body::<FetchRequest>(&h, body).map(drop),
            ApiKey::ListOffsets => decode_body::<ListOffsetsRequest>(&h, body).map(drop),
            ApiKey::Metadata => decode_body::<MetadataRequest>(&h, body).map(drop),
            ApiKey::ApiVersions => decode_body::<ApiVersionsRequest>(&h, body).map(drop),
            ApiKey::CreateTopics => decode_body::<CreateTopicsRequest>(&h, body).map(drop),
            ApiKey::DeleteTopics => decode_body::<DeleteTopicsRequest>(&h, body).map(drop),
            ApiKey::InitProducerId => decode_body::<InitProducerIdRequest>(&h, body).map(drop),
            ApiKey::DescribeCluster => decode_body::<DescribeClusterRequest>(&h, body).map(drop),
            _ => Ok(()),
        };
    }
});
