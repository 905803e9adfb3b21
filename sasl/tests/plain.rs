//! SASL/PLAIN server exchanges (RFC 4616) with Kafka's checks and messages.

use std::collections::HashMap;
use std::sync::Arc;

use memorystreamer_sasl::mechanism::constant_time_eq;
use memorystreamer_sasl::{
    Credentials, Mechanism, SaslError, ScramCredential, ScramMechanism, ServerSession, Step,
};

struct Users(HashMap<String, Vec<u8>>);

impl Credentials for Users {
    fn scram(&self, _user: &str, _mechanism: ScramMechanism) -> Option<ScramCredential> {
        None
    }
    fn plain_matches(&self, user: &str, password: &[u8]) -> bool {
        self.0
            .get(user)
            .is_some_and(|stored| constant_time_eq(stored, password))
    }
}

fn run(message: &[u8]) -> Result<Step, SaslError> {
    let users: Arc<dyn Credentials> = Arc::new(Users(HashMap::from([
        ("alice".to_string(), b"alice-secret".to_vec()),
        ("admin".to_string(), b"admin-secret".to_vec()),
    ])));
    let mut session = ServerSession::new(Mechanism::Plain, users, None).unwrap();
    let result = session.step(message);
    assert!(session.is_ended(), "PLAIN is a single message");
    assert!(matches!(
        session.step(message),
        Err(SaslError::InvalidMessage(_))
    ));
    result
}

fn failure(result: Result<Step, SaslError>) -> String {
    match result {
        Err(SaslError::AuthenticationFailed(message)) => message,
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

#[test]
fn right_password_authenticates() {
    for message in [&b"\0alice\0alice-secret"[..], b"alice\0alice\0alice-secret"] {
        assert_eq!(
            run(message).unwrap(),
            Step::Done {
                response: Vec::new(),
                principal: "User:alice".into(),
                expires_at: None,
            }
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_message() {
    let wrong = failure(run(b"\0alice\0nope"));
    let unknown = failure(run(b"\0mallory\0alice-secret"));
    assert_eq!(wrong, "Authentication failed: Invalid username or password");
    assert_eq!(unknown, wrong);
    // Another user's password does not work either.
    assert_eq!(failure(run(b"\0alice\0admin-secret")), wrong);
}

#[test]
fn authzid_must_be_empty_or_the_user() {
    assert_eq!(
        failure(run(b"admin\0alice\0alice-secret")),
        "Authentication failed: Client requested an authorization id that is different from username"
    );
}

#[test]
fn malformed_messages_fail_with_kafkas_generic_message() {
    let generic =
        "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN";
    for message in [
        &b""[..],
        b"alice",
        b"\0alice",
        b"\0\0alice-secret",
        b"\0alice\0",
        b"\0alice\0alice-secret\0extra",
    ] {
        assert_eq!(failure(run(message)), generic, "{message:?}");
    }
}

#[test]
fn oversized_message_is_invalid() {
    let mut message = b"\0alice\0".to_vec();
    message.resize(64 * 1024 + 1, b'x');
    assert!(matches!(run(&message), Err(SaslError::InvalidMessage(_))));
}

#[test]
fn mechanism_names_are_kafkas() {
    for (name, mechanism) in [
        ("PLAIN", Mechanism::Plain),
        ("SCRAM-SHA-256", Mechanism::ScramSha256),
        ("SCRAM-SHA-512", Mechanism::ScramSha512),
        ("OAUTHBEARER", Mechanism::OAuthBearer),
    ] {
        assert_eq!(Mechanism::from_name(name), Some(mechanism));
        assert_eq!(mechanism.name(), name);
    }
    assert_eq!(Mechanism::from_name("plain"), None);
    assert_eq!(Mechanism::from_name("GSSAPI"), None);
    assert_eq!(Mechanism::ScramSha512.scram(), Some(ScramMechanism::Sha512));
    // OAUTHBEARER needs a validator.
    let users: Arc<dyn Credentials> = Arc::new(Users(HashMap::new()));
    assert!(matches!(
        ServerSession::new(Mechanism::OAuthBearer, users, None),
        Err(SaslError::Config(_))
    ));
}

#[test]
fn reauthentication_failures_name_the_phase() {
    let users: Arc<dyn Credentials> = Arc::new(Users(HashMap::new()));
    let mut session = ServerSession::new(Mechanism::Plain, users, None)
        .unwrap()
        .for_reauthentication();
    assert_eq!(
        failure(session.step(b"garbage")),
        "Authentication failed during re-authentication due to invalid credentials with SASL mechanism PLAIN"
    );
}
