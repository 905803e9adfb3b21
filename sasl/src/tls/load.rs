//! PEM keystores and truststores into rustls types: the server's
//! certificate chain and key (a `CertifiedKey`, with the end-entity
//! certificate's subject and SANs for Kafka's reload checks) and the
//! client trust anchors (a `RootCertStore`).
//!
//! Kafka's rules: at least one certificate, exactly one private key, an
//! encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`) needs `ssl.key.password`
//! and a password needs an encrypted key. More lenient than Kafka: PKCS#1
//! (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys are accepted too.
//! As Kafka's PEM parser, whitespace inside a PEM block is ignored, so a
//! block written on one line (a properties value) loads like the usual
//! 64-column form ([`normalize_pem`]).
//! Not here: which file to read or when (`server.rs`).

use std::sync::Arc;

use pkcs8::der::Decode;
use pkcs8::EncryptedPrivateKeyInfo;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use x509_cert::der::Encode;
use x509_cert::ext::pkix::SubjectAltName;

use crate::principal::subject_name;
use crate::SaslError;

/// A loaded keystore: what the resolver serves, and the identity Kafka
/// compares when a keystore is reloaded.
#[derive(Debug)]
pub(super) struct LoadedKeystore {
    pub(super) certified: Arc<CertifiedKey>,
    /// The end-entity certificate's subject (RFC 2253).
    pub(super) subject: String,
    /// The end-entity certificate's subject alternative names, each DER
    /// encoded, sorted (Kafka compares them as a set).
    pub(super) sans: Vec<Vec<u8>>,
}

/// Loads a PEM keystore. `what` names the setting in error messages.
pub(super) fn keystore(
    chain_pem: &[u8],
    key_pem: &[u8],
    key_password: Option<&str>,
    what: &str,
    provider: &CryptoProvider,
) -> Result<LoadedKeystore, SaslError> {
    let chain = certificates(&normalize_pem(chain_pem), what)?;
    let key = private_key(&normalize_pem(key_pem), key_password, what)?;
    let certified = CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        SaslError::Config(format!(
            "{what}: the private key cannot be used with the certificate: {e}"
        ))
    })?;
    let leaf = certified.cert.first().ok_or_else(|| {
        SaslError::Config(format!(
            "{what}: at least one certificate expected, but none found"
        ))
    })?;
    let subject = subject_name(leaf.as_ref())
        .map_err(|e| SaslError::Config(format!("{what}: certificate subject: {e}")))?;
    let sans = subject_alt_names(leaf.as_ref()).map_err(|e| {
        SaslError::Config(format!(
            "{what}: certificate subject alternative names: {e}"
        ))
    })?;
    Ok(LoadedKeystore {
        certified: Arc::new(certified),
        subject,
        sans,
    })
}

/// Loads PEM trust anchors.
pub(super) fn truststore(pem: &[u8], what: &str) -> Result<RootCertStore, SaslError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(&normalize_pem(pem), what)? {
        roots
            .add(cert)
            .map_err(|e| SaslError::Config(format!("{what}: unusable trusted certificate: {e}")))?;
    }
    Ok(roots)
}

/// `pem` with every `-----BEGIN X-----` … `-----END X-----` block on lines
/// of its own and its base64 body re-wrapped at 64 columns, whatever
/// whitespace (none, spaces, newlines) separated them. Text outside the
/// blocks is dropped; an unterminated block is kept as it was, for the
/// PEM reader to report.
pub(super) fn normalize_pem(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let mut out = String::with_capacity(text.len() + text.len() / 64 + 64);
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after_begin.find("-----") else {
            break;
        };
        let label = &after_begin[..label_end];
        let body_and_rest = &after_begin[label_end + "-----".len()..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_and_rest.find(&end_marker) else {
            break;
        };
        let body: String = body_and_rest[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push_str("-----BEGIN ");
        out.push_str(label);
        out.push_str("-----\n");
        // Headers of an encrypted traditional key (`Proc-Type: ...`)
        // would not survive this; Kafka refuses such keys too.
        for line in body.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str(&end_marker);
        out.push('\n');
        rest = &body_and_rest[body_end + end_marker.len()..];
    }
    if out.is_empty() || rest.contains("-----BEGIN ") {
        // Nothing recognisable (or a broken block): leave it to the reader.
        if out.is_empty() {
            return pem.to_vec();
        }
        out.push_str(rest);
    }
    out.into_bytes()
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, SaslError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SaslError::Config(format!("{what}: invalid PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(SaslError::Config(format!(
            "{what}: at least one certificate expected, but none found"
        )));
    }
    Ok(certs)
}

