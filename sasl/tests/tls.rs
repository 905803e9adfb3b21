//! TLS handshakes against [`TlsServer`] over loopback TCP (tokio-rustls):
//! the server certificate served, `ssl.client.auth` none / requested /
//! required with trusted, untrusted, expired and missing client
//! certificates, principals, Kafka's `ssl.*` keys, encrypted keys and
//! certificate reload. Certificates come from `fixtures/tls/gen.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use memorystreamer_sasl::principal::principal_for_peer;
use memorystreamer_sasl::tls::{
    ClientAuth, KeyStore, TlsProtocol, TlsServer, TlsSettings, TrustStore,
};
use memorystreamer_sasl::SaslError;
use rustls::{ClientConfig, ProtocolVersion, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).expect("fixture")
}

fn cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(fixture(name)).expect("fixture certificate")
}

fn pem_keystore(name: &str) -> KeyStore {
    KeyStore::PemFile {
        location: fixture(name),
        key_password: None,
    }
}

fn settings(keystore: KeyStore, client_auth: ClientAuth) -> TlsSettings {
    let mut settings = TlsSettings::new(keystore);
    settings.client_auth = client_auth;
    if client_auth != ClientAuth::None {
        settings.truststore = Some(TrustStore::PemFile(fixture("ca.pem")));
    }
    settings
}

/// A client trusting the test CA, with the named client certificate (all
/// share `client-key.pem`) or none.
fn client(cert_file: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(cert("ca.pem")).expect("CA");
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
    let config = match cert_file {
        Some(file) => {
            let key = PrivateKeyDer::from_pem_file(fixture("client-key.pem")).expect("key");
            builder
                .with_client_auth_cert(vec![cert(file)], key)
                .expect("client cert")
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// What one handshake gave each side.
struct Outcome {
    /// The server's view: the client's certificates, or why it refused.
    server: Result<Option<Vec<CertificateDer<'static>>>, String>,
    /// The end-entity certificate the client was served, if it got that far.
    served: Option<CertificateDer<'static>>,
    /// The protocol version the client negotiated.
    version: Option<ProtocolVersion>,
}

impl Outcome {
    fn principal(&self, server: &TlsServer) -> String {
        let peer = self.server.as_ref().expect("handshake accepted");
        principal_for_peer(peer.as_deref(), server.principal_mapping_rules()).expect("principal")
    }
}

async fn handshake(server: &TlsServer, client: Arc<ClientConfig>) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = TlsAcceptor::from(server.server_config());
    let server_side = async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let peer = tls.get_ref().1.peer_certificates().map(<[_]>::to_vec);
        tls.write_all(b"k").await.map_err(|e| e.to_string())?;
        tls.shutdown().await.map_err(|e| e.to_string())?;
        Ok(peer)
    };
    let client_side = async move {
        let tcp = TcpStream::connect(addr).await.ok()?;
        let name = ServerName::try_from("localhost").ok()?;
        let mut tls = TlsConnector::from(client).connect(name, tcp).await.ok()?;
        let served = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first().cloned());
        let version = tls.get_ref().1.protocol_version();
        // Wait for the server's byte (or its refusal) before closing.
        let mut byte = [0u8; 1];
        let _ = tls.read(&mut byte).await;
        Some((served, version))
    };
    let (server_result, client_result) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(server_side, client_side)
    })
    .await
    .expect("handshake finished in time");
    let (served, version) = client_result.unwrap_or((None, None));
    Outcome {
        server: server_result,
        served,
        version,
    }
}

#[tokio::test]
async fn serves_the_keystore_certificate_and_anonymous_without_client_auth() {
    let server =
        TlsServer::new(settings(pem_keystore("server.pem"), ClientAuth::None)).expect("server");
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-cert.pem")));
    assert_eq!(outcome.principal(&server), "User:ANONYMOUS");
    // A client certificate is not asked for, so none is seen.
    let outcome = handshake(&server, client(Some("client-alice.pem"))).await;
    assert_eq!(outcome.principal(&server), "User:ANONYMOUS");
    assert_eq!(server.certificate_chain()[0], cert("server-cert.pem"));
    // Debug output never carries the private key.
    let debug = format!("{server:?}");
    let key_pem = fixture_text("server-key.pem");
    let key_body = key_pem.lines().nth(1).expect("key body line");
    assert!(!debug.contains("PRIVATE KEY") && !debug.contains(key_body));
    let key_bytes = format!("{:?}", &key_pem.as_bytes()[..16]);
    assert!(!debug.contains(&key_bytes[1..key_bytes.len() - 1]));
}

