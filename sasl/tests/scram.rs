//! SCRAM-SHA-256/512 server exchanges against a small RFC 5802 client
//! written here (hmac, sha2, pbkdf2), including RFC 7677's test vector.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use memorystreamer_sasl::mechanism::{constant_time_eq, MAX_MESSAGE_BYTES};
use memorystreamer_sasl::scram::username_from_saslname;
use memorystreamer_sasl::{
    Credentials, Mechanism, SaslError, ScramCredential, ScramMechanism, ServerSession, Step,
};
use sha2::{Digest, Sha256, Sha512};

#[derive(Default)]
struct Users {
    scram: HashMap<(String, ScramMechanism), ScramCredential>,
}

impl Credentials for Users {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.scram.get(&(user.to_string(), mechanism)).cloned()
    }
    fn plain_matches(&self, _user: &str, _password: &[u8]) -> bool {
        false
    }
}

fn users(entries: &[(&str, ScramMechanism, &str, &[u8], u32)]) -> Arc<dyn Credentials> {
    let mut users = Users::default();
    for (user, mech, password, salt, iterations) in entries {
        let cred =
            ScramCredential::from_password(*mech, password.as_bytes(), salt, *iterations).unwrap();
        users.scram.insert((user.to_string(), *mech), cred);
    }
    Arc::new(users)
}

