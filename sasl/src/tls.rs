//! TLS server configuration for Kafka's `SSL` and `SASL_SSL` listeners:
//! Kafka's `ssl.*` keys ([`TlsSettings::from_props`]), PEM keystores and
//! truststores, `ssl.client.auth`, and a [`TlsServer`] whose
//! `rustls::ServerConfig` serves reloaded certificates without a restart.
//!
//! rustls runs on the `ring` provider only. Only the PEM store type is
//! supported (`ssl.keystore.type=PEM`, `ssl.truststore.type=PEM`); JKS and
//! PKCS12 are refused with a configuration error naming the key.
//!
//! This module is NOT the listener (the broker accepts sockets and drives
//! the handshake with the config it gets here), NOT SASL, and does not
//! name principals: [`crate::principal`] turns the verified client
//! certificate into `User:...`.

mod load;
mod server;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use server::TlsServer;

use crate::principal::{PrincipalMappingRules, DEFAULT_PRINCIPAL_MAPPING_RULES};
use crate::SaslError;

/// `ssl.client.auth`: whether the server asks a client for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `none` (Kafka's default): no certificate is asked for.
    #[default]
    None,
    /// `requested`: a certificate is asked for; a client may send none
    /// (its principal is then `User:ANONYMOUS`), but one it sends must be
    /// valid.
    Requested,
    /// `required`: a client without a valid certificate is refused in the
    /// handshake (mTLS).
    Required,
}

impl ClientAuth {
    /// Parses a broker's `ssl.client.auth`: exactly `none`, `requested` or
    /// `required` (Kafka's broker validator is case-sensitive).
    pub fn parse(value: &str) -> Result<Self, SaslError> {
        match value {
            "none" => Ok(Self::None),
            "requested" => Ok(Self::Requested),
            "required" => Ok(Self::Required),
            other => Err(SaslError::Config(format!(
                "Invalid value {other} for configuration ssl.client.auth: String must be one of: required, requested, none"
            ))),
        }
    }
}

/// Where the server's private key and certificate chain come from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// `ssl.keystore.type=PEM` with `ssl.keystore.location`: one file with
    /// the private key and the certificate chain (end-entity first).
    /// Re-read by [`TlsServer::reload_if_changed`].
    PemFile {
        /// `ssl.keystore.location`.
        location: PathBuf,
        /// `ssl.key.password`: the password of an encrypted PKCS#8 key.
        key_password: Option<String>,
    },
    /// `ssl.keystore.certificate.chain` + `ssl.keystore.key`: the PEM text
    /// itself in the configuration (never reloaded, as in Kafka).
    Inline {
        /// `ssl.keystore.certificate.chain`.
        certificate_chain: String,
        /// `ssl.keystore.key`.
        key: String,
        /// `ssl.key.password`.
        key_password: Option<String>,
    },
}

/// Never prints a key or a password.
impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PemFile {
                location,
                key_password,
            } => f
                .debug_struct("PemFile")
                .field("location", location)
                .field("key_password", &key_password.as_ref().map(|_| "[hidden]"))
                .finish(),
            Self::Inline { key_password, .. } => f
                .debug_struct("Inline")
                .field("certificate_chain", &"[inline]")
                .field("key", &"[hidden]")
                .field("key_password", &key_password.as_ref().map(|_| "[hidden]"))
                .finish(),
        }
    }
}

/// The certificates a client certificate must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustStore {
    /// `ssl.truststore.type=PEM` with `ssl.truststore.location`. Re-read
    /// by [`TlsServer::reload_if_changed`].
    PemFile(PathBuf),
    /// `ssl.truststore.certificates`: PEM certificates in the configuration.
    Inline(String),
}

/// A TLS protocol version of `ssl.enabled.protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsProtocol {
    /// `TLSv1.2`.
    Tls12,
    /// `TLSv1.3`.
    Tls13,
}

/// A listener's TLS settings, from Kafka's `ssl.*` keys.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The server's key and certificate chain.
    pub keystore: KeyStore,
    /// The client certificates' trust anchors (needed unless
    /// `client_auth` is `None`).
    pub truststore: Option<TrustStore>,
    /// `ssl.client.auth`.
    pub client_auth: ClientAuth,
    /// `ssl.enabled.protocols` (default `TLSv1.2,TLSv1.3`).
    pub enabled_protocols: Vec<TlsProtocol>,
    /// `ssl.cipher.suites` by IANA name (`TLS_AES_128_GCM_SHA256`,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, ...); empty is every suite
    /// the ring provider has.
    pub cipher_suites: Vec<String>,
    /// `ssl.principal.mapping.rules` (default `DEFAULT`).
    pub principal_mapping_rules: PrincipalMappingRules,
    /// `ssl.allow.dn.changes` (default false): whether a reloaded keystore
    /// may change the certificate's subject.
    pub allow_dn_changes: bool,
    /// `ssl.allow.san.changes` (default false): whether a reloaded keystore
    /// may change the certificate's subject alternative names.
    pub allow_san_changes: bool,
}

