//! The SASL client ([`ClientSession`]) against the crate's own server
//! ([`ServerSession`]): PLAIN and SCRAM-SHA-256/512 log in with the right
//! principal, a wrong password fails on the server, a forged SCRAM server
//! signature fails on the client, user names with `,` and `=` are escaped
//! as Kafka's `ScramMessages` does, and nothing follows the end.

use std::collections::HashMap;
use std::sync::Arc;

use memorystreamer_sasl::mechanism::constant_time_eq;
use memorystreamer_sasl::{
    ClientSession, ClientStep, Credentials, Mechanism, SaslError, ScramCredential, ScramMechanism,
    ServerSession, Step,
};

const SCRAMS: [Mechanism; 2] = [Mechanism::ScramSha256, Mechanism::ScramSha512];
const ALL: [Mechanism; 3] = [
    Mechanism::Plain,
    Mechanism::ScramSha256,
    Mechanism::ScramSha512,
];

/// The server's users: a PLAIN password and SCRAM credentials (both
/// mechanisms) per user.
struct Users {
    plain: HashMap<String, Vec<u8>>,
    scram: HashMap<(String, ScramMechanism), ScramCredential>,
}

impl Credentials for Users {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.scram.get(&(user.to_string(), mechanism)).cloned()
    }
    fn plain_matches(&self, user: &str, password: &[u8]) -> bool {
        self.plain
            .get(user)
            .is_some_and(|stored| constant_time_eq(stored, password))
    }
}

fn users(entries: &[(&str, &str)]) -> Arc<dyn Credentials> {
    let mut users = Users {
        plain: HashMap::new(),
        scram: HashMap::new(),
    };
    for (user, password) in entries {
        users
            .plain
            .insert(user.to_string(), password.as_bytes().to_vec());
        for mech in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let cred = ScramCredential::from_password(
                mech,
                password.as_bytes(),
                b"salt-of-the-earth",
                4096,
            )
            .expect("credential");
            users.scram.insert((user.to_string(), mech), cred);
        }
    }
    Arc::new(users)
}

fn broker_users() -> Arc<dyn Credentials> {
    users(&[("broker", "broker-secret"), ("a,b=c", "odd-secret")])
}

fn server(mech: Mechanism, credentials: &Arc<dyn Credentials>) -> ServerSession {
    ServerSession::new(mech, Arc::clone(credentials), None).expect("server session")
}

fn send(step: Result<ClientStep, SaslError>) -> Vec<u8> {
    match step {
        Ok(ClientStep::Send(bytes)) => bytes,
        other => panic!("expected a client message, got {other:?}"),
    }
}

/// What a full exchange ended with.
#[derive(Debug)]
enum Outcome {
    /// Both sides done; the server's principal.
    LoggedIn(String),
    /// The server refused.
    ServerRefused(SaslError),
}

/// Drives a whole exchange as a broker's peer connection would; the
/// client's messages are recorded in `sent`. Panics if the client fails or
/// disagrees with the server about the end.
fn exchange(
    mech: Mechanism,
    user: &str,
    password: &str,
    credentials: &Arc<dyn Credentials>,
    sent: &mut Vec<Vec<u8>>,
) -> Outcome {
    let mut client = ClientSession::new(mech, user, password).expect("client session");
    let mut server = server(mech, credentials);
    let mut server_message = Vec::new();
    for _ in 0..4 {
        let client_message = send(client.step(&server_message));
        sent.push(client_message.clone());
        match server.step(&client_message) {
            Ok(Step::Continue(challenge)) => server_message = challenge,
            Ok(Step::Done {
                response,
                principal,
                ..
            }) => {
                assert_eq!(
                    client.step(&response).expect("client end"),
                    ClientStep::Done
                );
                assert!(client.is_done());
                return Outcome::LoggedIn(principal);
            }
            Err(e) => return Outcome::ServerRefused(e),
        }
    }
    panic!("{mech} exchange did not end");
}

#[test]
fn every_mechanism_logs_in_with_the_right_principal() {
    let creds = broker_users();
    for mech in ALL {
        let mut sent = Vec::new();
        match exchange(mech, "broker", "broker-secret", &creds, &mut sent) {
            Outcome::LoggedIn(principal) => assert_eq!(principal, "User:broker", "{mech}"),
            other => panic!("{mech}: {other:?}"),
        }
        let expected_messages = if mech == Mechanism::Plain { 1 } else { 2 };
        assert_eq!(sent.len(), expected_messages, "{mech}");
    }
}

