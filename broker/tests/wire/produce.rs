//! Produce: the batch validation errors a client can cause, and the
//! idempotent producer's duplicates and sequence gaps.
//!
//! Not transactional produce (`transactions.rs`).

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;

#[test]
fn produce_validation_errors() {
    let b = TestBroker::start(&[("message.max.bytes", "2000")]);
    let mut c = b.connect();
    create_topic(&mut c, "t", 1);
    // Bad CRC.
    let mut bad = batch(&["a", "b"], -1, -1, Compression::None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        produce(&mut c, "t", Bytes::from(bad)).error_code,
        2,
        "CORRUPT_MESSAGE"
    );
    // Magic 1 (legacy format).
    let mut legacy = batch(&["a"], -1, -1, Compression::None).to_vec();
    legacy[16] = 1;
    assert_eq!(
        produce(&mut c, "t", Bytes::from(legacy)).error_code,
        87,
        "INVALID_RECORD"
    );
    // Two batches in one partition (v3+ allows exactly one).
    let two = [
        batch(&["a"], -1, -1, Compression::None),
        batch(&["b"], -1, -1, Compression::None),
    ]
    .concat();
    assert_eq!(produce(&mut c, "t", Bytes::from(two)).error_code, 87);
    // Empty / truncated records.
    assert_eq!(produce(&mut c, "t", Bytes::new()).error_code, 2);
    let t = batch(&["abc"], -1, -1, Compression::None);
    assert_eq!(produce(&mut c, "t", t.slice(..t.len() - 1)).error_code, 2);
    // Too large.
    let big = "x".repeat(3000);
    assert_eq!(
        produce(&mut c, "t", batch(&[&big], -1, -1, Compression::None)).error_code,
        10
    );
    // Unknown partition and topic.
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("t", 5, batch(&["a"], -1, -1, Compression::None), 1),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 3);
    // Bad acks.
    let r: ProduceResponse = c.call(
        ApiKey::Produce,
        9,
        &produce_req("t", 0, batch(&["a"], -1, -1, Compression::None), 2),
    );
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    // Nothing of the above was stored.
    let ok = produce(&mut c, "t", batch(&["fine"], -1, -1, Compression::None));
    assert_eq!((ok.error_code, ok.base_offset), (0, 0));
}

#[test]
fn idempotent_duplicates_and_gaps() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "idem", 1);
    let pid: InitProducerIdResponse = c.call(
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(-1),
    );
    assert_eq!(pid.error_code, 0);
    let id = pid.producer_id.0;
    assert!(id >= 0);
    let first = batch(&["a", "b", "c"], id, 0, Compression::Lz4);
    assert_eq!(produce(&mut c, "idem", first.clone()).base_offset, 0);
    let second = batch(&["d"], id, 3, Compression::Gzip);
    assert_eq!(produce(&mut c, "idem", second.clone()).base_offset, 3);
    // Retried duplicates: success with the original offsets, nothing appended.
    let dup = produce(&mut c, "idem", first);
    assert_eq!((dup.error_code, dup.base_offset), (0, 0));
    let dup = produce(&mut c, "idem", second);
    assert_eq!((dup.error_code, dup.base_offset), (0, 3));
    // A gap is OUT_OF_ORDER_SEQUENCE_NUMBER.
    assert_eq!(
        produce(&mut c, "idem", batch(&["x"], id, 9, Compression::None)).error_code,
        45
    );
    let next = produce(&mut c, "idem", batch(&["e"], id, 4, Compression::None));
    assert_eq!((next.error_code, next.base_offset), (0, 4));
    // A second producer gets a different id.
    let pid2: InitProducerIdResponse = c.call(
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(-1),
    );
    assert_ne!(pid2.producer_id.0, id);
}
