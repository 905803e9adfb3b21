//! The frame layer under every API: bad frames close only their own
//! connection, and pipelined requests are answered in order.
//!
//! Not any one API's behaviour (each has its own file).

use kafka_protocol::messages::*;

use crate::common::*;

#[test]
fn bad_frames_close_only_their_connection() {
    let b = TestBroker::start(&[("socket.request.max.bytes", "1048576")]);
    let mut healthy = b.connect();
    let cases: Vec<Vec<u8>> = vec![
        (-5i32).to_be_bytes().to_vec(),          // negative size
        (200_000_000i32).to_be_bytes().to_vec(), // oversized
        [&8i32.to_be_bytes()[..], &[0x7f, 0x7f, 0, 0, 0, 0, 0, 1]].concat(), // unknown API key
        [&6i32.to_be_bytes()[..], &[0, 3, 0, 1, 0, 0]].concat(), // header too short
        [
            &12i32.to_be_bytes()[..],
            &[0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff],
        ]
        .concat(), // garbage body
        [&8i32.to_be_bytes()[..], &[0, 0, 0, 1, 0, 0, 0, 1]].concat(), // Produce v1: legacy, refused
        // Metadata v1 declaring 2^31 topics: must not allocate (process abort).
        [
            &15i32.to_be_bytes()[..],
            &[0, 3, 0, 1, 0, 0, 0, 1, 0, 1, b'z', 0x7f, 0xff, 0xff, 0xf0],
        ]
        .concat(),
    ];
    for (i, bytes) in cases.iter().enumerate() {
        let mut c = b.connect();
        c.send_raw(bytes);
        assert!(c.is_closed(), "case {i}: connection should be closed");
    }
    // A truncated frame followed by the client hanging up.
    let mut c = b.connect();
    c.send_raw(&[0, 0, 0, 50, 0, 3]);
    drop(c);
    // Everyone else is still served.
    let r: MetadataResponse = healthy.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.cluster_id.as_deref().map(str::len), Some(22));
}

#[test]
fn pipelined_requests_answered_in_order() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let ids: Vec<i32> = (0..20)
        .map(|_| {
            c.send(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default().with_topics(Some(vec![])),
            )
        })
        .collect();
    for id in ids {
        let _: MetadataResponse = c.recv(12, id);
    }
}