fn hmac(mech: ScramMechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    match mech {
        ScramMechanism::Sha256 => {
            let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        ScramMechanism::Sha512 => {
            let mut m = Hmac::<Sha512>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
    }
}

fn hash(mech: ScramMechanism, data: &[u8]) -> Vec<u8> {
    match mech {
        ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
        ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
    }
}

fn field<'a>(message: &'a str, key: &str) -> &'a str {
    message
        .split(',')
        .find_map(|kv| kv.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {message}"))
}

/// The client-final message for `server_first`, and the server signature
/// the client expects back.
fn client_final(
    mech: ScramMechanism,
    password: &str,
    client_first_bare: &str,
    server_first: &str,
) -> (String, Vec<u8>) {
    let nonce = field(server_first, "r=");
    let salt = B64.decode(field(server_first, "s=")).unwrap();
    let iterations: u32 = field(server_first, "i=").parse().unwrap();
    let mut salted = vec![0u8; mech.hash_len()];
    match mech {
        ScramMechanism::Sha256 => {
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted)
        }
        ScramMechanism::Sha512 => {
            pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), &salt, iterations, &mut salted)
        }
    }
    let client_key = hmac(mech, &salted, b"Client Key");
    let stored_key = hash(mech, &client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(mech, &stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let server_key = hmac(mech, &salted, b"Server Key");
    let server_signature = hmac(mech, &server_key, auth_message.as_bytes());
    (
        format!("{without_proof},p={}", B64.encode(proof)),
        server_signature,
    )
}

fn mechanism(mech: ScramMechanism) -> Mechanism {
    match mech {
        ScramMechanism::Sha256 => Mechanism::ScramSha256,
        ScramMechanism::Sha512 => Mechanism::ScramSha512,
    }
}

fn continue_bytes(step: Result<Step, SaslError>) -> String {
    match step {
        Ok(Step::Continue(bytes)) => String::from_utf8(bytes).unwrap(),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Runs a whole exchange; the server's final step.
fn exchange(
    credentials: &Arc<dyn Credentials>,
    mech: ScramMechanism,
    user: &str,
    password: &str,
) -> (Result<Step, SaslError>, Vec<u8>) {
    let mut session = ServerSession::new(mechanism(mech), credentials.clone(), None).unwrap();
    let bare = format!("n={user},r=fyko+d2lbbFgONRv9qkxdawL");
    let server_first = continue_bytes(session.step(format!("n,,{bare}").as_bytes()));
    let (final_message, signature) = client_final(mech, password, &bare, &server_first);
    (session.step(final_message.as_bytes()), signature)
}

fn assert_generic_failure(result: Result<Step, SaslError>, mech: ScramMechanism) {
    match result {
        Err(SaslError::AuthenticationFailed(message)) => assert_eq!(
            message,
            format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                mech.name()
            )
        ),
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

const RFC7677_SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";

#[test]
fn rfc7677_vector_reproduced_by_the_test_client() {
    let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    let server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let (final_message, signature) =
        client_final(ScramMechanism::Sha256, "pencil", bare, server_first);
    assert_eq!(
        final_message,
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    assert_eq!(
        B64.encode(signature),
        "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
}

#[test]
fn rfc7677_credentials_authenticate_end_to_end() {
    let salt = B64.decode(RFC7677_SALT).unwrap();
    let creds = users(&[("user", ScramMechanism::Sha256, "pencil", &salt, 4096)]);
    let mut session = ServerSession::new(Mechanism::ScramSha256, creds, None).unwrap();
    let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
    let server_first = continue_bytes(session.step(format!("n,,{bare}").as_bytes()));
    assert!(field(&server_first, "r=").starts_with("rOprNGfwEbeRWgbNEkqO"));
    assert!(field(&server_first, "r=").len() > "rOprNGfwEbeRWgbNEkqO".len());
    assert_eq!(field(&server_first, "s="), RFC7677_SALT);
    assert_eq!(field(&server_first, "i="), "4096");
    let (final_message, signature) =
        client_final(ScramMechanism::Sha256, "pencil", bare, &server_first);
    match session.step(final_message.as_bytes()) {
        Ok(Step::Done {
            response,
            principal,
            expires_at,
        }) => {
            assert_eq!(
                String::from_utf8(response).unwrap(),
                format!("v={}", B64.encode(signature))
            );
            assert_eq!(principal, "User:user");
            assert_eq!(expires_at, None);
        }
        other => panic!("expected success, got {other:?}"),
    }
    // Nothing may follow the end of the exchange.
    assert!(matches!(
        session.step(b"n,,n=user,r=abc"),
        Err(SaslError::InvalidMessage(_))
    ));
}

#[test]
fn sha512_round_trip_from_a_salted_password() {
    let salt = b"0123456789abcdef";
    let mut salted = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(b"alice-secret", salt, 8192, &mut salted);
    let cred =
        ScramCredential::from_salted_password(ScramMechanism::Sha512, &salted, salt, 8192).unwrap();
    assert_eq!(
        cred,
        ScramCredential::from_password(ScramMechanism::Sha512, b"alice-secret", salt, 8192)
            .unwrap()
    );
    let mut users = Users::default();
    users
        .scram
        .insert(("alice".into(), ScramMechanism::Sha512), cred);
    let creds: Arc<dyn Credentials> = Arc::new(users);
    let (result, signature) = exchange(&creds, ScramMechanism::Sha512, "alice", "alice-secret");
    match result {
        Ok(Step::Done {
            response,
            principal,
            ..
        }) => {
            assert_eq!(
                response,
                format!("v={}", B64.encode(signature)).into_bytes()
            );
            assert_eq!(principal, "User:alice");
        }
        other => panic!("expected success, got {other:?}"),
    }
    // The SHA-256 credential does not exist: SCRAM-SHA-256 fails.
    let (result, _) = exchange(&creds, ScramMechanism::Sha256, "alice", "alice-secret");
    assert_generic_failure(result, ScramMechanism::Sha256);
}

#[test]
fn wrong_password_fails_with_kafkas_generic_message() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "right", b"salt-salt", 4096)]);
    let (result, _) = exchange(&creds, ScramMechanism::Sha256, "alice", "wrong");
    assert_generic_failure(result, ScramMechanism::Sha256);
}

#[test]
fn unknown_user_is_indistinguishable_from_a_wrong_password() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "right", &[7u8; 32], 4096)]);
    let first = |user: &str| {
        let mut session = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
        continue_bytes(session.step(format!("n,,n={user},r=abcdef").as_bytes()))
    };
    let real = first("alice");
    let fake = first("mallory");
    // Same shape: nonce extension of the same length, a 32-byte salt, the
    // same iteration count.
    assert_eq!(field(&real, "r=").len(), field(&fake, "r=").len());
    assert_eq!(
        B64.decode(field(&fake, "s=")).unwrap().len(),
        B64.decode(field(&real, "s=")).unwrap().len()
    );
    assert_eq!(field(&fake, "i="), field(&real, "i="));
    // The fake salt is stable across attempts (a random one would reveal
    // that the user does not exist) and differs between users.
    assert_eq!(field(&first("mallory"), "s="), field(&fake, "s="));
    assert_ne!(field(&first("eve"), "s="), field(&fake, "s="));

    let (unknown, _) = exchange(&creds, ScramMechanism::Sha256, "mallory", "right");
    let (wrong, _) = exchange(&creds, ScramMechanism::Sha256, "alice", "wrong");
    assert_eq!(format!("{unknown:?}"), format!("{wrong:?}"));
    assert_generic_failure(unknown, ScramMechanism::Sha256);
}