#[test]
fn messages_have_kafkas_wire_form() {
    let creds = broker_users();
    let mut sent = Vec::new();
    exchange(
        Mechanism::Plain,
        "broker",
        "broker-secret",
        &creds,
        &mut sent,
    );
    assert_eq!(sent, vec![b"\0broker\0broker-secret".to_vec()]);
    for mech in SCRAMS {
        let mut sent = Vec::new();
        exchange(mech, "broker", "broker-secret", &creds, &mut sent);
        let first = String::from_utf8(sent[0].clone()).expect("utf-8");
        let nonce = first
            .strip_prefix("n,,n=broker,r=")
            .unwrap_or_else(|| panic!("{mech} client-first {first}"));
        assert!(
            nonce.len() >= 16 && !nonce.contains(','),
            "{mech} nonce {nonce}"
        );
        let last = String::from_utf8(sent[1].clone()).expect("utf-8");
        let fields: Vec<&str> = last.split(',').collect();
        assert_eq!(fields[0], "c=biws", "{mech}: GS2 header n,, in base64");
        assert!(
            fields[1].starts_with(&format!("r={nonce}")),
            "{mech} {last}"
        );
        assert!(fields[2].starts_with("p="), "{mech} {last}");
    }
}

#[test]
fn a_wrong_password_fails_on_the_server() {
    let creds = broker_users();
    for mech in ALL {
        match exchange(mech, "broker", "not-the-secret", &creds, &mut Vec::new()) {
            Outcome::ServerRefused(SaslError::AuthenticationFailed(_)) => {}
            other => panic!("{mech}: expected a refusal, got {other:?}"),
        }
    }
}

/// Runs a SCRAM exchange to the server-final message and hands the client
/// that message with one byte of the `v=` signature changed (or not).
fn server_final_to_client(mech: Mechanism, tamper: bool) -> Result<ClientStep, SaslError> {
    let creds = broker_users();
    let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
    let mut server = server(mech, &creds);
    let first = send(client.step(b""));
    let Ok(Step::Continue(server_first)) = server.step(&first) else {
        panic!("{mech}: no server-first");
    };
    let last = send(client.step(&server_first));
    let Ok(Step::Done { mut response, .. }) = server.step(&last) else {
        panic!("{mech}: the server refused a right password");
    };
    assert!(response.starts_with(b"v="), "{mech}");
    if tamper {
        // Another base64 letter in the first signature position: still
        // valid base64, a different signature.
        response[2] = if response[2] == b'A' { b'B' } else { b'A' };
    }
    let result = client.step(&response);
    if tamper {
        assert!(!client.is_done(), "{mech}");
        assert!(
            client.step(&response).is_err(),
            "{mech}: a failed client must not accept the message again"
        );
    }
    result
}

#[test]
fn a_forged_server_signature_fails_on_the_client() {
    for mech in SCRAMS {
        assert_eq!(
            server_final_to_client(mech, false).expect("genuine signature"),
            ClientStep::Done,
            "{mech}"
        );
        match server_final_to_client(mech, true) {
            Err(SaslError::ServerAuthenticationFailed(message)) => {
                assert!(!message.contains("broker-secret"), "{message}")
            }
            other => panic!("{mech}: a forged signature gave {other:?}"),
        }
    }
}

#[test]
fn a_username_with_comma_and_equals_logs_in() {
    let creds = broker_users();
    for mech in ALL {
        let mut sent = Vec::new();
        match exchange(mech, "a,b=c", "odd-secret", &creds, &mut sent) {
            Outcome::LoggedIn(principal) => assert_eq!(principal, "User:a,b=c", "{mech}"),
            other => panic!("{mech}: {other:?}"),
        }
        if mech != Mechanism::Plain {
            let first = String::from_utf8(sent[0].clone()).expect("utf-8");
            assert!(first.starts_with("n,,n=a=2Cb=3Dc,r="), "{mech}: {first}");
        }
    }
}

#[test]
fn a_step_after_done_is_an_error() {
    let creds = broker_users();
    for mech in ALL {
        let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
        let mut server = server(mech, &creds);
        let mut server_message = Vec::new();
        loop {
            let message = send(client.step(&server_message));
            match server.step(&message).expect("server step") {
                Step::Continue(challenge) => server_message = challenge,
                Step::Done { response, .. } => {
                    assert_eq!(client.step(&response).expect("end"), ClientStep::Done);
                    break;
                }
            }
        }
        for message in [&b""[..], b"v=abc"] {
            assert!(
                matches!(client.step(message), Err(SaslError::InvalidMessage(_))),
                "{mech}: a step after Done was accepted"
            );
        }
        assert!(client.is_done(), "{mech}: a refused late step keeps Done");
    }
}