#[tokio::test]
async fn required_refuses_missing_untrusted_and_expired_certificates() {
    let server =
        TlsServer::new(settings(pem_keystore("server.pem"), ClientAuth::Required)).expect("server");
    for (refused, reason) in [
        (None, "no certificates"),
        (Some("client-untrusted.pem"), "UnknownIssuer"),
        (Some("client-expired.pem"), "certificate expired"),
    ] {
        let outcome = handshake(&server, client(refused)).await;
        match outcome.server {
            Err(message) => assert!(message.contains(reason), "{refused:?}: {message}"),
            Ok(_) => panic!("client certificate {refused:?} must be refused"),
        }
    }
    let outcome = handshake(&server, client(Some("client-alice.pem"))).await;
    assert_eq!(
        outcome.principal(&server),
        "User:CN=alice,OU=eng,O=Example,C=US"
    );
}

#[tokio::test]
async fn requested_accepts_with_and_without_a_certificate() {
    let mut with_rules = settings(pem_keystore("server.pem"), ClientAuth::Requested);
    with_rules.principal_mapping_rules =
        memorystreamer_sasl::principal::PrincipalMappingRules::parse(
            "RULE:^CN=([^,]+),OU=([^,]+),.*$/$1@$2/U,DEFAULT",
        )
        .expect("rules");
    let server = TlsServer::new(with_rules).expect("server");
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.principal(&server), "User:ANONYMOUS");
    let outcome = handshake(&server, client(Some("client-alice.pem"))).await;
    assert_eq!(outcome.principal(&server), "User:ALICE@ENG");
    // A certificate the client does send must still be valid.
    let outcome = handshake(&server, client(Some("client-untrusted.pem"))).await;
    assert!(
        outcome.server.is_err(),
        "an untrusted certificate is refused"
    );
}

