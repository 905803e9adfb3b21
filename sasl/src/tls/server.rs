//! [`TlsServer`]: a listener's `rustls::ServerConfig` built from
//! [`TlsSettings`], with certificates reloaded without a restart.
//!
//! The server certificate comes from a resolver backed by an `ArcSwap`, so
//! a reloaded keystore serves the next handshake of the same
//! `ServerConfig`; a reloaded truststore builds a new `ServerConfig`
//! (rustls verifiers are immutable), which [`TlsServer::server_config`]
//! returns from then on. Connections already established keep what they
//! negotiated.
//!
//! [`TlsServer::client_config`] is the same stores on the dialing side
//! (brokers connecting to each other's TLS listener).
//!
//! Not here: watching files on a timer (the broker calls
//! [`TlsServer::reload_if_changed`] periodically), sockets, principals.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::load::{self, LoadedKeystore};
use super::{ClientAuth, KeyStore, TlsProtocol, TlsSettings, TrustStore};
use crate::principal::PrincipalMappingRules;
use crate::SaslError;

/// A TLS listener's server side: the rustls configuration and the
/// certificate reload.
#[derive(Debug)]
pub struct TlsServer {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    resolver: Arc<ReloadingResolver>,
    config: ArcSwap<ServerConfig>,
    /// The file contents in effect, to tell a change (`None` for inline
    /// stores, which never change).
    files: Mutex<FilesInEffect>,
}

#[derive(Default)]
struct FilesInEffect {
    keystore: Option<Vec<u8>>,
    truststore: Option<Vec<u8>>,
}

/// Sizes only: the keystore bytes hold the private key.
impl std::fmt::Debug for FilesInEffect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesInEffect")
            .field("keystore_bytes", &self.keystore.as_ref().map(Vec::len))
            .field("truststore_bytes", &self.truststore.as_ref().map(Vec::len))
            .finish()
    }
}

impl TlsServer {
    /// Loads the keystore and truststore and builds the rustls
    /// configuration. Every problem is a `SaslError::Config` (or `Io`)
    /// naming the setting.
    pub fn new(settings: TlsSettings) -> Result<Self, SaslError> {
        let provider = Arc::new(provider(&settings.cipher_suites)?);
        let mut files = FilesInEffect::default();
        let keystore = match &settings.keystore {
            KeyStore::PemFile {
                location,
                key_password,
            } => {
                let bytes = read(location)?;
                let loaded =
                    load_keystore_file(&bytes, key_password.as_deref(), location, &provider)?;
                files.keystore = Some(bytes);
                loaded
            }
            KeyStore::Inline {
                certificate_chain,
                key,
                key_password,
            } => load::keystore(
                certificate_chain.as_bytes(),
                key.as_bytes(),
                key_password.as_deref(),
                "ssl.keystore.certificate.chain/ssl.keystore.key",
                &provider,
            )?,
        };
        let roots = match &settings.truststore {
            Some(TrustStore::PemFile(location)) => {
                let bytes = read(location)?;
                let roots = load_truststore_file(&bytes, location)?;
                files.truststore = Some(bytes);
                Some(roots)
            }
            Some(TrustStore::Inline(pem)) => Some(load::truststore(
                pem.as_bytes(),
                "ssl.truststore.certificates",
            )?),
            None => None,
        };
        let resolver = Arc::new(ReloadingResolver {
            current: ArcSwap::from_pointee(keystore),
        });
        let config = build_config(&settings, &provider, roots, resolver.clone())?;
        Ok(Self {
            settings,
            provider,
            resolver,
            config: ArcSwap::from_pointee(config),
            files: Mutex::new(files),
        })
    }

