//! The broker's security state: the authorizer fed from the metadata
//! image, and (per listener) how connections authenticate.
//!
//! [`Security`] is built once at start from the broker's properties and
//! lives on [`crate::Broker`]. `authorizer.class.name` switches the
//! authorizer on (Kafka's KRaft value
//! `org.apache.kafka.metadata.authorizer.StandardAuthorizer`, so a Kafka
//! `server.properties` works unchanged); [`Security::sync`] hands it the
//! image's ACLs whenever they change. Handlers ask through
//! [`crate::context::RequestContext::authorize`].
//!
//! This module is not the decision rules (`authorizer/`), not the SASL
//! mechanisms or TLS configuration (the `sasl` crate), and not the
//! connection's state machine (`authenticator.rs` drives it per
//! connection).

pub mod authenticator;
pub mod jaas;
pub mod listener;
pub mod principal;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use memorystreamer_raft::image::{AclImage, MetadataImage};
use memorystreamer_sasl::{ScramCredential, ScramMechanism};
use tracing::info;
use uuid::Uuid;

use crate::config::listener::{Listener, SecurityProtocol};
use crate::quorum_link::{PeerGate, TlsQuorumTransport};
use listener::{ListenerSecurity, ScramSource};
use memorystreamer_raft::transport::{PlainTcp, QuorumTransport};

use crate::authorizer::{
    AclBinding, AclOperation, AclPermissionType, Authorizer, AuthorizerConfig, PatternType,
    ResourceType,
};
use crate::error::BrokerError;

/// Kafka's key naming the authorizer class.
pub const AUTHORIZER_CLASS_CONFIG: &str = "authorizer.class.name";

/// The `authorizer.class.name` values that switch our authorizer on:
/// Kafka's KRaft `StandardAuthorizer` (the one a KRaft `server.properties`
/// names).
pub const STANDARD_AUTHORIZER_CLASSES: &[&str] =
    &["org.apache.kafka.metadata.authorizer.StandardAuthorizer"];

/// Kafka's key: how long a failed authentication waits before its answer
/// and the close.
pub const FAILED_AUTHENTICATION_DELAY_CONFIG: &str = "connection.failed.authentication.delay.ms";

/// Our key: how often TLS listeners re-read their keystore and truststore
/// files and switch to new contents (0: never). Kafka reloads only when a
/// dynamic `ssl.keystore.*` update asks it to; watching the files lets a
/// certificate renewed in place (cert-manager, certbot) take effect
/// without a restart or an admin call.
pub const CERTIFICATE_RELOAD_INTERVAL_CONFIG: &str = "ssl.certificate.reload.interval.ms";

/// The broker's security state, shared by every connection.
#[derive(Debug)]
pub struct Security {
    authorizer: Option<Arc<Authorizer>>,
    /// Set once the authorizer holds the image's ACLs (until then only
    /// super users pass the quorum's gate, Kafka's not-ready window).
    acls_loaded: Arc<AtomicBool>,
    /// Each client listener's security, by listener name.
    listeners: HashMap<String, Arc<ListenerSecurity>>,
    /// The controller listener's security, when it is SSL (mutual TLS
    /// between quorum voters).
    controller: Option<Arc<ListenerSecurity>>,
    /// The SCRAM users SASL listeners check against.
    scram: Arc<ImageScram>,
    /// `connection.failed.authentication.delay.ms`.
    failed_authentication_delay: std::time::Duration,
    /// `ssl.certificate.reload.interval.ms` (None: 0, never).
    certificate_reload_interval: Option<std::time::Duration>,
    /// The image ACL map last handed to the authorizer (compared by
    /// pointer: the image shares it until an ACL record changes it).
    acls_seen: Mutex<Option<Arc<BTreeMap<Uuid, AclImage>>>>,
}