impl TlsSettings {
    /// Settings with Kafka's defaults around a keystore.
    pub fn new(keystore: KeyStore) -> Self {
        Self {
            keystore,
            truststore: None,
            client_auth: ClientAuth::None,
            enabled_protocols: vec![TlsProtocol::Tls12, TlsProtocol::Tls13],
            cipher_suites: Vec::new(),
            principal_mapping_rules: PrincipalMappingRules::default(),
            allow_dn_changes: false,
            allow_san_changes: false,
        }
    }

    /// Reads a listener's TLS settings from Kafka's key names, with any
    /// `listener.name.<listener>.` prefix already resolved by the caller:
    /// `ssl.keystore.type`, `ssl.keystore.location`,
    /// `ssl.keystore.certificate.chain`, `ssl.keystore.key`,
    /// `ssl.keystore.password`, `ssl.key.password`, `ssl.truststore.type`,
    /// `ssl.truststore.location`, `ssl.truststore.certificates`,
    /// `ssl.truststore.password`, `ssl.client.auth`,
    /// `ssl.enabled.protocols`, `ssl.cipher.suites`,
    /// `ssl.principal.mapping.rules`, `ssl.allow.dn.changes`,
    /// `ssl.allow.san.changes`. The combinations Kafka's
    /// `DefaultSslEngineFactory` refuses are refused with its reasons.
    ///
    /// The caller picks which keys apply: in Kafka (KIP-684) a `SASL_SSL`
    /// listener ignores the broker-wide `ssl.client.auth` and honours only
    /// `listener.name.<listener>.ssl.client.auth`.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, SaslError> {
        let get = |key: &str| props.get(key).map(String::as_str);
        let keystore = keystore_from_props(&get)?;
        let truststore = truststore_from_props(&get)?;
        let client_auth = ClientAuth::parse(get("ssl.client.auth").unwrap_or("none"))?;
        if client_auth != ClientAuth::None && truststore.is_none() {
            return Err(SaslError::Config(format!(
                "ssl.client.auth={} needs a truststore: ssl.truststore.type=PEM with ssl.truststore.location, or ssl.truststore.certificates (the JVM's default CA list has no equivalent here)",
                get("ssl.client.auth").unwrap_or_default()
            )));
        }
        let enabled_protocols =
            parse_protocols(get("ssl.enabled.protocols").unwrap_or("TLSv1.2,TLSv1.3"))?;
        let cipher_suites = list(get("ssl.cipher.suites").unwrap_or(""));
        let principal_mapping_rules = PrincipalMappingRules::parse(
            get("ssl.principal.mapping.rules").unwrap_or(DEFAULT_PRINCIPAL_MAPPING_RULES),
        )?;
        Ok(Self {
            keystore,
            truststore,
            client_auth,
            enabled_protocols,
            cipher_suites,
            principal_mapping_rules,
            allow_dn_changes: boolean(&get, "ssl.allow.dn.changes")?,
            allow_san_changes: boolean(&get, "ssl.allow.san.changes")?,
        })
    }
}

