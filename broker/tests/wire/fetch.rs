//! Fetch: long-polling (woken by an append), KIP-74's first-batch rule,
//! mid-batch offsets and out-of-range answers.
//!
//! Not read_committed fetches (`transactions.rs`).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;

use crate::common::*;

#[test]
fn fetch_long_poll_kip74_and_mid_batch() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "f", 1);
    // Empty partition, max_wait 300 ms: waits, then answers with empty
    // (not null) records.
    let start = Instant::now();
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 300, 1, 1 << 20));
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "an empty fetch must wait"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.records.as_ref().map(Bytes::len), Some(0));

    // A long fetch is woken by a produce on another connection.
    let port = b.port;
    let waiter = std::thread::spawn(move || {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut c = Client { s, next_id: 1 };
        let start = Instant::now();
        let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 20_000, 1, 1 << 20));
        (start.elapsed(), r)
    });
    // Give the fetch time to park (it is correct either way: if the produce
    // lands first, the fetch answers at once).
    std::thread::sleep(Duration::from_millis(200));
    produce(
        &mut c,
        "f",
        batch(&["one", "two", "three"], -1, -1, Compression::Snappy),
    );
    let (waited, r) = waiter.join().expect("waiter");
    assert!(
        waited < Duration::from_secs(10),
        "fetch not woken by the append"
    );
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.high_watermark, 3);
    assert!(!p.records.as_ref().map(Bytes::is_empty).unwrap_or(true));

    // Mid-batch offset: the whole containing batch comes back.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 1, 0, 1, 1 << 20));
    let recs = r.responses[0].partitions[0]
        .records
        .clone()
        .expect("records");
    assert_eq!(
        i64::from_be_bytes(recs[0..8].try_into().expect("8 bytes")),
        0,
        "batch starts at 0"
    );

    // KIP-74: max_bytes smaller than the first batch still returns it.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 0, 0, 1, 10));
    assert!(
        r.responses[0].partitions[0]
            .records
            .as_ref()
            .map(Bytes::len)
            .unwrap_or(0)
            > 10
    );

    // Out of range.
    let r: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch_req("f", 50, 0, 1, 1 << 20));
    assert_eq!(r.responses[0].partitions[0].error_code, 1);
}
