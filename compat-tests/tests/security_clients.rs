//! Real clients over secured listeners (issue 16): confluent-kafka
//! (librdkafka), kafka-python and the Java client each authenticate with
//! SCRAM over TLS (SASL_SSL), with OAUTHBEARER (a JWT signed here with a
//! fixture key, which the broker checks against a JWKS file) and with a
//! client certificate (SSL, `ssl.client.auth=required`), then produce and
//! consume; with the authorizer on, a SCRAM user is refused what its ACLs
//! do not allow (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED)
//! and allowed what they do.
//!
//! One broker per test, with four listeners: SASL_SSL (SCRAM-SHA-512,
//! SCRAM-SHA-256), SSL (mTLS; the certificate's CN is the principal by
//! `ssl.principal.mapping.rules`), SASL_PLAINTEXT (OAUTHBEARER) and
//! PLAINTEXT, where User:ANONYMOUS is the super user that creates the SCRAM
//! credentials, topics and ACLs (the broker has no storage-format
//! bootstrap for SCRAM users). Every client bootstraps on one listener and
//! must be sent back to that listener's endpoint by Metadata and
//! FindCoordinator, as Kafka does.
//!
//! The scenarios are `python/security.py` and the Java class
//! `SecurityScenario` (`java/clients`, run with `-Dtest=`). Certificates:
//! `sasl/tests/fixtures/tls` (the server's SANs are `localhost` and
//! `127.0.0.1`); signing key: `sasl/tests/fixtures/oauth/rsa1.key`.
//! A missing client fails the test; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use memorystreamer_compat_tests::{
    mvn, python, run_judged, script, workspace_root, Broker, JavaRun,
};

/// `sasl.oauthbearer.expected.issuer` and the tokens' `iss`.
const ISSUER: &str = "https://issuer.memorystreamer.test";
/// `sasl.oauthbearer.expected.audience` and the tokens' `aud`.
const AUDIENCE: &str = "kafka-compat";
/// The tokens' `sub`: the principal is `User:oauth-user`.
const OAUTH_USER: &str = "oauth-user";
/// The principal `client-alice.pem` (`CN=alice,OU=eng,O=Example,C=US`)
/// maps to under [`MAPPING_RULES`].
const MTLS_PRINCIPAL: &str = "User:alice";
/// Kafka's `ssl.principal.mapping.rules`: the CN of a DN with an OU.
const MAPPING_RULES: &str = "RULE:^CN=([^,]+),OU=.*$/$1/,DEFAULT";
/// The listeners, in `listeners` order.
const LISTENERS: &[&str] = &["SASL_SSL", "SSL", "SASL_PLAINTEXT", "PLAINTEXT"];

