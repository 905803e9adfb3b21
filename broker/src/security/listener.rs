//! How one listener authenticates its connections, read from Kafka's keys.
//!
//! Every key may be given broker-wide or for one listener with the
//! `listener.name.<listener lower-case>.` prefix, which wins (Kafka's
//! `valuesWithPrefixOverride`); [`listener_props`] resolves that. Then:
//! * SSL and SASL_SSL listeners: `ssl.*` (the `sasl` crate's
//!   `TlsSettings::from_props`); as in Kafka (KIP-684), a SASL_SSL listener
//!   honours only a listener-prefixed `ssl.client.auth`.
//! * SASL_PLAINTEXT and SASL_SSL listeners: `sasl.enabled.mechanisms`
//!   (Kafka's default GSSAPI is not offered here, so it must be set);
//!   PLAIN's users from `listener.name.<l>.plain.sasl.jaas.config`
//!   (`user_<name>="<password>"`; an unprefixed `sasl.jaas.config` is
//!   ignored with a warning, as Kafka's brokers ignore it); SCRAM users from
//!   the metadata image; OAUTHBEARER keys from `sasl.oauthbearer.*`;
//!   `connections.max.reauth.ms` (optionally `<mechanism>.`-prefixed);
//!   `sasl.server.max.receive.size`.
//!
//! This module builds configuration; the per-connection exchange is
//! `authenticator.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use memorystreamer_sasl::tls::{TlsServer, TlsSettings};
use memorystreamer_sasl::{Credentials, JwtValidator, Mechanism, OAuthConfig};
use tracing::warn;

use super::jaas::JaasEntry;
use crate::config::listener::{Listener, SecurityProtocol};
use crate::error::BrokerError;

/// Kafka's default `sasl.server.max.receive.size`.
pub const DEFAULT_MAX_RECEIVE_SIZE: usize = 524_288;

/// A listener's SASL settings.
pub struct SaslSettings {
    /// The listener's name (metrics labels).
    pub listener: Arc<str>,
    /// `sasl.enabled.mechanisms`, in the configured order.
    pub mechanisms: Vec<Mechanism>,
    /// The users PLAIN and SCRAM check against.
    pub credentials: Arc<dyn Credentials>,
    /// OAUTHBEARER's token validator (when OAUTHBEARER is enabled).
    pub jwt: Option<Arc<JwtValidator>>,
    /// `connections.max.reauth.ms` per mechanism (absent: no limit).
    pub max_reauth: HashMap<Mechanism, Duration>,
    /// `sasl.server.max.receive.size`: the largest frame read before the
    /// connection is authenticated.
    pub max_receive_size: usize,
}

impl std::fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanisms", &self.mechanisms)
            .field("max_reauth", &self.max_reauth)
            .field("max_receive_size", &self.max_receive_size)
            .finish()
    }
}

/// One listener's security: TLS (SSL, SASL_SSL) and SASL (SASL_*).
#[derive(Debug)]
pub struct ListenerSecurity {
    /// The listener's name (upper-case).
    pub name: Arc<str>,
    /// Its security protocol.
    pub protocol: SecurityProtocol,
    /// The TLS server side, for SSL and SASL_SSL.
    pub tls: Option<Arc<TlsServer>>,
    /// The SASL settings, for SASL_PLAINTEXT and SASL_SSL.
    pub sasl: Option<Arc<SaslSettings>>,
}