impl Security {
    /// Reads `authorizer.class.name` (and, when it names the standard
    /// authorizer, `super.users` and `allow.everyone.if.no.acl.found`).
    /// Any other non-empty class is refused: running without the
    /// authorization its operator asked for would be worse than not
    /// starting.
    /// `listeners` are the client listeners; each SSL or SASL one gets its
    /// TLS and SASL configuration ([`ListenerSecurity::new`]), and so does
    /// `controller`, the quorum's listener, when it is SSL.
    pub fn new(
        props: &BTreeMap<String, String>,
        listeners: &[Listener],
        controller: &Listener,
    ) -> Result<Self, BrokerError> {
        let class = props
            .get(AUTHORIZER_CLASS_CONFIG)
            .map(|s| s.trim())
            .unwrap_or("");
        let authorizer = if class.is_empty() {
            None
        } else if STANDARD_AUTHORIZER_CLASSES.contains(&class) {
            let config = AuthorizerConfig::from_props(props)?;
            info!(super_users = ?config.super_users,
                allow_everyone_if_no_acl_found = config.allow_everyone_if_no_acl_found,
                "authorizer enabled");
            Some(Arc::new(Authorizer::new(config)))
        } else {
            return Err(BrokerError::Config(format!(
                "{AUTHORIZER_CLASS_CONFIG}={class} is not supported: set it to {} (ACLs as \
                 Kafka's KRaft brokers keep them) or leave it empty",
                STANDARD_AUTHORIZER_CLASSES[0]
            )));
        };
        let scram = Arc::new(ImageScram::default());
        let mut by_name = HashMap::new();
        for l in listeners {
            let source: Arc<dyn ScramSource> = scram.clone();
            by_name.insert(
                l.name.clone(),
                Arc::new(ListenerSecurity::new(l, props, source)?),
            );
        }
        let millis = |key: &str, default: u64| match props.get(key) {
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                BrokerError::Config(format!("{key} '{v}' is not a non-negative number"))
            }),
            None => Ok(default),
        };
        let controller = match controller.protocol {
            SecurityProtocol::Ssl => {
                let source: Arc<dyn ScramSource> = scram.clone();
                Some(Arc::new(ListenerSecurity::new(controller, props, source)?))
            }
            _ => None,
        };
        let delay = millis(FAILED_AUTHENTICATION_DELAY_CONFIG, 100)?;
        let reload = millis(CERTIFICATE_RELOAD_INTERVAL_CONFIG, 10_000)?;
        Ok(Security {
            authorizer,
            acls_loaded: Arc::new(AtomicBool::new(false)),
            listeners: by_name,
            controller,
            scram,
            failed_authentication_delay: std::time::Duration::from_millis(delay),
            certificate_reload_interval: (reload > 0)
                .then(|| std::time::Duration::from_millis(reload)),
            acls_seen: Mutex::new(None),
        })
    }

    /// Security with no authorizer and no secured listener (tests,
    /// fuzzers).
    pub fn disabled() -> Self {
        Security {
            authorizer: None,
            acls_loaded: Arc::new(AtomicBool::new(false)),
            listeners: HashMap::new(),
            controller: None,
            scram: Arc::new(ImageScram::default()),
            failed_authentication_delay: std::time::Duration::from_millis(100),
            certificate_reload_interval: None,
            acls_seen: Mutex::new(None),
        }
    }

    /// Re-reads every TLS listener's keystore and truststore files every
    /// `ssl.certificate.reload.interval.ms` until `shutdown` changes, so
    /// that new connections get a certificate replaced on disk
    /// ([`memorystreamer_sasl::tls::TlsServer::reload_if_changed`]: a
    /// file that is unreadable or invalid, or whose subject changed
    /// without `ssl.allow.dn.changes`, is logged and the old certificate
    /// kept). Returns at once without TLS listeners or with the check off.
    pub async fn watch_certificates(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let servers: Vec<_> = self
            .listeners
            .values()
            .chain(self.controller.iter())
            .filter_map(|l| l.tls.clone().map(|t| (Arc::clone(&l.name), t)))
            .collect();
        let Some(every) = self.certificate_reload_interval else {
            return;
        };
        if servers.is_empty() {
            return;
        }
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            for (listener, tls) in &servers {
                let tls = Arc::clone(tls);
                // A few KB of file reads, off the runtime's worker threads.
                match tokio::task::spawn_blocking(move || tls.reload_if_changed()).await {
                    Ok(Ok(true)) => info!(%listener, "TLS certificates reloaded"),
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(%listener, error = %e, "TLS certificates not reloaded; the previous ones stay in use");
                    }
                    Err(e) => tracing::warn!(%listener, error = %e, "TLS reload task failed"),
                }
            }
        }
    }

    /// The security of the listener named `name`, if it is a client
    /// listener.
    pub fn listener(&self, name: &str) -> Option<&Arc<ListenerSecurity>> {
        self.listeners.get(name)
    }

    /// How to dial peers on the inter-broker listener `name`: TLS with its
    /// stores for SSL and SASL_SSL, plaintext otherwise; on SASL_* also a
    /// SASL login ([`inter_broker_login`]). A node of a cluster
    /// (`cluster`) must be able to log in; a single node never dials a
    /// peer, so an incomplete login there is only logged.
    pub fn peer_dialer(
        &self,
        name: &str,
        props: &BTreeMap<String, String>,
        cluster: bool,
    ) -> Result<crate::interbroker::PeerDialer, BrokerError> {
        let listener = self.listeners.get(name);
        let dialer = match listener.and_then(|l| l.tls.clone()) {
            Some(tls) => crate::interbroker::PeerDialer::tls(tls),
            None => crate::interbroker::PeerDialer::plaintext(),
        };
        let Some(sasl) = listener.and_then(|l| l.sasl.as_ref()) else {
            return Ok(dialer);
        };
        match inter_broker_login(name, &sasl.mechanisms, props) {
            Ok(login) => Ok(dialer.with_sasl(login)),
            Err(e) if cluster => Err(e),
            Err(e) => {
                info!("no SASL login towards peers (not needed by a single node): {e}");
                Ok(dialer)
            }
        }
    }

    /// How quorum voters reach each other: mutual TLS with the controller
    /// listener's stores when it is SSL, admitting peers through the
    /// authorizer ([`crate::quorum_link`]); plain TCP otherwise.
    pub fn quorum_transport(&self) -> Arc<dyn QuorumTransport> {
        match self
            .controller
            .as_ref()
            .and_then(|c| c.tls.clone().map(|t| (c, t)))
        {
            Some((c, tls)) => Arc::new(TlsQuorumTransport::new(
                tls,
                Arc::clone(&c.name),
                PeerGate::new(self.authorizer.clone(), Arc::clone(&self.acls_loaded)),
            )),
            None => Arc::new(PlainTcp),
        }
    }

    /// Fails when this node could not dial its quorum peers over TLS (an
    /// SSL controller listener without a truststore): checked at start by
    /// a voter of a cluster, which has peers to dial.
    pub fn check_quorum_dialing(&self) -> Result<(), BrokerError> {
        match self
            .controller
            .as_ref()
            .and_then(|c| c.tls.as_ref().map(|t| (c, t)))
        {
            Some((c, tls)) => tls
                .client_config()
                .map(|_| ())
                .map_err(|e| BrokerError::Config(format!("controller listener {}: {e}", c.name))),
            None => Ok(()),
        }
    }

    /// Every client listener's security.
    pub fn listeners(&self) -> impl Iterator<Item = &Arc<ListenerSecurity>> {
        self.listeners.values()
    }

    /// `connection.failed.authentication.delay.ms`.
    pub fn failed_authentication_delay(&self) -> std::time::Duration {
        self.failed_authentication_delay
    }

    /// The authorizer, when `authorizer.class.name` switched it on.
    pub fn authorizer(&self) -> Option<&Authorizer> {
        self.authorizer.as_deref()
    }

    /// Takes the image's SCRAM credentials, and hands its ACLs to the
    /// authorizer when they changed since the last call.
    pub fn sync(&self, image: &Arc<MetadataImage>) {
        self.scram.image.store(Some(Arc::clone(image)));
        let Some(authorizer) = &self.authorizer else {
            return;
        };
        let acls = image.security().acls_arc();
        let mut seen = self.acls_seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.as_ref().is_some_and(|s| Arc::ptr_eq(s, acls)) {
            return;
        }
        authorizer.set_acls(acls.values().map(binding).collect());
        self.acls_loaded.store(true, Ordering::Release);
        *seen = Some(Arc::clone(acls));
    }
}

