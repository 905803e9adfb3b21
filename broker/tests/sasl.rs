//! SASL listeners at the wire level, against Kafka 4.1's
//! `SaslServerAuthenticator`: what is served before authentication, the
//! handshake and authenticate exchange (v1 headers and v0 raw tokens),
//! failures answered after `connection.failed.authentication.delay.ms` and
//! then closed, KIP-368 session lifetimes and re-authentication, and the
//! SASL APIs on a PLAINTEXT listener.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const JAAS: &str = r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";"#;

/// A broker whose one listener is SASL_PLAINTEXT with PLAIN and
/// SCRAM-SHA-256, failed logins delayed by 300 ms, and `extra` props.
fn sasl_broker(extra: &[(&str, &str)]) -> TestBroker {
    let mut props = vec![
        ("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
        ("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256"),
        ("listener.name.sasl_plaintext.plain.sasl.jaas.config", JAAS),
        ("connection.failed.authentication.delay.ms", "300"),
    ];
    props.extend_from_slice(extra);
    TestBroker::start(&props)
}

fn handshake(c: &mut Client, version: i16, mechanism: &str) -> SaslHandshakeResponse {
    c.call(
        ApiKey::SaslHandshake,
        version,
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_string(mechanism.into())),
    )
}

fn authenticate(c: &mut Client, token: &[u8]) -> SaslAuthenticateResponse {
    c.call(
        ApiKey::SaslAuthenticate,
        2,
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token)),
    )
}

fn plain_token(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

fn metadata(c: &mut Client) -> MetadataResponse {
    c.call(ApiKey::Metadata, 12, &MetadataRequest::default())
}

fn login(c: &mut Client, user: &str, password: &str) -> SaslAuthenticateResponse {
    let h = handshake(c, 1, "PLAIN");
    assert_eq!(h.error_code, 0);
    authenticate(c, &plain_token(user, password))
}

#[test]
fn plain_login_then_requests_are_served() {
    let b = sasl_broker(&[]);
    let mut c = b.connect();
    let versions: ApiVersionsResponse =
        c.call(ApiKey::ApiVersions, 2, &ApiVersionsRequest::default());
    assert_eq!(versions.error_code, 0);
    assert!(versions
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::SaslAuthenticate as i16 && k.max_version == 2));
    let h = handshake(&mut c, 1, "PLAIN");
    assert_eq!(h.error_code, 0);
    let names: Vec<&str> = h.mechanisms.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256"]);
    let a = authenticate(&mut c, &plain_token("alice", "alice-secret"));
    assert_eq!(a.error_code, 0, "{:?}", a.error_message);
    assert_eq!(a.session_lifetime_ms, 0, "no connections.max.reauth.ms");
    assert_eq!(metadata(&mut c).brokers.len(), 1);
    // On an authenticated connection the SASL APIs are illegal, and the
    // connection stays open.
    let again = handshake(&mut c, 1, "PLAIN");
    assert_eq!(again.error_code, 34);
    assert!(again.mechanisms.is_empty());
    let again = authenticate(&mut c, b"x");
    assert_eq!(again.error_code, 34);
    assert_eq!(metadata(&mut c).brokers.len(), 1);
}

#[test]
fn wrong_password_and_unknown_user_fail_alike_after_the_delay_then_close() {
    let b = sasl_broker(&[]);
    let mut messages = Vec::new();
    for (user, password) in [("alice", "wrong"), ("mallory", "alice-secret")] {
        let mut c = b.connect();
        assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
        let started = Instant::now();
        let a = authenticate(&mut c, &plain_token(user, password));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "the failure is answered after connection.failed.authentication.delay.ms"
        );
        assert_eq!(a.error_code, 58, "SASL_AUTHENTICATION_FAILED");
        messages.push(a.error_message.map(|m| m.to_string()));
        assert!(c.is_closed(), "closed after a failed login");
    }
    assert_eq!(
        messages[0], messages[1],
        "the answer does not say which users exist"
    );
    assert_eq!(
        messages[0].as_deref(),
        Some("Authentication failed: Invalid username or password")
    );
}

