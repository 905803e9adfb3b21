//! OAUTHBEARER: JWT validation against JWKS and PEM keys (RSA and EC test
//! keys in `tests/fixtures/oauth/`, made with openssl) and the RFC 7628
//! exchange as Kafka runs it. Time is explicit (`NOW`).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use memorystreamer_sasl::{
    Credentials, JwtValidator, KeySource, Mechanism, OAuthConfig, SaslError, ScramCredential,
    ScramMechanism, ServerSession, Step,
};
use serde_json::{json, Value};

const NOW_SECS: u64 = 1_700_000_000;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oauth")
        .join(name)
}

fn rsa_key(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn ec_key(name: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn write_jwks(path: &Path, keys: Vec<Jwk>) {
    std::fs::write(path, serde_json::to_vec(&JwkSet { keys }).unwrap()).unwrap();
}

fn sign(key: &EncodingKey, alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn claims() -> Value {
    json!({
        "sub": "alice",
        "iss": "https://issuer.example",
        "aud": "kafka",
        "iat": NOW_SECS - 10,
        "exp": NOW_SECS + 3600,
        "scope": ["produce", "consume"],
    })
}

struct Setup {
    _dir: tempfile::TempDir,
    jwks: PathBuf,
    validator: Arc<JwtValidator>,
}

/// A JWKS with rsa1 (kid `rsa-1`) and ec1 (kid `ec-1`).
fn setup(configure: impl FnOnce(&mut OAuthConfig)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    write_jwks(
        &jwks,
        vec![
            jwk(&rsa_key("rsa1.key"), Algorithm::RS256, "rsa-1"),
            jwk(&ec_key("ec1.key"), Algorithm::ES256, "ec-1"),
        ],
    );
    let mut config = OAuthConfig::new(KeySource::JwksFile(jwks.clone()));
    configure(&mut config);
    let validator = Arc::new(JwtValidator::new(config).unwrap());
    Setup {
        _dir: dir,
        jwks,
        validator,
    }
}

fn rejected(setup: &Setup, token: &str) -> String {
    match setup.validator.validate(token, now()) {
        Err(SaslError::AuthenticationFailed(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn good_tokens_validate_with_the_key_named_by_kid() {
    let s = setup(|_| {});
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    let valid = s.validator.validate(&token, now()).unwrap();
    assert_eq!(valid.principal, "User:alice");
    assert_eq!(valid.expires_at, now() + Duration::from_secs(3600));
    assert_eq!(valid.scopes, vec!["produce", "consume"]);

    let token = sign(
        &ec_key("ec1.key"),
        Algorithm::ES256,
        Some("ec-1"),
        &claims(),
    );
    assert_eq!(
        s.validator.validate(&token, now()).unwrap().principal,
        "User:alice"
    );
}

#[test]
fn kid_selects_the_key() {
    let s = setup(|_| {});
    // Signed by rsa2 but naming rsa-1.
    let token = sign(
        &rsa_key("rsa2.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    rejected(&s, &token);
    // Signed by rsa1 but naming a kid the JWKS does not have.
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("other"),
        &claims(),
    );
    assert!(rejected(&s, &token).contains("no key"));
    // An EC key named for an RSA algorithm.
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("ec-1"),
        &claims(),
    );
    rejected(&s, &token);
    // Every JWKS key has a kid: a token without one finds none.
    let token = sign(&rsa_key("rsa1.key"), Algorithm::RS256, None, &claims());
    rejected(&s, &token);
}

#[test]
fn expiry_and_not_before_honour_the_clock_skew() {
    let s = setup(|_| {});
    let key = rsa_key("rsa1.key");
    let with = |field: &str, value: u64| {
        let mut c = claims();
        c[field] = json!(value);
        sign(&key, Algorithm::RS256, Some("rsa-1"), &c)
    };
    assert!(rejected(&s, &with("exp", NOW_SECS - 31)).contains("expired"));
    assert!(s
        .validator
        .validate(&with("exp", NOW_SECS - 29), now())
        .is_ok());
    assert!(rejected(&s, &with("nbf", NOW_SECS + 31)).contains("not valid before"));
    assert!(s
        .validator
        .validate(&with("nbf", NOW_SECS + 29), now())
        .is_ok());
    assert!(rejected(&s, &with("iat", NOW_SECS + 31)).contains("future"));
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(rejected(&s, &sign(&key, Algorithm::RS256, Some("rsa-1"), &no_exp)).contains("exp"));
    let mut no_iat = claims();
    no_iat.as_object_mut().unwrap().remove("iat");
    assert!(rejected(&s, &sign(&key, Algorithm::RS256, Some("rsa-1"), &no_iat)).contains("iat"));

    let strict = setup(|c| c.clock_skew = Duration::ZERO);
    assert!(rejected(&strict, &with("exp", NOW_SECS - 1)).contains("expired"));
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let s = setup(|c| {
        c.expected_issuer = Some("https://issuer.example".into());
        c.expected_audience = vec!["other".into(), "kafka".into()];
    });
    let key = rsa_key("rsa1.key");
    let token = |c: &Value| sign(&key, Algorithm::RS256, Some("rsa-1"), c);
    assert!(s.validator.validate(&token(&claims()), now()).is_ok());
    let mut aud_list = claims();
    aud_list["aud"] = json!(["x", "kafka"]);
    assert!(s.validator.validate(&token(&aud_list), now()).is_ok());

    let mut wrong_iss = claims();
    wrong_iss["iss"] = json!("https://evil.example");
    rejected(&s, &token(&wrong_iss));
    let mut wrong_aud = claims();
    wrong_aud["aud"] = json!("elsewhere");
    rejected(&s, &token(&wrong_aud));
    let mut no_aud = claims();
    no_aud.as_object_mut().unwrap().remove("aud");
    rejected(&s, &token(&no_aud));
    let mut no_iss = claims();
    no_iss.as_object_mut().unwrap().remove("iss");
    rejected(&s, &token(&no_iss));
}

#[test]
fn unsigned_forged_and_subjectless_tokens_are_rejected() {
    let s = setup(|_| {});
    // alg: none.
    let body = B64URL.encode(serde_json::to_vec(&claims()).unwrap());
    let header = B64URL.encode(br#"{"alg":"none","kid":"rsa-1"}"#);
    rejected(&s, &format!("{header}.{body}."));
    // A valid signature over other claims.
    let good = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    let mut parts: Vec<&str> = good.split('.').collect();
    let mut forged_claims = claims();
    forged_claims["sub"] = json!("admin");
    let forged_body = B64URL.encode(serde_json::to_vec(&forged_claims).unwrap());
    parts[1] = &forged_body;
    rejected(&s, &parts.join("."));
    // HS256 keyed with the public key (algorithm confusion).
    let public = std::fs::read(fixture("rsa1.pub")).unwrap();
    let hs = sign(
        &EncodingKey::from_secret(&public),
        Algorithm::HS256,
        Some("rsa-1"),
        &claims(),
    );
    rejected(&s, &hs);
    // No subject.
    let mut no_sub = claims();
    no_sub.as_object_mut().unwrap().remove("sub");
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &no_sub,
    );
    assert!(rejected(&s, &token).contains("sub"));
    rejected(&s, "not.a.jwt");
    rejected(&s, "");
}

#[test]
fn custom_subject_and_scope_claims() {
    let s = setup(|c| {
        c.sub_claim = "client_id".into();
        c.scope_claim = "scp".into();
    });
    let mut c = claims();
    c["client_id"] = json!("svc-orders");
    c["scp"] = json!(" kafka.write kafka.read ");
    let token = sign(&rsa_key("rsa1.key"), Algorithm::RS256, Some("rsa-1"), &c);
    let valid = s.validator.validate(&token, now()).unwrap();
    assert_eq!(valid.principal, "User:svc-orders");
    // A string claim is one scope, as Kafka reads it.
    assert_eq!(valid.scopes, vec!["kafka.write kafka.read"]);
}

#[test]
fn pem_files_verify_tokens_without_kid() {
    let config = OAuthConfig::new(KeySource::PemFiles(vec![
        fixture("rsa1.pub"),
        fixture("ec1.pub"),
    ]));
    let validator = JwtValidator::new(config).unwrap();
    for token in [
        sign(&rsa_key("rsa1.key"), Algorithm::RS256, None, &claims()),
        sign(&rsa_key("rsa1.key"), Algorithm::PS256, None, &claims()),
        sign(&ec_key("ec1.key"), Algorithm::ES256, Some("any"), &claims()),
    ] {
        assert_eq!(
            validator.validate(&token, now()).unwrap().principal,
            "User:alice"
        );
    }
    let other = sign(&rsa_key("rsa2.key"), Algorithm::RS256, None, &claims());
    assert!(validator.validate(&other, now()).is_err());
    assert!(
        JwtValidator::new(OAuthConfig::new(KeySource::PemFiles(vec![fixture(
            "rsa1.key"
        )
        .with_extension("missing")])))
        .is_err()
    );
}

#[test]
fn jwks_file_is_reloaded_when_it_changes() {
    let s = setup(|_| {});
    let rsa2_token = sign(
        &rsa_key("rsa2.key"),
        Algorithm::RS256,
        Some("rsa-2"),
        &claims(),
    );
    rejected(&s, &rsa2_token);
    assert!(!s.validator.reload_if_changed().unwrap());

    let bump = |path: &Path, secs: u64| {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::now() + Duration::from_secs(secs))
            .unwrap();
    };
    write_jwks(
        &s.jwks,
        vec![jwk(&rsa_key("rsa2.key"), Algorithm::RS256, "rsa-2")],
    );
    bump(&s.jwks, 10);
    assert!(s.validator.reload_if_changed().unwrap());
    assert!(s.validator.validate(&rsa2_token, now()).is_ok());
    // The rotated-out key no longer verifies.
    let rsa1_token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    rejected(&s, &rsa1_token);

    // A broken file keeps the previous keys.
    std::fs::write(&s.jwks, b"{ half a docu").unwrap();
    bump(&s.jwks, 20);
    assert!(s.validator.reload_if_changed().is_err());
    assert!(s.validator.validate(&rsa2_token, now()).is_ok());
}

struct NoUsers;

impl Credentials for NoUsers {
    fn scram(&self, _: &str, _: ScramMechanism) -> Option<ScramCredential> {
        None
    }
    fn plain_matches(&self, _: &str, _: &[u8]) -> bool {
        false
    }
}

fn session(s: &Setup) -> ServerSession {
    ServerSession::new(
        Mechanism::OAuthBearer,
        Arc::new(NoUsers),
        Some(s.validator.clone()),
    )
    .unwrap()
}

fn initial(authzid: &str, token: &str, extensions: &str) -> Vec<u8> {
    format!("n,{authzid},\x01auth=Bearer {token}\x01{extensions}\x01").into_bytes()
}

#[test]
fn exchange_succeeds_with_a_good_token() {
    let s = setup(|_| {});
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    for message in [
        initial("", &token, ""),
        initial("a=alice", &token, ""),
        initial("", &token, "traceId=abc 123\x01"),
    ] {
        let mut session = session(&s);
        assert_eq!(
            session.step_at(&message, now()).unwrap(),
            Step::Done {
                response: Vec::new(),
                principal: "User:alice".into(),
                expires_at: Some(now() + Duration::from_secs(3600)),
            }
        );
        assert!(matches!(
            session.step_at(&message, now()),
            Err(SaslError::InvalidMessage(_))
        ));
    }
}

#[test]
fn bad_token_is_answered_with_kafkas_error_challenge() {
    let s = setup(|_| {});
    let mut c = claims();
    c["exp"] = json!(NOW_SECS - 3600);
    let expired = sign(&rsa_key("rsa1.key"), Algorithm::RS256, Some("rsa-1"), &c);
    let mut session = session(&s);
    assert_eq!(
        session.step_at(&initial("", &expired, ""), now()).unwrap(),
        Step::Continue(br#"{"status":"invalid_token"}"#.to_vec())
    );
    match session.step_at(b"\x01", now()) {
        Err(SaslError::AuthenticationFailed(m)) => assert_eq!(m, r#"{"status":"invalid_token"}"#),
        other => panic!("expected the JSON error as the failure, got {other:?}"),
    }
    assert!(session.is_ended());
}

#[test]
fn malformed_initial_responses_and_authzid_mismatch_fail() {
    let s = setup(|_| {});
    let token = sign(
        &rsa_key("rsa1.key"),
        Algorithm::RS256,
        Some("rsa-1"),
        &claims(),
    );
    let generic =
        "Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER";
    for message in [
        b"".to_vec(),
        b"\x01".to_vec(),
        b"n,,\x01\x01".to_vec(),
        format!("y,,\x01auth=Bearer {token}\x01\x01").into_bytes(),
        format!("n,,\x01auth=Basic {token}\x01\x01").into_bytes(),
        format!("n,,\x01auth=Bearer {token}\x01").into_bytes(),
        format!("n,,\x01auth=Bearer {token}!\x01\x01").into_bytes(),
        format!("n,,\x01auth=Bearer {token}\x01bad key=v\x01\x01").into_bytes(),
    ] {
        let mut session = session(&s);
        match session.step_at(&message, now()) {
            Err(SaslError::AuthenticationFailed(m)) => assert_eq!(m, generic, "{message:?}"),
            other => panic!("{message:?}: expected a failure, got {other:?}"),
        }
    }
    let mut session = session(&s);
    match session.step_at(&initial("a=bob", &token, ""), now()) {
        Err(SaslError::AuthenticationFailed(m)) => assert_eq!(
            m,
            "Authentication failed: Client requested an authorization id (bob) that is different from the token's principal name (alice)"
        ),
        other => panic!("expected an authzid failure, got {other:?}"),
    }
}

#[test]
fn config_from_kafka_keys() {
    let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let config = OAuthConfig::from_props(&props(&[
        (
            "sasl.oauthbearer.jwks.endpoint.url",
            "file:///etc/kafka/jwks.json",
        ),
        ("sasl.oauthbearer.expected.issuer", "https://issuer.example"),
        ("sasl.oauthbearer.expected.audience", "kafka, other"),
        ("sasl.oauthbearer.clock.skew.seconds", "5"),
        ("sasl.oauthbearer.sub.claim.name", "client_id"),
    ]))
    .unwrap();
    assert_eq!(
        config.keys,
        KeySource::JwksFile("/etc/kafka/jwks.json".into())
    );
    assert_eq!(
        config.expected_issuer.as_deref(),
        Some("https://issuer.example")
    );
    assert_eq!(config.expected_audience, vec!["kafka", "other"]);
    assert_eq!(config.clock_skew, Duration::from_secs(5));
    assert_eq!(config.sub_claim, "client_id");
    assert_eq!(config.scope_claim, "scope");
    assert!(OAuthConfig::from_props(&props(&[(
        "sasl.oauthbearer.jwks.endpoint.url",
        "https://idp.example/jwks"
    )]))
    .is_err());
    assert!(OAuthConfig::from_props(&props(&[])).is_err());
}

#[test]
fn validate_picks_up_a_changed_jwks_by_itself() {
    let s = setup(|c| c.reload_check_interval = Duration::ZERO);
    let rsa2_token = sign(
        &rsa_key("rsa2.key"),
        Algorithm::RS256,
        Some("rsa-2"),
        &claims(),
    );
    rejected(&s, &rsa2_token);
    write_jwks(
        &s.jwks,
        vec![jwk(&rsa_key("rsa2.key"), Algorithm::RS256, "rsa-2")],
    );
    File::options()
        .write(true)
        .open(&s.jwks)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    assert!(s.validator.validate(&rsa2_token, now()).is_ok());
}