fn tls(name: &str) -> PathBuf {
    workspace_root().join("sasl/tests/fixtures/tls").join(name)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The OAUTHBEARER material of one test: a JWKS file holding the public
/// half of `rsa1.key` (the broker's keys) and a token signed with it.
struct OAuth {
    dir: tempfile::TempDir,
}

impl OAuth {
    fn mint() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let pem = std::fs::read(workspace_root().join("sasl/tests/fixtures/oauth/rsa1.key"))
            .expect("the fixture signing key");
        let key = EncodingKey::from_rsa_pem(&pem).expect("an RSA private key");
        let kid = "compat-rsa1";
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("a JWK of the key");
        jwk.common.key_id = Some(kid.into());
        let jwks = serde_json::to_vec(&JwkSet { keys: vec![jwk] }).expect("JWKS JSON");
        std::fs::write(dir.path().join("jwks.json"), jwks).expect("write the JWKS");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs();
        let claims = serde_json::json!({
            "sub": OAUTH_USER,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "scope": "kafka",
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        let token = jsonwebtoken::encode(&header, &claims, &key).expect("sign the token");
        std::fs::write(dir.path().join("token.jwt"), token).expect("write the token");
        // The same claims and key id, signed with another key: refused.
        let pem = std::fs::read(workspace_root().join("sasl/tests/fixtures/oauth/rsa2.key"))
            .expect("the second fixture key");
        let other = EncodingKey::from_rsa_pem(&pem).expect("an RSA private key");
        let forged = jsonwebtoken::encode(&header, &claims, &other).expect("sign the forgery");
        std::fs::write(dir.path().join("forged.jwt"), forged).expect("write the forgery");
        OAuth { dir }
    }

    fn jwks(&self) -> PathBuf {
        self.dir.path().join("jwks.json")
    }

    fn token(&self) -> PathBuf {
        self.dir.path().join("token.jwt")
    }

    fn forged(&self) -> PathBuf {
        self.dir.path().join("forged.jwt")
    }
}

/// A broker with the four listeners and the authorizer on (see the module
/// docs).
fn secured_broker(oauth: &OAuth) -> Broker {
    let args: Vec<String> = [
        "ssl.keystore.type=PEM".to_string(),
        format!("ssl.keystore.location={}", path_str(&tls("server.pem"))),
        "ssl.truststore.type=PEM".to_string(),
        format!("ssl.truststore.location={}", path_str(&tls("ca.pem"))),
        "listener.name.ssl.ssl.client.auth=required".to_string(),
        format!("listener.name.ssl.ssl.principal.mapping.rules={MAPPING_RULES}"),
        "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256".to_string(),
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms=OAUTHBEARER".to_string(),
        // Mechanism-prefixed, the form Kafka's docs show; the listener
        // prefix alone works too.
        format!(
            "listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url=file://{}",
            path_str(&oauth.jwks())
        ),
        format!(
            "listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.expected.issuer={ISSUER}"
        ),
        format!("listener.name.sasl_plaintext.sasl.oauthbearer.expected.audience={AUDIENCE}"),
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer".to_string(),
        "allow.everyone.if.no.acl.found=false".to_string(),
        "super.users=User:ANONYMOUS".to_string(),
        "group.initial.rebalance.delay.ms=0".to_string(),
    ]
    .into_iter()
    .flat_map(|kv| ["-o".to_string(), kv])
    .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Broker::start_with_listeners(LISTENERS, &args)
}

/// `python/security.py <cmd>` against `broker`; returns its stdout.
fn security_py(broker: &Broker, oauth: &OAuth, cmd: &str, client: &str, topic: &str) -> String {
    let mut command = Command::new(python());
    command
        .arg(script("python/security.py"))
        .arg(cmd)
        .args(["--client", client, "--topic", topic])
        .args(["--admin", &broker.listener_bootstrap("PLAINTEXT")])
        .args(["--scram", &broker.listener_bootstrap("SASL_SSL")])
        .args(["--oauth", &broker.listener_bootstrap("SASL_PLAINTEXT")])
        .args(["--mtls", &broker.listener_bootstrap("SSL")])
        .args(["--ca", path_str(&tls("ca.pem"))])
        .args(["--cert", path_str(&tls("client-alice.pem"))])
        .args(["--key", path_str(&tls("client-key.pem"))])
        .args(["--mtls-principal", MTLS_PRINCIPAL])
        .args(["--token", path_str(&oauth.token())])
        .args(["--forged-token", path_str(&oauth.forged())])
        .args(["--oauth-user", OAUTH_USER]);
    let out = run_judged(
        broker,
        &mut command,
        Duration::from_secs(300),
        80,
        &format!("security.py {cmd} --client {client}"),
    );
    println!("{out}");
    out
}

fn assert_no_panic(broker: &Broker) {
    assert!(
        !broker.log().contains("panicked"),
        "the broker panicked:\n{}",
        broker.log_tail(80)
    );
}

/// The lines `security.py roundtrips` prints for the four ways in.
fn assert_roundtrips(out: &str) {
    for line in [
        "scram-sha-512: 5 records back as User:scram-user",
        "scram-sha-256: 5 records back as User:scram-user",
        "oauthbearer: 5 records back as User:oauth-user",
        "mtls: 5 records back as User:alice",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

#[test]
fn confluent_kafka_authenticates_with_scram_oauthbearer_and_certificates() {
    let oauth = OAuth::mint();
    let broker = secured_broker(&oauth);
    let out = security_py(&broker, &oauth, "roundtrips", "confluent", "ck-sec");
    assert_roundtrips(&out);
    for line in [
        "scram-sha-512 wrong password refused",
        "oauthbearer forged token refused",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_no_panic(&broker);
}

#[test]
fn kafka_python_authenticates_with_scram_oauthbearer_and_certificates() {
    let oauth = OAuth::mint();
    let broker = secured_broker(&oauth);
    let out = security_py(&broker, &oauth, "roundtrips", "kafka-python", "kp-sec");
    assert_roundtrips(&out);
    assert_no_panic(&broker);
}

#[test]
fn confluent_kafka_scram_users_are_refused_and_allowed_by_acls() {
    let oauth = OAuth::mint();
    let broker = secured_broker(&oauth);
    let out = security_py(&broker, &oauth, "acls", "confluent", "ck-acl");
    for line in [
        "producer without WRITE denied: TOPIC_AUTHORIZATION_FAILED",
        "producer with WRITE: delivered",
        "consumer without READ on the group denied: GROUP_AUTHORIZATION_FAILED",
        "consumer with READ on the group: record back",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_no_panic(&broker);
}

/// Runs `SecurityScenario#<step>` with the client line of Maven profile
/// `profile` against `broker`, and checks its report says the step ran and
/// passed.
fn java_step(broker: &Broker, oauth: &OAuth, profile: &str, step: &str, topic: &str) {
    JavaRun::step(profile, "SecurityScenario", step, Duration::from_secs(300))
        .property("admin", broker.listener_bootstrap("PLAINTEXT"))
        .property("scram", broker.listener_bootstrap("SASL_SSL"))
        .property("oauth", broker.listener_bootstrap("SASL_PLAINTEXT"))
        .property("mtls", broker.listener_bootstrap("SSL"))
        .property("ca", path_str(&tls("ca.pem")))
        .property("cert", path_str(&tls("client-alice.pem")))
        .property("key", path_str(&tls("client-key.pem")))
        .property("mtlsPrincipal", MTLS_PRINCIPAL)
        .property("token", path_str(&oauth.token()))
        .property("oauthUser", OAUTH_USER)
        .property("topic", topic)
        .run(std::slice::from_ref(broker));
}

/// One test for every Java run: they share the Maven project's `target/`.
#[test]
fn java_client_authenticates_and_is_authorized_over_secured_listeners() {
    mvn();
    // The pinned client lines (versions in pom.xml), a fresh broker each.
    for profile in ["kafka-4", "kafka-3.9"] {
        let oauth = OAuth::mint();
        let broker = secured_broker(&oauth);
        let prefix = format!("java-{}", profile.replace('.', "-"));
        java_step(&broker, &oauth, profile, "roundTrips", &prefix);
        java_step(&broker, &oauth, profile, "acls", &prefix);
        assert_no_panic(&broker);
    }
}