#[tokio::test]
async fn kafka_keys_build_inline_stores_and_restrict_protocols() {
    let props: BTreeMap<String, String> = [
        ("ssl.keystore.type", "PEM".to_string()),
        (
            "ssl.keystore.certificate.chain",
            fixture_text("server-cert.pem") + &fixture_text("ca.pem"),
        ),
        ("ssl.keystore.key", fixture_text("server-key.pem")),
        ("ssl.truststore.type", "PEM".to_string()),
        ("ssl.truststore.certificates", fixture_text("ca.pem")),
        ("ssl.client.auth", "required".to_string()),
        ("ssl.enabled.protocols", "TLSv1.2".to_string()),
        (
            "ssl.principal.mapping.rules",
            "RULE:^CN=([^,]+),.*$/$1/L".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = TlsSettings::from_props(&props).expect("settings");
    assert_eq!(settings.client_auth, ClientAuth::Required);
    assert_eq!(settings.enabled_protocols, vec![TlsProtocol::Tls12]);
    assert!(matches!(settings.keystore, KeyStore::Inline { .. }));
    assert!(!format!("{:?}", settings.keystore).contains("PRIVATE KEY"));
    let server = TlsServer::new(settings).expect("server");
    let outcome = handshake(&server, client(Some("client-alice.pem"))).await;
    assert_eq!(outcome.version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(outcome.principal(&server), "User:alice");
    assert_eq!(outcome.served, Some(cert("server-cert.pem")));
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn kafka_keys_refuse_what_kafka_refuses() {
    let location = fixture("server.pem");
    let location = location.to_str().expect("utf-8 path");
    let pem = [
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", location),
    ];
    let refused = |extra: &[(&str, &str)], needle: &str| {
        let mut all = pem.to_vec();
        all.extend_from_slice(extra);
        match TlsSettings::from_props(&props(&all)) {
            Err(SaslError::Config(message)) => {
                assert!(message.contains(needle), "{needle:?} not in {message:?}")
            }
            other => panic!("{extra:?} should be refused, got {other:?}"),
        }
    };
    refused(&[("ssl.keystore.type", "JKS")], "ssl.keystore.type=JKS");
    refused(&[("ssl.keystore.password", "x")], "ssl.keystore.password");
    refused(
        &[("ssl.keystore.key", "x")],
        "ssl.keystore.certificate.chain is not",
    );
    refused(
        &[
            ("ssl.keystore.key", "x"),
            ("ssl.keystore.certificate.chain", "x"),
        ],
        "ssl.keystore.location",
    );
    refused(
        &[("ssl.keystore.certificate.chain", "x")],
        "ssl.keystore.key",
    );
    refused(&[("ssl.client.auth", "required")], "truststore");
    refused(&[("ssl.client.auth", "REQUIRED")], "ssl.client.auth");
    refused(
        &[
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.password", "x"),
        ],
        "ssl.truststore.password",
    );
    refused(
        &[("ssl.truststore.location", location)],
        "ssl.truststore.type=JKS",
    );
    refused(
        &[("ssl.enabled.protocols", "TLSv9")],
        "ssl.enabled.protocols",
    );
    refused(
        &[("ssl.enabled.protocols", "TLSv1.1")],
        "ssl.enabled.protocols",
    );
    refused(&[("ssl.allow.dn.changes", "yes")], "ssl.allow.dn.changes");
    refused(
        &[("ssl.principal.mapping.rules", "nope")],
        "ssl.principal.mapping.rules",
    );
    assert!(matches!(
        TlsSettings::from_props(&props(&[])),
        Err(SaslError::Config(_))
    ));

    // Kafka's defaults.
    let settings = TlsSettings::from_props(&props(&pem)).expect("settings");
    assert_eq!(settings.client_auth, ClientAuth::None);
    assert_eq!(
        settings.enabled_protocols,
        vec![TlsProtocol::Tls12, TlsProtocol::Tls13]
    );
    assert!(settings.truststore.is_none());
    assert!(!settings.allow_dn_changes && !settings.allow_san_changes);
    assert_eq!(settings.principal_mapping_rules.to_string(), "[DEFAULT]");
    // Old protocols are skipped when a supported one remains.
    let mut old = pem.to_vec();
    old.push(("ssl.enabled.protocols", "TLSv1.1, TLSv1.3"));
    let settings = TlsSettings::from_props(&props(&old)).expect("settings");
    assert_eq!(settings.enabled_protocols, vec![TlsProtocol::Tls13]);
    // Cipher suites by IANA name.
    let mut ciphers = pem.to_vec();
    ciphers.push(("ssl.cipher.suites", "TLS_NOT_A_SUITE"));
    let settings = TlsSettings::from_props(&props(&ciphers)).expect("settings");
    assert!(matches!(
        TlsServer::new(settings),
        Err(SaslError::Config(_))
    ));
}

#[tokio::test]
async fn cipher_suites_restrict_the_handshake() {
    let mut settings = settings(pem_keystore("server.pem"), ClientAuth::None);
    settings.cipher_suites = vec!["TLS_CHACHA20_POLY1305_SHA256".into()];
    settings.enabled_protocols = vec![TlsProtocol::Tls13];
    let server = TlsServer::new(settings).expect("server");
    let outcome = handshake(&server, client(None)).await;
    assert!(outcome.server.is_ok());
    assert_eq!(outcome.version, Some(ProtocolVersion::TLSv1_3));
}

#[tokio::test]
async fn encrypted_keys_need_the_right_key_password() {
    let keystore = |password: Option<&str>| KeyStore::PemFile {
        location: fixture("server-encrypted.pem"),
        key_password: password.map(str::to_string),
    };
    let server = TlsServer::new(settings(keystore(Some("test-password")), ClientAuth::None))
        .expect("server");
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-cert.pem")));

    for (password, needle) in [
        (None, "set ssl.key.password"),
        (Some("wrong"), "does not decrypt"),
    ] {
        match TlsServer::new(settings(keystore(password), ClientAuth::None)) {
            Err(SaslError::Config(message)) => {
                assert!(message.contains(needle), "{message}");
                assert!(!message.contains("wrong"), "the password leaked: {message}");
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    // A password for a key that is not encrypted is refused, as in Kafka.
    let plain = KeyStore::PemFile {
        location: fixture("server.pem"),
        key_password: Some("test-password".into()),
    };
    assert!(matches!(
        TlsServer::new(settings(plain, ClientAuth::None)),
        Err(SaslError::Config(_))
    ));
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let mismatched = KeyStore::Inline {
        certificate_chain: fixture_text("server-cert.pem"),
        key: fixture_text("server-rotated-key.pem"),
        key_password: None,
    };
    assert!(matches!(
        TlsServer::new(settings(mismatched, ClientAuth::None)),
        Err(SaslError::Config(_))
    ));
    let missing = KeyStore::PemFile {
        location: fixture("does-not-exist.pem"),
        key_password: None,
    };
    assert!(matches!(
        TlsServer::new(settings(missing, ClientAuth::None)),
        Err(SaslError::Io { .. })
    ));
}

#[tokio::test]
async fn reload_serves_a_new_certificate_and_keeps_the_old_one_when_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = dir.path().join("keystore.pem");
    std::fs::copy(fixture("server.pem"), &location).expect("copy");
    let keystore = KeyStore::PemFile {
        location: location.clone(),
        key_password: None,
    };
    let server = TlsServer::new(settings(keystore.clone(), ClientAuth::None)).expect("server");
    assert!(!server.reload_if_changed().expect("unchanged"));

    std::fs::copy(fixture("server-rotated.pem"), &location).expect("rotate");
    assert!(server.reload_if_changed().expect("reloaded"));
    assert!(!server.reload_if_changed().expect("already reloaded"));
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-rotated-cert.pem")));

    // A broken file is reported and the rotated certificate stays.
    std::fs::write(&location, "-----BEGIN CERTIFICATE-----\ngarbage\n").expect("break");
    assert!(matches!(
        server.reload_if_changed(),
        Err(SaslError::Config(_))
    ));
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-rotated-cert.pem")));

    // A different subject is refused unless ssl.allow.dn.changes.
    std::fs::copy(fixture("server-other-dn.pem"), &location).expect("other dn");
    match server.reload_if_changed() {
        Err(SaslError::Config(message)) => assert!(message.contains("ssl.allow.dn.changes")),
        other => panic!("a DN change must be refused, got {other:?}"),
    }
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-rotated-cert.pem")));

    // Different subject alternative names: refused unless ssl.allow.san.changes.
    std::fs::copy(fixture("server-other-san.pem"), &location).expect("other san");
    match server.reload_if_changed() {
        Err(SaslError::Config(message)) => assert!(message.contains("ssl.allow.san.changes")),
        other => panic!("a SAN change must be refused, got {other:?}"),
    }
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-rotated-cert.pem")));

    std::fs::copy(fixture("server.pem"), &location).expect("back");
    let mut allowing = settings(keystore, ClientAuth::None);
    allowing.allow_dn_changes = true;
    allowing.allow_san_changes = true;
    let server = TlsServer::new(allowing).expect("server");
    std::fs::copy(fixture("server-other-dn.pem"), &location).expect("other dn");
    assert!(server.reload_if_changed().expect("allowed"));
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-other-dn-cert.pem")));
    std::fs::copy(fixture("server-other-san.pem"), &location).expect("other san");
    assert!(server.reload_if_changed().expect("allowed"));
    let outcome = handshake(&server, client(None)).await;
    assert_eq!(outcome.served, Some(cert("server-other-san-cert.pem")));
}

#[tokio::test]
async fn reload_picks_up_a_new_truststore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let truststore = dir.path().join("truststore.pem");
    std::fs::copy(fixture("ca.pem"), &truststore).expect("copy");
    let mut settings = settings(pem_keystore("server.pem"), ClientAuth::Required);
    settings.truststore = Some(TrustStore::PemFile(truststore.clone()));
    let server = TlsServer::new(settings).expect("server");
    let outcome = handshake(&server, client(Some("client-untrusted.pem"))).await;
    assert!(outcome.server.is_err(), "the rogue CA is not trusted yet");

    std::fs::write(
        &truststore,
        fixture_text("ca.pem") + &fixture_text("rogue-ca.pem"),
    )
    .expect("trust the rogue CA");
    assert!(server.reload_if_changed().expect("reloaded"));
    let outcome = handshake(&server, client(Some("client-untrusted.pem"))).await;
    assert_eq!(outcome.principal(&server), "User:CN=mallory");
    let outcome = handshake(&server, client(Some("client-alice.pem"))).await;
    assert_eq!(
        outcome.principal(&server),
        "User:CN=alice,OU=eng,O=Example,C=US"
    );
}