const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

fn private_key(
    pem: &[u8],
    password: Option<&str>,
    what: &str,
) -> Result<PrivateKeyDer<'static>, SaslError> {
    let text = String::from_utf8_lossy(pem);
    let labels: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN "))
        .filter_map(|l| l.strip_suffix("-----"))
        .filter(|label| label.ends_with("PRIVATE KEY"))
        .collect();
    match labels.as_slice() {
        [] => Err(SaslError::Config(format!("{what}: private key not provided"))),
        [ENCRYPTED_LABEL] => {
            let Some(password) = password else {
                return Err(SaslError::Config(format!(
                    "{what}: the private key is encrypted: set ssl.key.password"
                )));
            };
            decrypt(&text, password, what)
        }
        [_] if password.is_some() => Err(SaslError::Config(format!(
            "{what}: ssl.key.password is set but the private key is not encrypted (ENCRYPTED PRIVATE KEY expected)"
        ))),
        [_] => PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| SaslError::Config(format!("{what}: invalid private key: {e}"))),
        more => Err(SaslError::Config(format!(
            "{what}: expected one private key, but found {}",
            more.len()
        ))),
    }
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` block (PKCS#8 PBES2: PBKDF2 or
/// scrypt with AES-CBC, what `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes).
fn decrypt(text: &str, password: &str, what: &str) -> Result<PrivateKeyDer<'static>, SaslError> {
    let begin = format!("-----BEGIN {ENCRYPTED_LABEL}-----");
    let end = format!("-----END {ENCRYPTED_LABEL}-----");
    let block = text
        .find(&begin)
        .and_then(|start| {
            text[start..]
                .find(&end)
                .map(|len| &text[start..start + len + end.len()])
        })
        .ok_or_else(|| {
            SaslError::Config(format!("{what}: unterminated {ENCRYPTED_LABEL} block"))
        })?;
    let (_, der) = pkcs8::der::pem::decode_vec(block.as_bytes())
        .map_err(|e| SaslError::Config(format!("{what}: invalid {ENCRYPTED_LABEL} PEM: {e}")))?;
    let info = EncryptedPrivateKeyInfo::from_der(&der)
        .map_err(|e| SaslError::Config(format!("{what}: invalid {ENCRYPTED_LABEL}: {e}")))?;
    let document = info.decrypt(password).map_err(|_| {
        SaslError::Config(format!(
            "{what}: ssl.key.password does not decrypt the private key (or its encryption scheme is not supported)"
        ))
    })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        document.as_bytes().to_vec(),
    )))
}

fn subject_alt_names(cert_der: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let cert = x509_cert::Certificate::from_der(cert_der).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id.to_string() != "2.5.29.17" {
            continue;
        }
        let san = SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(|e| e.to_string())?;
        for name in san.0 {
            names.push(name.to_der().map_err(|e| e.to_string())?);
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name);
        std::fs::read(path).expect("fixture")
    }

    #[test]
    fn a_pem_block_on_one_line_loads_as_the_wrapped_form() {
        let provider = rustls::crypto::ring::default_provider();
        let wrapped = fixture("server.pem");
        let one_line: Vec<u8> = wrapped
            .iter()
            .map(|b| if *b == b'\n' { b' ' } else { *b })
            .collect();
        let a = keystore(&wrapped, &wrapped, None, "file", &provider).expect("wrapped");
        let b = keystore(&one_line, &one_line, None, "inline", &provider).expect("one line");
        assert_eq!(a.certified.cert, b.certified.cert);
        assert_eq!(a.subject, b.subject);
        // No whitespace at all between the markers and the body.
        let squeezed: Vec<u8> = fixture("ca.pem")
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace() || *b == b' ')
            .collect();
        let roots = truststore(&squeezed, "inline").expect("squeezed truststore");
        assert_eq!(roots.len(), 1);
        // Not PEM at all is still refused with the reader's error.
        assert!(truststore(b"not a PEM file", "inline").is_err());
    }
}