    /// The rustls configuration for a new connection (e.g.
    /// `tokio_rustls::TlsAcceptor::from(server.server_config())`). Take it
    /// per connection: a truststore reload replaces it.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.load_full()
    }

    /// The settings this server was built from.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// `ssl.client.auth`.
    pub fn client_auth(&self) -> ClientAuth {
        self.settings.client_auth
    }

    /// `ssl.principal.mapping.rules`, for
    /// [`crate::principal::principal_for_peer`].
    pub fn principal_mapping_rules(&self) -> &PrincipalMappingRules {
        &self.settings.principal_mapping_rules
    }

    /// A rustls client configuration for dialing peers whose listener uses
    /// the same stores (the inter-broker listener): the truststore as
    /// trust anchors (read now, so a reloaded one applies to the next
    /// connection), this listener's keystore as the client certificate
    /// (for peers with `ssl.client.auth`), the same protocols and cipher
    /// suites. The peer's host name is verified against its certificate,
    /// as Kafka's default `ssl.endpoint.identification.algorithm=https`.
    /// Without a truststore there is nothing to verify a peer with: an
    /// error naming the keys.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, SaslError> {
        let roots = match &self.settings.truststore {
            Some(TrustStore::PemFile(location)) => load_truststore_file(&read(location)?, location)?,
            Some(TrustStore::Inline(pem)) => {
                load::truststore(pem.as_bytes(), "ssl.truststore.certificates")?
            }
            None => {
                return Err(SaslError::Config(
                    "dialing a TLS peer needs its trust anchors: set ssl.truststore.location or ssl.truststore.certificates on the inter-broker listener".into(),
                ))
            }
        };
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&protocol_versions(&self.settings))
            .map_err(|e| {
                SaslError::Config(format!(
                    "ssl.enabled.protocols / ssl.cipher.suites: no usable combination: {e}"
                ))
            })?
            .with_root_certificates(roots)
            .with_client_cert_resolver(self.resolver.clone());
        Ok(Arc::new(config))
    }

    /// The certificate chain served now (end-entity first).
    pub fn certificate_chain(&self) -> Vec<rustls_pki_types::CertificateDer<'static>> {
        self.resolver.current.load().certified.cert.clone()
    }

    /// Re-reads the keystore and truststore files (inline stores never
    /// change) and applies those whose contents changed: `Ok(true)` if
    /// something was reloaded. Contents are compared rather than
    /// modification times, which a quick rewrite can leave unchanged on a
    /// coarse file-system clock; the files are a few KB.
    ///
    /// A file that cannot be read or is invalid (bad PEM, key not matching
    /// the certificate, wrong `ssl.key.password`), or a keystore whose
    /// subject or subject alternative names changed while
    /// `ssl.allow.dn.changes` / `ssl.allow.san.changes` are false (Kafka's
    /// reconfiguration check), is an `Err` and the old certificates keep
    /// being served; the other file is still reloaded if it changed. It is
    /// reported again on every call until the file is fixed.
    pub fn reload_if_changed(&self) -> Result<bool, SaslError> {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changed = false;
        let mut first_error = None;
        if let KeyStore::PemFile {
            location,
            key_password,
        } = &self.settings.keystore
        {
            match self.reload_keystore(&mut files, location, key_password.as_deref()) {
                Ok(reloaded) => changed |= reloaded,
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(TrustStore::PemFile(location)) = &self.settings.truststore {
            match self.reload_truststore(&mut files, location) {
                Ok(reloaded) => changed |= reloaded,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(changed),
        }
    }

    fn reload_keystore(
        &self,
        files: &mut FilesInEffect,
        location: &Path,
        key_password: Option<&str>,
    ) -> Result<bool, SaslError> {
        let bytes = read(location)?;
        if files.keystore.as_deref() == Some(bytes.as_slice()) {
            return Ok(false);
        }
        let loaded = load_keystore_file(&bytes, key_password, location, &self.provider)?;
        let current = self.resolver.current.load();
        if !self.settings.allow_dn_changes && loaded.subject != current.subject {
            return Err(SaslError::Config(format!(
                "ssl.keystore.location {}: the new certificate's subject {} differs from {} (set ssl.allow.dn.changes=true to allow it); still serving the old certificate",
                location.display(),
                loaded.subject,
                current.subject
            )));
        }
        if !self.settings.allow_san_changes && loaded.sans != current.sans {
            return Err(SaslError::Config(format!(
                "ssl.keystore.location {}: the new certificate's subject alternative names differ (set ssl.allow.san.changes=true to allow it); still serving the old certificate",
                location.display()
            )));
        }
        self.resolver.current.store(Arc::new(loaded));
        files.keystore = Some(bytes);
        Ok(true)
    }

    fn reload_truststore(
        &self,
        files: &mut FilesInEffect,
        location: &Path,
    ) -> Result<bool, SaslError> {
        let bytes = read(location)?;
        if files.truststore.as_deref() == Some(bytes.as_slice()) {
            return Ok(false);
        }
        let roots = load_truststore_file(&bytes, location)?;
        let config = build_config(
            &self.settings,
            &self.provider,
            Some(roots),
            self.resolver.clone(),
        )?;
        self.config.store(Arc::new(config));
        files.truststore = Some(bytes);
        Ok(true)
    }
}

/// Serves the keystore in effect; a reload swaps it.
#[derive(Debug)]
struct ReloadingResolver {
    current: ArcSwap<LoadedKeystore>,
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load().certified.clone())
    }
}

