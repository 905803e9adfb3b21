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

mod never_panics {
    use bytes::BytesMut;
    use kafka_protocol::messages::*;
    use memorystreamer_protocol_kafka::frame::split_frame;
    use memorystreamer_protocol_kafka::records::validate_produce_records;
    use memorystreamer_protocol_kafka::request::{decode_body, decode_header};
    use memorystreamer_protocol_kafka::versions::{ApiRange, ApiTable};
    use proptest::prelude::*;

    fn all_apis() -> ApiTable {
        ApiTable::new(
            ApiKey::iter()
                .map(|k| ApiRange {
                    api_key: k,
                    min: k.valid_versions().min,
                    max: k.valid_versions().max,
                })
                .collect(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The same ground as the `frame_header` fuzz target, in CI: random
        /// frames with a plausible header prefix never panic the decoders.
        #[test]
        fn request_decoding(key in 0i16..80, version in -1i16..20, body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut raw = Vec::new();
            raw.extend_from_slice(&((8 + body.len()) as i32).to_be_bytes());
            raw.extend_from_slice(&key.to_be_bytes());
            raw.extend_from_slice(&version.to_be_bytes());
            raw.extend_from_slice(&7i32.to_be_bytes());
            raw.extend_from_slice(&body);
            let mut buf = BytesMut::from(&raw[..]);
            if let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) {
                let mut frame = frame.freeze();
                if let Ok(h) = decode_header(&mut frame, &all_apis()) {
                    let _ = match h.api_key {
                        ApiKey::Produce => decode_body::<ProduceRequest>(&h, frame).map(drop),
                        ApiKey::Fetch => decode_body::<FetchRequest>(&h, frame).map(drop),
                        ApiKey::ListOffsets => decode_body::<ListOffsetsRequest>(&h, frame).map(drop),
                        ApiKey::Metadata => decode_body::<MetadataRequest>(&h, frame).map(drop),
                        ApiKey::ApiVersions => decode_body::<ApiVersionsRequest>(&h, frame).map(drop),
                        ApiKey::CreateTopics => decode_body::<CreateTopicsRequest>(&h, frame).map(drop),
                        ApiKey::DeleteTopics => decode_body::<DeleteTopicsRequest>(&h, frame).map(drop),
                        ApiKey::InitProducerId => decode_body::<InitProducerIdRequest>(&h, frame).map(drop),
                        ApiKey::DescribeCluster => decode_body::<DescribeClusterRequest>(&h, frame).map(drop),
                        _ => Ok(()),
                    };
                }
            }
        }

        /// Random bytes never panic the batch validator.
        #[test]
        fn batch_validation(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = validate_produce_records(&bytes);
        }
    }
}

#[test]
fn api_versions_response_v3_has_no_default_tagged_fields() {
    use kafka_protocol::messages::ApiVersionsResponse;
    let t = table();
    let body = t.api_versions_response(0);
    let frame =
        memorystreamer_protocol_kafka::response::encode_response(ApiKey::ApiVersions, 3, 9, &body)
            .expect("encode");
    // size(4) correlation(4) error(2) then compact array length = n+1.
    assert_eq!(&frame[4..8], &9i32.to_be_bytes());
    assert_eq!(&frame[8..10], &[0, 0]);
    assert_eq!(frame[10], 3, "two APIs in the compact array");
    // ... entries, throttle time, then exactly one tagged-field count byte 0.
    assert_eq!(frame[frame.len() - 1], 0);
    let mut rest = frame.slice(8..);
    let back = <ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut rest, 3)
        .expect("decode");
    assert_eq!(back.api_keys.len(), 2);
    assert!(rest.is_empty(), "no bytes beyond the body");
}

/// A huge declared array length must be an error, not an allocation.
#[test]
fn huge_array_length_is_an_error() {
    let mut frame = Bytes::from(hex("000300010000000100017a7ffffff0"));
    let h = decode_header(&mut frame, &table()).expect("header");
    assert!(decode_body::<MetadataRequest>(&h, frame).is_err());
}

/// The patched paths of the vendored `kafka-protocol` record decoder
/// (third_party/kafka-protocol/PATCHES.md): a lying record count reserves
/// nothing it cannot justify, and every codec's output is capped.
mod vendored_record_decoder {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::records::{
        Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
        TimestampType,
    };

    fn batch(values: Vec<Bytes>, compression: Compression) -> BytesMut {
        let records: Vec<Record> = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: 1,
                key: None,
                value: Some(v),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression,
            },
        )
        .expect("encode");
        buf
    }

    #[test]
    fn a_lying_record_count_is_an_error_not_an_allocation() {
        let mut b = batch(vec![Bytes::from_static(b"v")], Compression::None);
        b[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(RecordBatchDecoder::decode(&mut b.freeze()).is_err());
    }

    #[test]
    fn every_codec_caps_its_output() {
        // 80 MiB of zeros compresses to little and exceeds the 64 MiB cap.
        let big = Bytes::from(vec![0u8; 80 << 20]);
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let b = batch(vec![big.clone()], c);
            assert!(b.len() < 8 << 20, "{c:?} compressed to {}", b.len());
            let e = RecordBatchDecoder::decode(&mut b.freeze()).expect_err("over the cap");
            assert!(format!("{e:#}").contains("more than"), "{c:?}: {e:#}");
        }
        let small = batch(vec![Bytes::from_static(b"fits")], Compression::Zstd);
        let set = RecordBatchDecoder::decode(&mut small.freeze()).expect("small batch");
        assert_eq!(set.records.len(), 1);
    }
}