fn keystore_from_props<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<KeyStore, SaslError> {
    let store_type = get("ssl.keystore.type").unwrap_or("JKS");
    let location = get("ssl.keystore.location");
    let password = get("ssl.keystore.password");
    let key_password = get("ssl.key.password").map(str::to_string);
    let key = get("ssl.keystore.key");
    let chain = get("ssl.keystore.certificate.chain");
    let refuse = |m: String| Err(SaslError::Config(m));
    match (key, chain) {
        (Some(_), _) if store_type != "PEM" => refuse(format!(
            "ssl.keystore.key can be specified only for PEM, but ssl.keystore.type is {store_type}"
        )),
        (Some(_), None) => refuse(
            "ssl.keystore.key is specified, but ssl.keystore.certificate.chain is not".into(),
        ),
        (Some(_), Some(_)) if location.is_some() => refuse(
            "both ssl.keystore.location and ssl.keystore.key are specified".into(),
        ),
        (Some(_), Some(_)) if password.is_some() => refuse(
            "ssl.keystore.password cannot be specified with PEM format, only ssl.key.password may be".into(),
        ),
        (Some(key), Some(chain)) => Ok(KeyStore::Inline {
            certificate_chain: chain.to_string(),
            key: key.to_string(),
            key_password,
        }),
        (None, Some(_)) => refuse(
            "ssl.keystore.certificate.chain is specified, but ssl.keystore.key is not".into(),
        ),
        (None, None) => match location {
            Some(_) if store_type != "PEM" => refuse(format!(
                "ssl.keystore.type={store_type} is not supported: use ssl.keystore.type=PEM (a private key and certificate chain file)"
            )),
            Some(_) if password.is_some() => refuse(
                "ssl.keystore.password cannot be specified with PEM format, only ssl.key.password may be".into(),
            ),
            Some(location) => Ok(KeyStore::PemFile {
                location: PathBuf::from(location),
                key_password,
            }),
            None => refuse(
                "a TLS listener needs a keystore: ssl.keystore.type=PEM with ssl.keystore.location, or ssl.keystore.certificate.chain and ssl.keystore.key".into(),
            ),
        },
    }
}

fn truststore_from_props<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<TrustStore>, SaslError> {
    let store_type = get("ssl.truststore.type").unwrap_or("JKS");
    let location = get("ssl.truststore.location");
    let password = get("ssl.truststore.password");
    let refuse = |m: String| Err(SaslError::Config(m));
    match (get("ssl.truststore.certificates"), location) {
        (Some(_), _) if store_type != "PEM" => refuse(format!(
            "ssl.truststore.certificates can be specified only for PEM, but ssl.truststore.type is {store_type}"
        )),
        (Some(_), Some(_)) => refuse(
            "both ssl.truststore.location and ssl.truststore.certificates are specified".into(),
        ),
        (_, _) if store_type == "PEM" && password.is_some() => {
            refuse("ssl.truststore.password cannot be specified for PEM format".into())
        }
        (Some(certs), None) => Ok(Some(TrustStore::Inline(certs.to_string()))),
        (None, Some(_)) if store_type != "PEM" => refuse(format!(
            "ssl.truststore.type={store_type} is not supported: use ssl.truststore.type=PEM"
        )),
        (None, Some(location)) => Ok(Some(TrustStore::PemFile(PathBuf::from(location)))),
        (None, None) if password.is_some() => refuse(
            "ssl.truststore.password is specified, but no truststore is".into(),
        ),
        (None, None) => Ok(None),
    }
}

/// `ssl.enabled.protocols`: TLSv1.2 and TLSv1.3 are served; TLSv1, TLSv1.1
/// and SSLv3 (which Java accepts and its security policy disables) are
/// skipped with a warning; anything else is an error.
fn parse_protocols(value: &str) -> Result<Vec<TlsProtocol>, SaslError> {
    let mut protocols = Vec::new();
    for name in list(value) {
        match name.as_str() {
            "TLSv1.2" => protocols.push(TlsProtocol::Tls12),
            "TLSv1.3" => protocols.push(TlsProtocol::Tls13),
            "TLSv1" | "TLSv1.1" | "SSLv3" | "SSLv2Hello" => {
                tracing::warn!(protocol = %name, "ssl.enabled.protocols: protocol not supported, skipped");
            }
            other => {
                return Err(SaslError::Config(format!(
                    "ssl.enabled.protocols: unknown protocol {other} (supported: TLSv1.2, TLSv1.3)"
                )))
            }
        }
    }
    protocols.sort();
    protocols.dedup();
    if protocols.is_empty() {
        if value.trim().is_empty() {
            // An empty list is the provider's defaults in Kafka.
            return Ok(vec![TlsProtocol::Tls12, TlsProtocol::Tls13]);
        }
        return Err(SaslError::Config(format!(
            "ssl.enabled.protocols={value} enables no protocol this server supports (TLSv1.2, TLSv1.3)"
        )));
    }
    Ok(protocols)
}

/// A Kafka LIST value: comma-separated, each item trimmed, empty items dropped.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Kafka BOOLEAN value (`true` / `false`, any case), default false.
fn boolean<'a>(get: &impl Fn(&str) -> Option<&'a str>, key: &str) -> Result<bool, SaslError> {
    match get(key).map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(SaslError::Config(format!(
            "Invalid value {v} for configuration {key}: Expected value to be either true or false"
        ))),
    }
}