/// The same keystore, presented as this broker's client certificate when
/// it dials a peer (Kafka uses a listener's keystore both ways).
impl ResolvesClientCert for ReloadingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load().certified.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

fn read(path: &Path) -> Result<Vec<u8>, SaslError> {
    std::fs::read(path).map_err(|source| SaslError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn load_keystore_file(
    bytes: &[u8],
    key_password: Option<&str>,
    location: &Path,
    provider: &CryptoProvider,
) -> Result<LoadedKeystore, SaslError> {
    let what = format!("ssl.keystore.location {}", location.display());
    load::keystore(bytes, bytes, key_password, &what, provider)
}

fn load_truststore_file(bytes: &[u8], location: &Path) -> Result<RootCertStore, SaslError> {
    let what = format!("ssl.truststore.location {}", location.display());
    load::truststore(bytes, &what)
}

/// The ring provider, restricted to `ssl.cipher.suites` when given.
fn provider(cipher_suites: &[String]) -> Result<CryptoProvider, SaslError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if cipher_suites.is_empty() {
        return Ok(provider);
    }
    for name in cipher_suites {
        if !provider
            .cipher_suites
            .iter()
            .any(|s| iana_name(s).as_deref() == Some(name.as_str()))
        {
            return Err(SaslError::Config(format!(
                "ssl.cipher.suites: unsupported cipher suite {name}"
            )));
        }
    }
    provider
        .cipher_suites
        .retain(|s| iana_name(s).is_some_and(|n| cipher_suites.contains(&n)));
    Ok(provider)
}

/// A suite's IANA name, which Java (and so `ssl.cipher.suites`) uses:
/// rustls names TLS 1.3 suites `TLS13_*` where IANA says `TLS_*`.
fn iana_name(suite: &rustls::SupportedCipherSuite) -> Option<String> {
    let name = suite.suite().as_str()?;
    Some(match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_string(),
    })
}

/// `ssl.enabled.protocols` as rustls versions.
fn protocol_versions(settings: &TlsSettings) -> Vec<&'static SupportedProtocolVersion> {
    settings
        .enabled_protocols
        .iter()
        .map(|p| match p {
            TlsProtocol::Tls12 => &rustls::version::TLS12,
            TlsProtocol::Tls13 => &rustls::version::TLS13,
        })
        .collect()
}

fn build_config(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
    roots: Option<RootCertStore>,
    resolver: Arc<ReloadingResolver>,
) -> Result<ServerConfig, SaslError> {
    let versions = protocol_versions(settings);
    let verifier: Arc<dyn ClientCertVerifier> = match (settings.client_auth, roots) {
        (ClientAuth::None, _) => WebPkiClientVerifier::no_client_auth(),
        (auth, Some(roots)) => {
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if auth == ClientAuth::Requested {
                builder.allow_unauthenticated()
            } else {
                builder
            };
            builder
                .build()
                .map_err(|e| SaslError::Config(format!("ssl.truststore: {e}")))?
        }
        (_, None) => {
            return Err(SaslError::Config(
                "ssl.client.auth requested or required needs ssl.truststore.location or ssl.truststore.certificates".into(),
            ))
        }
    };
    let config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| {
            SaslError::Config(format!(
                "ssl.enabled.protocols / ssl.cipher.suites: no usable combination: {e}"
            ))
        })?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    Ok(config)
}