/// The broker's properties as listener `name` sees them: every key, with
/// `listener.name.<name lower-case>.<key>` overriding `<key>`.
pub fn listener_props(props: &BTreeMap<String, String>, name: &str) -> BTreeMap<String, String> {
    let prefix = format!("listener.name.{}.", name.to_ascii_lowercase());
    let mut out: BTreeMap<String, String> = props
        .iter()
        .filter(|(k, _)| !k.starts_with("listener.name."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in props {
        if let Some(rest) = k.strip_prefix(&prefix) {
            out.insert(rest.to_string(), v.clone());
        }
    }
    out
}

impl ListenerSecurity {
    /// Builds listener `l`'s security from the broker's `props`; the SCRAM
    /// users come from `scram` (the metadata image's credentials).
    pub fn new(
        l: &Listener,
        props: &BTreeMap<String, String>,
        scram: Arc<dyn ScramSource>,
    ) -> Result<Self, BrokerError> {
        let own = listener_props(props, &l.name);
        let lower = l.name.to_ascii_lowercase();
        let err = |e: memorystreamer_sasl::SaslError| {
            BrokerError::Config(format!("listener {}: {e}", l.name))
        };
        let tls = match l.protocol {
            SecurityProtocol::Ssl | SecurityProtocol::SaslSsl => {
                let mut tls_props = own.clone();
                if l.protocol == SecurityProtocol::SaslSsl {
                    // KIP-684: only the listener's own ssl.client.auth.
                    match props.get(&format!("listener.name.{lower}.ssl.client.auth")) {
                        Some(v) => tls_props.insert("ssl.client.auth".into(), v.clone()),
                        None => tls_props.remove("ssl.client.auth"),
                    };
                }
                let settings = TlsSettings::from_props(&tls_props).map_err(err)?;
                Some(Arc::new(TlsServer::new(settings).map_err(err)?))
            }
            _ => None,
        };
        let sasl = match l.protocol {
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => {
                Some(Arc::new(sasl_settings(l, &own, props, scram)?))
            }
            _ => None,
        };
        Ok(ListenerSecurity {
            name: Arc::from(l.name.as_str()),
            protocol: l.protocol,
            tls,
            sasl,
        })
    }
}

fn sasl_settings(
    l: &Listener,
    own: &BTreeMap<String, String>,
    props: &BTreeMap<String, String>,
    scram: Arc<dyn ScramSource>,
) -> Result<SaslSettings, BrokerError> {
    let bad = |why: String| BrokerError::Config(format!("listener {}: {why}", l.name));
    let enabled = own
        .get("sasl.enabled.mechanisms")
        .map(String::as_str)
        .unwrap_or("GSSAPI");
    let mut mechanisms = Vec::new();
    for name in enabled.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let m = Mechanism::from_name(name).ok_or_else(|| {
            bad(format!(
                "sasl.enabled.mechanisms: {name} is not supported (supported: PLAIN, \
                 SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER; Kafka's default GSSAPI is not, so \
                 set sasl.enabled.mechanisms)"
            ))
        })?;
        if !mechanisms.contains(&m) {
            mechanisms.push(m);
        }
    }
    if mechanisms.is_empty() {
        return Err(bad("sasl.enabled.mechanisms is empty".into()));
    }
    if props.contains_key("sasl.jaas.config") {
        warn!(
            "Server config sasl.jaas.config should be prefixed with SASL mechanism name, \
             ignoring config (use listener.name.<listener>.<mechanism>.sasl.jaas.config)"
        );
    }
    let mut plain_users = BTreeMap::new();
    if mechanisms.contains(&Mechanism::Plain) {
        let key = "plain.sasl.jaas.config";
        let value = own.get(key).ok_or_else(|| {
            bad(format!(
                "PLAIN is enabled but listener.name.{}.{key} (with user_<name>=\"<password>\" \
                 entries) is not set",
                l.name.to_ascii_lowercase()
            ))
        })?;
        plain_users = JaasEntry::parse(key, value)?.plain_users();
    }
    let jwt = if mechanisms.contains(&Mechanism::OAuthBearer) {
        // Kafka's mechanism prefix (`listener.name.<l>.oauthbearer.sasl.
        // oauthbearer.*`, the form its docs show) wins over the key alone.
        let mut oauth = own.clone();
        for (k, v) in own {
            if let Some(key) = k.strip_prefix("oauthbearer.") {
                oauth.insert(key.to_string(), v.clone());
            }
        }
        let config = OAuthConfig::from_props(&oauth).map_err(|e| bad(e.to_string()))?;
        Some(Arc::new(
            JwtValidator::new(config).map_err(|e| bad(e.to_string()))?,
        ))
    } else {
        None
    };
    let mut max_reauth = HashMap::new();
    for m in &mechanisms {
        let prefixed = format!(
            "{}.connections.max.reauth.ms",
            m.name().to_ascii_lowercase()
        );
        let value = own
            .get(&prefixed)
            .or_else(|| own.get("connections.max.reauth.ms"));
        if let Some(v) = value {
            let ms: i64 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("connections.max.reauth.ms '{v}' is not a number")))?;
            if ms > 0 {
                max_reauth.insert(*m, Duration::from_millis(ms as u64));
            }
        }
    }
    let max_receive_size = match own.get("sasl.server.max.receive.size") {
        Some(v) => v.trim().parse().map_err(|_| {
            bad(format!(
                "sasl.server.max.receive.size '{v}' is not a number"
            ))
        })?,
        None => DEFAULT_MAX_RECEIVE_SIZE,
    };
    Ok(SaslSettings {
        listener: Arc::from(l.name.as_str()),
        mechanisms,
        credentials: Arc::new(BrokerCredentials { plain_users, scram }),
        jwt,
        max_reauth,
        max_receive_size,
    })
}

/// Where SCRAM credentials come from (the metadata image, through
/// [`super::Security`]).
pub trait ScramSource: Send + Sync {
    /// The stored credential of `user` for `mechanism`.
    fn scram(
        &self,
        user: &str,
        mechanism: memorystreamer_sasl::ScramMechanism,
    ) -> Option<memorystreamer_sasl::ScramCredential>;
}

/// A listener's users: PLAIN's from its JAAS entry, SCRAM's from the image.
struct BrokerCredentials {
    plain_users: BTreeMap<String, String>,
    scram: Arc<dyn ScramSource>,
}

