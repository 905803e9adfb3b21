//! A TLS listener picks up a certificate renewed on disk without a
//! restart (issue 16): the broker re-reads its keystore file every
//! `ssl.certificate.reload.interval.ms` and new connections are served
//! the new certificate; a broken file keeps the old one in use.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

fn cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(tls_fixture(name)).expect("fixture certificate")
}

/// The end-entity certificate a new connection to `port` is served.
fn served(port: u16) -> CertificateDer<'static> {
    let mut roots = RootCertStore::empty();
    roots.add(cert("ca.pem")).expect("CA");
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = tokio::time::timeout(
            Duration::from_secs(10),
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .expect("handshake in time")
        .expect("handshake");
        let (_, session) = tls.get_ref();
        session.peer_certificates().expect("server certificate")[0].clone()
    })
}

#[test]
fn a_certificate_replaced_on_disk_is_served_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keystore = dir.path().join("broker.pem");
    std::fs::copy(tls_fixture("server.pem"), &keystore).expect("copy");
    let location = keystore.display().to_string();
    let b = TestBroker::start(&[
        ("listeners", "SSL://127.0.0.1:0"),
        ("ssl.keystore.type", "PEM"),
        ("ssl.keystore.location", &location),
        ("ssl.certificate.reload.interval.ms", "100"),
    ]);
    assert_eq!(served(b.port), cert("server-cert.pem"));

    // A broken file is not applied: the old certificate stays in use.
    std::fs::write(&keystore, "not a PEM file").expect("break");
    let broken_since = Instant::now();
    // Five reload periods with the broken file, each connection still
    // served the old certificate.
    while broken_since.elapsed() < Duration::from_millis(500) {
        assert_eq!(served(b.port), cert("server-cert.pem"));
    }
    // A renewed certificate (same subject and SANs) replaces it.
    std::fs::copy(tls_fixture("server-rotated.pem"), &keystore).expect("rotate");
    let deadline = Instant::now() + Duration::from_secs(20);
    let rotated = cert("server-rotated-cert.pem");
    while served(b.port) != rotated {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was not served within 20 s"
        );
        std::thread::yield_now();
    }
}
