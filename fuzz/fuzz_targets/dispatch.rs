//! Fuzzes the broker's whole request path in-process: frame split, request
//! header, body decoding and the handler of every supported API, against
//! one broker opened on a temporary directory for the fuzzing session.
//! Nothing may panic, every handler must finish within its time bound
//! (Fetch long-polls are bounded by the wait they ask for), and an answer
//! must carry the request's correlation id.
//!
//! `tests/wire_fuzz.rs` in the broker crate runs the same path from
//! mutated valid requests on stable Rust in CI; this target adds coverage
//! guidance (`cargo +nightly fuzz run dispatch`).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use memorystreamer_broker::api::{self, Reply};
use memorystreamer_broker::config::{BrokerConfig, LogFormat};
use memorystreamer_broker::context::{RequestContext, Session};
use memorystreamer_broker::Broker;
use memorystreamer_protocol_kafka::frame::split_frame;
use memorystreamer_protocol_kafka::request::decode_header;

struct Fixture {
    rt: tokio::runtime::Runtime,
    broker: Arc<Broker>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut props = std::collections::BTreeMap::new();
        props.insert(
            "log.dirs".to_string(),
            dir.path().join("data").display().to_string(),
        );
        props.insert(
            "listeners".to_string(),
            "PLAINTEXT://127.0.0.1:0".to_string(),
        );
        props.insert(
            "group.initial.rebalance.delay.ms".to_string(),
            "0".to_string(),
        );
        let config = BrokerConfig::from_properties(&props, LogFormat::Text).expect("config");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let broker = Arc::new(rt.block_on(Broker::open(config)).expect("open broker"));
        Fixture {
            rt,
            broker,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(data.len() as i32).to_be_bytes());
    buf.extend_from_slice(data);
    let Ok(Some(frame)) = split_frame(&mut buf, 1 << 20) else {
        return;
    };
    let mut frame = frame.freeze();
    let Ok(header) = decode_header(&mut frame, api::table()) else {
        return;
    };
    let correlation_id = header.correlation_id();
    let broker = Arc::clone(&f.broker);
    let answer = f.rt.block_on(async move {
        let task = tokio::spawn(async move {
            // As from the broker's PLAINTEXT listener: addresses in answers
            // are that listener's.
            let mut session = Session {
                listener: Arc::from("PLAINTEXT"),
                ..Session::default()
            };
            api::dispatch(
                &broker,
                &mut RequestContext::new(&header, &mut session),
                frame,
            )
            .await
        });
        // Long-polls (Fetch max_wait_ms, JoinGroup/SyncGroup waits) are cut
        // off here; a handler that never yields would block the worker and
        // show up as a libFuzzer timeout.
        tokio::time::timeout(Duration::from_secs(2), task).await
    });
    match answer {
        Ok(Ok(Ok(Reply::Frame(bytes)))) => {
            assert!(bytes.len() >= 8, "response shorter than a header");
            let size = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            assert_eq!(size as usize, bytes.len() - 4, "size prefix");
            let id = i32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
            assert_eq!(id, correlation_id, "correlation id");
        }
        Ok(Ok(_)) | Err(_) => {}
        Ok(Err(e)) => panic!("handler panicked or failed: {e}"),
    }
});