#[test]
fn only_api_versions_and_sasl_are_served_before_authentication() {
    let b = sasl_broker(&[]);
    // Metadata first: closed without an answer.
    let mut c = b.connect();
    c.send(ApiKey::Metadata, 12, &MetadataRequest::default());
    assert!(c.is_closed());
    // After the handshake, another API instead of SaslAuthenticate.
    let mut c = b.connect();
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    c.send(ApiKey::Metadata, 12, &MetadataRequest::default());
    assert!(c.is_closed());
    // A second ApiVersions before the handshake.
    let mut c = b.connect();
    let _: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 2, &ApiVersionsRequest::default());
    c.send(ApiKey::ApiVersions, 2, &ApiVersionsRequest::default());
    assert!(c.is_closed());
    // Bytes that are not a Kafka request (a TLS ClientHello, say).
    let mut c = b.connect();
    c.send_raw(&[0, 0, 0, 8, 0x16, 3, 1, 0, 0xff, 1, 0, 0]);
    assert!(c.is_closed());
    // A frame larger than sasl.server.max.receive.size.
    let mut c = b.connect();
    let mut big = (600_000i32).to_be_bytes().to_vec();
    big.extend_from_slice(&[0; 64]);
    c.send_raw(&big);
    assert!(c.is_closed());
}

#[test]
fn unknown_mechanism_lists_the_enabled_ones_then_closes() {
    let b = sasl_broker(&[]);
    let mut c = b.connect();
    let h = handshake(&mut c, 1, "GSSAPI");
    assert_eq!(h.error_code, 33, "UNSUPPORTED_SASL_MECHANISM");
    let names: Vec<&str> = h.mechanisms.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, ["PLAIN", "SCRAM-SHA-256"]);
    assert!(c.is_closed());
}

#[test]
fn v0_handshake_exchanges_raw_tokens() {
    let b = sasl_broker(&[]);
    let mut c = b.connect();
    assert_eq!(handshake(&mut c, 0, "PLAIN").error_code, 0);
    let token = plain_token("bob", "bob-secret");
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&token);
    c.send_raw(&frame);
    let reply = c.read_frame().expect("a raw reply");
    assert!(reply.is_empty(), "PLAIN's final token is empty");
    assert_eq!(metadata(&mut c).brokers.len(), 1);
}

#[test]
fn sessions_expire_and_reauthenticate_as_kip_368_says() {
    let b = sasl_broker(&[("connections.max.reauth.ms", "1000")]);
    let mut c = b.connect();
    let a = login(&mut c, "alice", "alice-secret");
    assert_eq!(a.error_code, 0);
    assert_eq!(a.session_lifetime_ms, 1000);
    // Re-authentication as the same user renews the session.
    let h = handshake(&mut c, 1, "PLAIN");
    assert_eq!(
        h.error_code, 0,
        "a handshake on a session with a lifetime re-authenticates"
    );
    let r = authenticate(&mut c, &plain_token("alice", "alice-secret"));
    assert_eq!(r.error_code, 0);
    assert_eq!(r.session_lifetime_ms, 1000);
    assert_eq!(metadata(&mut c).brokers.len(), 1);
    // Once the session has ended, the next request closes the connection.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let id = c.send(ApiKey::Metadata, 12, &MetadataRequest::default());
        match c.read_frame() {
            None => break,
            Some(_) => {
                assert!(
                    Instant::now() < deadline,
                    "the session never expired (id {id})"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    // Another principal on re-authentication is refused.
    let mut c = b.connect();
    assert_eq!(login(&mut c, "alice", "alice-secret").error_code, 0);
    assert_eq!(handshake(&mut c, 1, "PLAIN").error_code, 0);
    let r = authenticate(&mut c, &plain_token("bob", "bob-secret"));
    assert_eq!(r.error_code, 58);
    assert_eq!(
        r.error_message.as_deref(),
        Some("Cannot change principals during re-authentication from User.alice: User.bob")
    );
    assert!(c.is_closed());
}

#[test]
fn sasl_apis_on_a_plaintext_listener_are_illegal_but_harmless() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let h = handshake(&mut c, 1, "PLAIN");
    assert_eq!(h.error_code, 34, "ILLEGAL_SASL_STATE");
    assert!(h.mechanisms.is_empty());
    let a = authenticate(&mut c, &plain_token("alice", "alice-secret"));
    assert_eq!(a.error_code, 34);
    assert_eq!(
        metadata(&mut c).brokers.len(),
        1,
        "the connection stays open"
    );
}