#[test]
fn garbled_client_final_fails_and_ends_the_exchange() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    for garbage in [
        &b"not a scram message"[..],
        b"c=biws,r=abc",
        b"c=biws,p=AAAA",
        b"",
        &[0xff, 0xfe, 0x00],
    ] {
        let mut session = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
        continue_bytes(session.step(b"n,,n=alice,r=abcdef"));
        assert_generic_failure(session.step(garbage), ScramMechanism::Sha256);
        assert!(session.is_ended());
        assert!(matches!(
            session.step(b"c=biws,r=abc,p=AAAA"),
            Err(SaslError::InvalidMessage(_))
        ));
    }
}

#[test]
fn garbled_client_first_fails() {
    let creds = users(&[]);
    for garbage in [
        &b"hello"[..],
        b"y,,n=alice",
        b"n,,r=abc",
        b"",
        b"n,,n,r",
        b"n,,n=a,r=b,",
        b"n,,n=a=2,r=x",
        b"n,a,n=a,r=x",
        b"p,,n=a,r=x",
    ] {
        let mut session = ServerSession::new(Mechanism::ScramSha512, creds.clone(), None).unwrap();
        assert_generic_failure(session.step(garbage), ScramMechanism::Sha512);
    }
}

#[test]
fn replayed_client_final_is_refused() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    let bare = "n=alice,r=clientnonce";
    let mut first = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
    let server_first = continue_bytes(first.step(format!("n,,{bare}").as_bytes()));
    let (final_message, _) = client_final(ScramMechanism::Sha256, "pw", bare, &server_first);
    assert!(matches!(
        first.step(final_message.as_bytes()),
        Ok(Step::Done { .. })
    ));
    // The same client-final against a new exchange (another server nonce).
    let mut second = ServerSession::new(Mechanism::ScramSha256, creds, None).unwrap();
    continue_bytes(second.step(format!("n,,{bare}").as_bytes()));
    assert_generic_failure(
        second.step(final_message.as_bytes()),
        ScramMechanism::Sha256,
    );
}

#[test]
fn nonce_mismatch_is_refused_even_with_a_valid_proof() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    let bare = "n=alice,r=clientnonce";
    let mut session = ServerSession::new(Mechanism::ScramSha256, creds, None).unwrap();
    let server_first = continue_bytes(session.step(format!("n,,{bare}").as_bytes()));
    // The client signs a server-first message with another nonce.
    let forged = server_first.replacen("r=clientnonce", "r=clientnonceX", 1);
    let (final_message, _) = client_final(ScramMechanism::Sha256, "pw", bare, &forged);
    assert_generic_failure(
        session.step(final_message.as_bytes()),
        ScramMechanism::Sha256,
    );
}

#[test]
fn authzid_other_than_the_user_is_refused() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    let bare = "n=alice,r=clientnonce";
    let mut session = ServerSession::new(Mechanism::ScramSha256, creds, None).unwrap();
    let server_first = continue_bytes(session.step(format!("n,a=bob,{bare}").as_bytes()));
    let (without_gs2, _) = client_final(ScramMechanism::Sha256, "pw", bare, &server_first);
    // The channel binding carries the gs2 header "n,a=bob,".
    let nonce = field(&server_first, "r=");
    let cb = B64.encode("n,a=bob,");
    let salt = B64.decode(field(&server_first, "s=")).unwrap();
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(b"pw", &salt, 4096, &mut salted);
    let client_key = hmac(ScramMechanism::Sha256, &salted, b"Client Key");
    let stored = hash(ScramMechanism::Sha256, &client_key);
    let without_proof = format!("c={cb},r={nonce}");
    let auth = format!("{bare},{server_first},{without_proof}");
    let sig = hmac(ScramMechanism::Sha256, &stored, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let message = format!("{without_proof},p={}", B64.encode(proof));
    assert_ne!(message, without_gs2);
    match session.step(message.as_bytes()) {
        Err(SaslError::AuthenticationFailed(m)) => assert_eq!(
            m,
            "Authentication failed: Client requested an authorization id that is different from username"
        ),
        other => panic!("expected an authzid failure, got {other:?}"),
    }
}

