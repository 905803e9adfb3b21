//! Connection limits over TCP against an in-process broker (issue 12,
//! item 14): `connections.max.idle.ms` for idle connections and for
//! requests that trickle in, `max.connections`, `max.connections.per.ip`
//! and `queued.max.request.bytes`. The memory and file-descriptor tests,
//! which need a broker process of their own, are in `connections_process.rs`.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::TestBroker;

/// A raw connection to `b` with a 10 s read timeout.
fn connect(b: &TestBroker) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", b.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// An ApiVersions v0 request frame (header v1, null client id, empty body).
fn api_versions(correlation_id: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

/// Reads one response frame and returns its correlation id; Err when the
/// read fails (closed, reset or timed out).
fn read_response(s: &mut TcpStream) -> std::io::Result<i32> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; i32::from_be_bytes(len).max(0) as usize];
    s.read_exact(&mut body)?;
    if body.len() < 4 {
        return Err(std::io::Error::new(ErrorKind::InvalidData, "short frame"));
    }
    Ok(i32::from_be_bytes([body[0], body[1], body[2], body[3]]))
}

/// One ApiVersions round trip; true when the broker answered it.
fn round_trip(s: &mut TcpStream, correlation_id: i32) -> bool {
    s.write_all(&api_versions(correlation_id)).is_ok()
        && matches!(read_response(s), Ok(id) if id == correlation_id)
}

/// Whether the broker has closed `s`: waits up to `wait` for EOF or a
/// reset; false when the connection is still open at the end.
fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).expect("timeout");
    let mut b = [0u8; 64];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn a_request_trickled_in_is_closed_after_the_idle_time() {
    let b = TestBroker::start(&[("connections.max.idle.ms", "1000")]);
    let mut s = connect(&b);
    let start = Instant::now();
    // A 100-byte request, one byte every 100 ms: each byte is activity, but
    // the request never completes within connections.max.idle.ms.
    s.write_all(&100i32.to_be_bytes()).expect("size");
    let deadline = start + Duration::from_secs(20);
    let mut sent = 0;
    let closed = loop {
        if closed_within(&mut s, Duration::from_millis(100)) {
            break true;
        }
        if Instant::now() > deadline || sent == 99 {
            break false;
        }
        if s.write_all(&[0u8]).is_err() {
            break true;
        }
        sent += 1;
    };
    let took = start.elapsed();
    assert!(
        closed,
        "a trickling request was not cut off ({sent} bytes sent over {took:?})"
    );
    assert!(
        took >= Duration::from_millis(900),
        "closed before the idle time: {took:?}"
    );
}

#[test]
fn an_idle_connection_is_closed_and_a_busy_one_is_not() {
    let b = TestBroker::start(&[("connections.max.idle.ms", "1000")]);
    let mut idle = connect(&b);
    let mut busy = connect(&b);
    assert!(round_trip(&mut idle, 1));
    let start = Instant::now();
    let mut id = 10;
    let closed = loop {
        if closed_within(&mut idle, Duration::from_millis(200)) {
            break true;
        }
        if start.elapsed() > Duration::from_secs(20) {
            break false;
        }
        id += 1;
        assert!(round_trip(&mut busy, id), "the busy connection was closed");
    };
    assert!(closed, "an idle connection was never closed");
    assert!(start.elapsed() >= Duration::from_millis(900));
    id += 1;
    assert!(round_trip(&mut busy, id), "the busy connection was closed");
}

#[test]
fn max_connections_per_ip_closes_the_extra_connection() {
    let b = TestBroker::start(&[("max.connections.per.ip", "2")]);
    let mut first = connect(&b);
    let mut second = connect(&b);
    assert!(round_trip(&mut first, 1));
    assert!(round_trip(&mut second, 2));
    let mut third = connect(&b);
    let _ = third.write_all(&api_versions(3));
    assert!(
        closed_within(&mut third, Duration::from_secs(10)),
        "a third connection from one IP was served"
    );
    assert!(
        round_trip(&mut first, 4),
        "the first connection stopped working"
    );
    assert!(
        round_trip(&mut second, 5),
        "the second connection stopped working"
    );
    // A slot frees up when a connection ends (once the broker has seen it).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect(&b);
        if round_trip(&mut s, 6) {
            break;
        }
        assert!(Instant::now() < deadline, "the freed slot was never reused");
    }
}

#[test]
fn max_connections_stops_accepting_until_a_connection_ends() {
    let b = TestBroker::start(&[("max.connections", "2")]);
    let mut first = connect(&b);
    let mut second = connect(&b);
    assert!(round_trip(&mut first, 1));
    assert!(round_trip(&mut second, 2));
    // The third waits in the backlog (Kafka blocks accepting; it does not
    // close): no answer while two are open.
    let mut third = connect(&b);
    third.write_all(&api_versions(3)).expect("write");
    third
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .expect("timeout");
    match read_response(&mut third) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a connection over max.connections was served or closed: {other:?}"),
    }
    assert!(round_trip(&mut second, 4));
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_eq!(
        read_response(&mut third).expect("answered once a slot is free"),
        3
    );
}

#[test]
fn queued_max_request_bytes_pauses_reading_until_bytes_are_released() {
    let b = TestBroker::start(&[
        ("queued.max.request.bytes", "1024"),
        ("socket.request.max.bytes", "1024"),
    ]);
    let mut big = connect(&b);
    let mut small = connect(&b);
    assert!(round_trip(&mut small, 1));
    // A request declaring 1010 bytes holds them (plus its 4-byte size)
    // while it arrives, leaving 10 bytes of the pool.
    big.write_all(&1010i32.to_be_bytes()).expect("size");
    big.write_all(&[0u8; 10]).expect("part");
    // Wait until the broker has reserved them: the small connection's next
    // request (14 bytes) no longer fits and is not read.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 1;
    loop {
        id += 1;
        small.write_all(&api_versions(id)).expect("write");
        small
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        match read_response(&mut small) {
            Ok(got) => {
                assert_eq!(got, id);
                assert!(
                    Instant::now() < deadline,
                    "requests were still read with queued.max.request.bytes exhausted"
                );
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("small connection failed: {e}"),
        }
    }
    // The big request ends (here: its client goes away): its bytes are
    // released and the waiting request is answered.
    drop(big);
    small
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_eq!(read_response(&mut small).expect("answered"), id);
    assert!(round_trip(&mut small, id + 1));
}