/// Kafka's key naming the mechanism brokers log in to each other with.
pub const INTER_BROKER_MECHANISM_CONFIG: &str = "sasl.mechanism.inter.broker.protocol";

/// How this broker logs in to peers on the SASL inter-broker listener
/// `name` whose enabled mechanisms are `enabled`: the mechanism of
/// `sasl.mechanism.inter.broker.protocol` (PLAIN, SCRAM-SHA-256 or
/// SCRAM-SHA-512, and enabled on the listener), with the `username` and
/// `password` of the listener's JAAS entry for it
/// (`listener.name.<l>.<mechanism>.sasl.jaas.config`, as Kafka's brokers).
pub fn inter_broker_login(
    name: &str,
    enabled: &[memorystreamer_sasl::Mechanism],
    props: &BTreeMap<String, String>,
) -> Result<crate::interbroker::SaslLogin, BrokerError> {
    use memorystreamer_sasl::Mechanism;
    let bad = |why: String| BrokerError::Config(format!("inter-broker listener {name}: {why}"));
    let value = props
        .get(INTER_BROKER_MECHANISM_CONFIG)
        .map(|v| v.trim())
        .unwrap_or("GSSAPI");
    let mechanism = match Mechanism::from_name(value) {
        Some(m @ (Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512)) => m,
        _ => {
            return Err(bad(format!(
                "{INTER_BROKER_MECHANISM_CONFIG}={value} is not supported between brokers \
                 (set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            )))
        }
    };
    if !enabled.contains(&mechanism) {
        return Err(bad(format!(
            "{INTER_BROKER_MECHANISM_CONFIG}={mechanism} is not in the listener's \
             sasl.enabled.mechanisms"
        )));
    }
    let key = format!("{}.sasl.jaas.config", mechanism.name().to_ascii_lowercase());
    let own = listener::listener_props(props, name);
    let entry = own.get(&key).ok_or_else(|| {
        bad(format!(
            "listener.name.{}.{key} is not set (it needs username and password for the \
             broker's own login)",
            name.to_ascii_lowercase()
        ))
    })?;
    let (username, password) = jaas::JaasEntry::parse(&key, entry)?
        .client_login()
        .ok_or_else(|| {
            bad(format!(
                "listener.name.{}.{key} has no username and password for the broker's own login",
                name.to_ascii_lowercase()
            ))
        })?;
    Ok(crate::interbroker::SaslLogin {
        mechanism,
        username,
        password,
    })
}

/// The authorizer's form of a stored binding.
pub fn binding(a: &AclImage) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::from_code(a.resource_type),
        resource_name: a.resource_name.clone(),
        pattern_type: PatternType::from_code(a.pattern_type),
        principal: a.principal.clone(),
        host: a.host.clone(),
        operation: AclOperation::from_code(a.operation),
        permission: AclPermissionType::from_code(a.permission_type),
    }
}

/// SCRAM credentials read from the latest metadata image.
#[derive(Debug, Default)]
struct ImageScram {
    image: ArcSwapOption<MetadataImage>,
}

impl ScramSource for ImageScram {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        scram_credential(self.image.load().as_ref()?, user, mechanism)
    }
}