#[test]
fn escaped_user_names_are_looked_up_unescaped() {
    assert_eq!(
        username_from_saslname("a=2Cb=3Dc").as_deref(),
        Some("a,b=c")
    );
    assert_eq!(username_from_saslname("plain").as_deref(), Some("plain"));
    assert_eq!(username_from_saslname("bad=2"), None);
    assert_eq!(username_from_saslname("bad=41"), None);
    let creds = users(&[("a,b", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    let (result, _) = exchange(&creds, ScramMechanism::Sha256, "a=2Cb", "pw");
    match result {
        Ok(Step::Done { principal, .. }) => assert_eq!(principal, "User:a,b"),
        other => panic!("expected success, got {other:?}"),
    }
}

#[test]
fn oversized_messages_are_invalid() {
    let creds = users(&[]);
    let mut session = ServerSession::new(Mechanism::ScramSha256, creds, None).unwrap();
    let big = vec![b'a'; MAX_MESSAGE_BYTES + 1];
    assert!(matches!(
        session.step(&big),
        Err(SaslError::InvalidMessage(_))
    ));
    assert!(session.is_ended());
}

#[test]
fn credential_parameters_follow_kafkas_bounds() {
    let m = ScramMechanism::Sha256;
    assert!(ScramCredential::from_password(m, b"pw", b"salt", 4095).is_err());
    assert!(ScramCredential::from_password(m, b"pw", b"salt", 16385).is_err());
    assert!(ScramCredential::from_password(m, b"pw", b"", 4096).is_err());
    assert!(ScramCredential::from_password(m, b"pw", b"salt", 16384).is_ok());
    assert!(ScramCredential::from_salted_password(m, &[0u8; 64], b"salt", 4096).is_err());
    let cred = ScramCredential::from_password(m, b"pw", b"salt", 4096).unwrap();
    assert_eq!((cred.stored_key.len(), cred.server_key.len()), (32, 32));
    assert!(!format!("{cred:?}").contains(&format!("{:?}", cred.stored_key)));
    assert_eq!(ScramMechanism::from_type(1), Some(ScramMechanism::Sha256));
    assert_eq!(ScramMechanism::from_type(2), Some(ScramMechanism::Sha512));
    assert_eq!(ScramMechanism::from_type(0), None);
    assert_eq!(ScramMechanism::Sha512.type_code(), 2);
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

#[test]
fn every_prefix_and_extension_of_valid_messages_is_answered_without_panic() {
    let creds = users(&[("alice", ScramMechanism::Sha256, "pw", b"saltsalt", 4096)]);
    let first = b"n,,n=alice,r=clientnonce";
    for end in 0..=first.len() {
        let mut session = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
        let result = session.step(&first[..end]);
        // From "n,,n=alice,r=c" on, a prefix is a valid (shorter) nonce.
        let shortest_valid = first.len() - "clientnonce".len() + 1;
        assert_eq!(result.is_ok(), end >= shortest_valid, "prefix {end}");
    }
    let bare = "n=alice,r=clientnonce";
    let mut probe = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
    let server_first = continue_bytes(probe.step(format!("n,,{bare}").as_bytes()));
    let (final_message, _) = client_final(ScramMechanism::Sha256, "pw", bare, &server_first);
    let final_message = final_message.into_bytes();
    for end in 0..final_message.len() {
        let mut session = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
        continue_bytes(session.step(format!("n,,{bare}").as_bytes()));
        assert!(session.step(&final_message[..end]).is_err(), "prefix {end}");
    }
    for suffix in [&b","[..], b",,", b",x", b",x=1"] {
        let mut session = ServerSession::new(Mechanism::ScramSha256, creds.clone(), None).unwrap();
        continue_bytes(session.step(format!("n,,{bare}").as_bytes()));
        let mut message = final_message.clone();
        message.extend_from_slice(suffix);
        assert!(session.step(&message).is_err());
    }
}