#[test]
fn a_server_error_attribute_is_a_refusal() {
    for mech in SCRAMS {
        let creds = broker_users();
        let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
        let mut server = server(mech, &creds);
        let first = send(client.step(b""));
        let Ok(Step::Continue(server_first)) = server.step(&first) else {
            panic!("{mech}: no server-first");
        };
        send(client.step(&server_first));
        match client.step(b"e=invalid-proof") {
            Err(SaslError::AuthenticationFailed(message)) => {
                assert!(message.contains("invalid-proof"), "{message}")
            }
            other => panic!("{mech}: {other:?}"),
        }
    }
}

#[test]
fn malformed_server_messages_fail_without_panicking() {
    for mech in SCRAMS {
        let probe = send(
            ClientSession::new(mech, "broker", "broker-secret")
                .expect("client")
                .step(b""),
        );
        assert!(probe.starts_with(b"n,,n=broker,r="));
        let server_firsts: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"r".to_vec(),
            b"r=x,s".to_vec(),
            b"r=x,s=c2FsdA==".to_vec(),
            // A nonce that does not extend the client's.
            b"r=someone-elses-nonce,s=c2FsdA==,i=4096".to_vec(),
            b"r=NONCEmore,s=not base64!,i=4096".to_vec(),
            // Iteration counts outside Kafka's bounds.
            b"r=NONCEmore,s=c2FsdA==,i=1".to_vec(),
            b"r=NONCEmore,s=c2FsdA==,i=4000000000".to_vec(),
            vec![b'r'; 70 * 1024],
        ];
        for template in server_firsts {
            let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
            let first = send(client.step(b""));
            let nonce = &first["n,,n=broker,r=".len()..];
            let text = String::from_utf8_lossy(&template)
                .replace("NONCE", std::str::from_utf8(nonce).expect("ascii nonce"));
            let result = client.step(text.as_bytes());
            assert!(
                matches!(result, Err(SaslError::InvalidMessage(_))),
                "{mech}: server-first {:.60} gave {result:?}",
                text
            );
            assert!(
                client.step(b"v=abc").is_err(),
                "{mech}: ended after a failure"
            );
        }
        for server_final in [&b""[..], b"v", b"v=", b"x=1", b"v=!!!not-base64"] {
            let creds = broker_users();
            let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
            let mut server = server(mech, &creds);
            let first = send(client.step(b""));
            let Ok(Step::Continue(server_first)) = server.step(&first) else {
                panic!("{mech}: no server-first");
            };
            send(client.step(&server_first));
            let result = client.step(server_final);
            assert!(
                matches!(result, Err(SaslError::InvalidMessage(_))),
                "{mech}: server-final {server_final:?} gave {result:?}"
            );
            assert!(!client.is_done());
        }
    }
}

#[test]
fn plain_expects_an_empty_server_answer() {
    let mut client =
        ClientSession::new(Mechanism::Plain, "broker", "broker-secret").expect("client");
    send(client.step(b""));
    assert!(matches!(
        client.step(b"unexpected"),
        Err(SaslError::InvalidMessage(_))
    ));
    assert!(!client.is_done());
}

#[test]
fn the_first_step_takes_an_empty_server_message() {
    for mech in ALL {
        let mut client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
        assert!(
            matches!(client.step(b"r=abc"), Err(SaslError::InvalidMessage(_))),
            "{mech}"
        );
    }
}

#[test]
fn unusable_logins_are_refused_at_construction() {
    assert!(matches!(
        ClientSession::new(Mechanism::OAuthBearer, "broker", "broker-secret"),
        Err(SaslError::UnsupportedMechanism(_))
    ));
    for mech in ALL {
        for (user, password) in [
            ("", "pw"),
            ("broker", ""),
            ("bro\0ker", "pw"),
            ("broker", "p\0w"),
        ] {
            match ClientSession::new(mech, user, password) {
                Err(SaslError::Config(message)) => {
                    assert!(!message.contains("pw"), "{mech}: {message}")
                }
                other => panic!("{mech} {user:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn debug_output_hides_the_credentials() {
    for mech in ALL {
        let client = ClientSession::new(mech, "broker", "broker-secret").expect("client");
        let shown = format!("{client:?}");
        assert!(shown.contains(mech.name()), "{shown}");
        assert!(!shown.contains("broker-secret"), "{shown}");
    }
}