/// The stored SCRAM credential of `user` for `mechanism` in `image`; None
/// when the user has none or the stored one is unusable (negative
/// iterations).
pub fn scram_credential(
    image: &MetadataImage,
    user: &str,
    mechanism: ScramMechanism,
) -> Option<ScramCredential> {
    let c = image
        .security()
        .scram_credential(user, mechanism.type_code())?;
    Some(ScramCredential {
        salt: c.salt.clone(),
        stored_key: c.stored_key.clone(),
        server_key: c.server_key.clone(),
        iterations: u32::try_from(c.iterations).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use memorystreamer_sasl::Mechanism;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const JAAS: &str = "org.apache.kafka.common.security.scram.ScramLoginModule required \
                        username=\"broker\" password=\"b-secret\";";

    #[test]
    fn inter_broker_login_reads_kafkas_keys() {
        let enabled = [Mechanism::Plain, Mechanism::ScramSha512];
        let ok = props(&[
            (INTER_BROKER_MECHANISM_CONFIG, "SCRAM-SHA-512"),
            (
                "listener.name.internal.scram-sha-512.sasl.jaas.config",
                JAAS,
            ),
        ]);
        let login = inter_broker_login("INTERNAL", &enabled, &ok).expect("login");
        assert_eq!(login.mechanism, Mechanism::ScramSha512);
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("broker", "b-secret")
        );
        assert!(
            !format!("{login:?}").contains("b-secret"),
            "the password is printed"
        );
        // Kafka's default GSSAPI, OAUTHBEARER, a mechanism not enabled, and a
        // missing JAAS entry are refused with the key to fix.
        let err = |p: &[(&str, &str)]| {
            inter_broker_login("INTERNAL", &enabled, &props(p))
                .expect_err("refused")
                .to_string()
        };
        assert!(err(&[]).contains("GSSAPI"));
        assert!(err(&[(INTER_BROKER_MECHANISM_CONFIG, "OAUTHBEARER")]).contains("not supported"));
        let e = err(&[
            (INTER_BROKER_MECHANISM_CONFIG, "SCRAM-SHA-256"),
            (
                "listener.name.internal.scram-sha-256.sasl.jaas.config",
                JAAS,
            ),
        ]);
        assert!(e.contains("sasl.enabled.mechanisms"), "{e}");
        let e = err(&[(INTER_BROKER_MECHANISM_CONFIG, "SCRAM-SHA-512")]);
        assert!(
            e.contains("listener.name.internal.scram-sha-512.sasl.jaas.config"),
            "{e}"
        );
        let e = err(&[
            (INTER_BROKER_MECHANISM_CONFIG, "PLAIN"),
            (
                "listener.name.internal.plain.sasl.jaas.config",
                "org.apache.kafka.common.security.plain.PlainLoginModule required \
                 user_broker=\"x\";",
            ),
        ]);
        assert!(e.contains("no username and password"), "{e}");
    }
}