impl Credentials for BrokerCredentials {
    fn scram(
        &self,
        user: &str,
        mechanism: memorystreamer_sasl::ScramMechanism,
    ) -> Option<memorystreamer_sasl::ScramCredential> {
        self.scram.scram(user, mechanism)
    }

    fn plain_matches(&self, user: &str, password: &[u8]) -> bool {
        // Compare against a dummy for unknown users so both paths cost the
        // same.
        let stored = self.plain_users.get(user);
        let expected = stored.map_or(&b"\0unknown-user\0"[..], |p| p.as_bytes());
        memorystreamer_sasl::mechanism::constant_time_eq(expected, password) && stored.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoScram;
    impl ScramSource for NoScram {
        fn scram(
            &self,
            _: &str,
            _: memorystreamer_sasl::ScramMechanism,
        ) -> Option<memorystreamer_sasl::ScramCredential> {
            None
        }
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn listener_prefix_overrides() {
        let p = props(&[
            ("sasl.enabled.mechanisms", "PLAIN"),
            (
                "listener.name.client.sasl.enabled.mechanisms",
                "SCRAM-SHA-256",
            ),
            ("listener.name.other.x", "1"),
        ]);
        let own = listener_props(&p, "CLIENT");
        assert_eq!(own["sasl.enabled.mechanisms"], "SCRAM-SHA-256");
        assert!(!own.contains_key("x"));
        assert_eq!(listener_props(&p, "OTHER")["x"], "1");
    }

    #[test]
    fn sasl_listeners_need_supported_mechanisms_and_plain_users() {
        let l = Listener::parse("SASL_PLAINTEXT://:9094").expect("listener");
        let none = ListenerSecurity::new(&l, &props(&[]), Arc::new(NoScram)).expect_err("gssapi");
        assert!(none.to_string().contains("GSSAPI is not"), "{none}");
        let no_users = ListenerSecurity::new(
            &l,
            &props(&[("sasl.enabled.mechanisms", "PLAIN")]),
            Arc::new(NoScram),
        )
        .expect_err("no jaas");
        assert!(
            no_users.to_string().contains("plain.sasl.jaas.config"),
            "{no_users}"
        );
        let s = ListenerSecurity::new(
            &l,
            &props(&[
                ("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-512"),
                ("connections.max.reauth.ms", "60000"),
                ("listener.name.sasl_plaintext.scram-sha-512.connections.max.reauth.ms", "5000"),
                (
                    "listener.name.sasl_plaintext.plain.sasl.jaas.config",
                    r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="pw";"#,
                ),
            ]),
            Arc::new(NoScram),
        )
        .expect("plain");
        let sasl = s.sasl.expect("sasl settings");
        assert_eq!(
            sasl.mechanisms,
            vec![Mechanism::Plain, Mechanism::ScramSha512]
        );
        assert_eq!(sasl.max_reauth[&Mechanism::Plain], Duration::from_secs(60));
        assert_eq!(
            sasl.max_reauth[&Mechanism::ScramSha512],
            Duration::from_secs(5)
        );
        assert!(sasl.credentials.plain_matches("alice", b"pw"));
        assert!(!sasl.credentials.plain_matches("alice", b"pw2"));
        assert!(!sasl.credentials.plain_matches("bob", b"\0unknown-user\0"));
        assert!(s.tls.is_none());
    }

    #[test]
    fn oauthbearer_keys_take_kafkas_mechanism_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let jwks = dir.path().join("jwks.json");
        // sasl/tests/fixtures/oauth/ec1.pub as a JWK.
        std::fs::write(
            &jwks,
            r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"ec1","alg":"ES256","use":"sig",
                "x":"BIn_F_67YRn8bSvOl0Tys0fGDOYV59IlOxgUQkt12H4",
                "y":"eoOkHZPVL2bOkjQe6FmmVWZ-vWmklySV0rJkUi7JeVM"}]}"#,
        )
        .expect("jwks");
        let url = format!("file://{}", jwks.display());
        let l = Listener::parse("SASL_PLAINTEXT://:9094").expect("listener");
        let base = [
            ("sasl.enabled.mechanisms", "OAUTHBEARER"),
            (
                "sasl.oauthbearer.jwks.endpoint.url",
                "file:///nonexistent/keys.json",
            ),
        ];
        // The unprefixed key alone names a missing file: refused.
        assert!(ListenerSecurity::new(&l, &props(&base), Arc::new(NoScram)).is_err());
        // Kafka's documented form wins over it.
        let mut with_prefix = base.to_vec();
        with_prefix.push((
            "listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url",
            &url,
        ));
        let s = ListenerSecurity::new(&l, &props(&with_prefix), Arc::new(NoScram))
            .expect("prefixed key used");
        assert!(s.sasl.expect("sasl").jwt.is_some());
    }
}
