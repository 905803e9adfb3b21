//! The server side of one SASL exchange: [`ServerSession`] takes the bytes
//! of each SaslAuthenticate request and answers a challenge
//! ([`Step::Continue`]) or the final response with the authenticated
//! principal ([`Step::Done`]).
//!
//! PLAIN and SCRAM-SHA-256/512 run on rsasl's server mechanisms: rsasl
//! parses the messages and runs the SCRAM exchange, and asks this module
//! (through its callback) for the user's stored SCRAM credential and for
//! the final decision. OAUTHBEARER is [`crate::oauthbearer`] (rsasl's
//! OAUTHBEARER server leaves token validation to the caller and answers
//! errors differently from Kafka, so the flow is written there directly).
//!
//! Failures follow Kafka's `SaslServerAuthenticator`: what Kafka raises as
//! a `SaslAuthenticationException` keeps its own message (wrong PLAIN
//! password, authzid mismatch), and everything else, a malformed message,
//! an unknown SCRAM user or a wrong proof alike, gets
//! `Authentication failed during authentication due to invalid credentials
//! with SASL mechanism <name>`. Both are [`SaslError::AuthenticationFailed`];
//! [`SaslError::InvalidMessage`] is kept for messages over
//! [`MAX_MESSAGE_BYTES`] and messages after the exchange ended.
//!
//! rsasl compares the recomputed StoredKey with `==`, not in constant time.
//! The compared value is H(ClientKey') for a ClientKey' the client cannot
//! choose freely (it is its proof XOR an HMAC it cannot predict without
//! the StoredKey), so the timing says nothing useful; Kafka uses
//! `MessageDigest.isEqual`. PLAIN passwords are compared by the broker's
//! [`Credentials`] with [`constant_time_eq`].
//!
//! This module is NOT the Kafka framing (SaslHandshake / SaslAuthenticate
//! and re-authentication live in the broker) and does not store users: the
//! broker implements [`Credentials`].

use std::sync::Arc;
use std::time::SystemTime;

use rsasl::callback::{Context, Request, SessionCallback, SessionData};
use rsasl::mechanisms::scram::properties::ScramStoredPassword;
use rsasl::prelude::{Mechname, SASLConfig, SASLServer, Session, SessionError, State};
use rsasl::property::{AuthId, AuthzId, Password};
use rsasl::validate::{Validate, Validation, ValidationError};
use subtle::ConstantTimeEq;

use crate::oauthbearer::{JwtValidator, OAuthBearerServer};
use crate::scram::{self, ScramCredential, ScramMechanism};
use crate::{plain, SaslError};

/// The largest SASL message a session accepts (64 KiB); a larger one is
/// [`SaslError::InvalidMessage`]. A JWT with many claims stays far below.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// A SASL mechanism the broker can offer, by its Kafka name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `OAUTHBEARER` (RFC 7628) with JWT bearer tokens.
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism, in the order above.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::OAuthBearer,
    ];

    /// The mechanism of a Kafka name (`sasl.enabled.mechanisms`,
    /// SaslHandshake); names are case-sensitive, as in Kafka.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The Kafka / IANA name: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`,
    /// `OAUTHBEARER`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The SCRAM variant, for the two SCRAM mechanisms.
    pub fn scram(self) -> Option<ScramMechanism> {
        match self {
            Self::ScramSha256 => Some(ScramMechanism::Sha256),
            Self::ScramSha512 => Some(ScramMechanism::Sha512),
            Self::Plain | Self::OAuthBearer => None,
        }
    }

    /// Kafka's message for a failure that must not say more (Kafka's
    /// `SaslServerAuthenticator` for any `SaslException`).
    pub fn generic_failure(self) -> String {
        self.generic_failure_during("authentication")
    }

    /// The same during KIP-368 re-authentication (`... during
    /// re-authentication due to ...`).
    pub fn generic_reauthentication_failure(self) -> String {
        self.generic_failure_during("re-authentication")
    }

    fn generic_failure_during(self, phase: &str) -> String {
        format!(
            "Authentication failed during {phase} due to invalid credentials with SASL mechanism {}",
            self.name()
        )
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The broker's users, as the mechanisms need them.
pub trait Credentials: Send + Sync {
    /// The stored SCRAM credential of `user` for `mechanism`, if any
    /// (from the `UserScramCredential` metadata records).
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;

    /// Whether `password` is `user`'s PLAIN password (Kafka's JAAS
    /// `user_<name>="<password>"`). Must compare in constant time
    /// ([`constant_time_eq`]) and answer false for an unknown user.
    fn plain_matches(&self, user: &str, password: &[u8]) -> bool;
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// What one step of the exchange answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes to the client (SaslAuthenticate `auth_bytes`) and
    /// wait for its next message.
    Continue(Vec<u8>),
    /// Authenticated: send `response` (possibly empty) as the last
    /// SaslAuthenticate `auth_bytes`.
    Done {
        /// The final server message (SCRAM's server-final `v=...`, empty
        /// for PLAIN and OAUTHBEARER).
        response: Vec<u8>,
        /// The Kafka principal, `User:<name>`.
        principal: String,
        /// When the credential expires (an OAUTHBEARER token's `exp`), for
        /// KIP-368 re-authentication; `None` for passwords.
        expires_at: Option<SystemTime>,
    },
}

/// rsasl's validation outcome: the authenticated user name, or why not.
struct Authenticated;

impl Validation for Authenticated {
    type Value = Result<String, SaslError>;
}

/// The rsasl callback: hands out stored SCRAM credentials (a fake one for
/// an unknown user) and makes the final decision.
struct CredentialCallback {
    credentials: Arc<dyn Credentials>,
    mechanism: Mechanism,
}

impl CredentialCallback {
    fn decide(&self, context: &Context) -> Result<String, SaslError> {
        let generic = || SaslError::AuthenticationFailed(self.mechanism.generic_failure());
        let authcid = context.get_ref::<AuthId>().ok_or_else(generic)?;
        let authzid = context.get_ref::<AuthzId>();
        match self.mechanism.scram() {
            None => {
                let password = context.get_ref::<Password>().ok_or_else(generic)?;
                plain::authenticate(self.credentials.as_ref(), authcid, authzid, password)
            }
            // rsasl validates only after the client proved its key.
            Some(_) => {
                let user = scram::username_from_saslname(authcid).ok_or_else(generic)?;
                match authzid {
                    Some(a) if !a.is_empty() && a != user => Err(SaslError::AuthenticationFailed(
                        plain::AUTHZID_MISMATCH.into(),
                    )),
                    _ => Ok(user),
                }
            }
        }
    }
}

impl SessionCallback for CredentialCallback {
    fn callback(
        &self,
        _session_data: &SessionData,
        context: &Context,
        request: &mut Request,
    ) -> Result<(), SessionError> {
        let Some(mechanism) = self.mechanism.scram() else {
            return Ok(());
        };
        if !request.is::<ScramStoredPassword>() {
            return Ok(());
        }
        let authid = context.get_ref::<AuthId>().unwrap_or_default();
        let stored = scram::username_from_saslname(authid)
            .and_then(|user| self.credentials.scram(&user, mechanism))
            .filter(|c| c.fits(mechanism));
        // An unknown user (or an unusable record) runs the exchange with a
        // fake credential: same message shape and cost, and a proof that
        // cannot match.
        let credential = stored.unwrap_or_else(|| scram::fake_credential(mechanism, authid));
        request.satisfy::<ScramStoredPassword>(&ScramStoredPassword::new(
            credential.iterations,
            &credential.salt,
            &credential.stored_key,
            &credential.server_key,
        ))?;
        Ok(())
    }

    fn validate(
        &self,
        _session_data: &SessionData,
        context: &Context,
        validate: &mut Validate<'_>,
    ) -> Result<(), ValidationError> {
        if validate.is::<Authenticated>() {
            validate.finalize::<Authenticated>(self.decide(context));
        }
        Ok(())
    }
}

enum Inner {
    /// PLAIN or SCRAM on rsasl.
    Rsasl(Box<Session<Authenticated>>),
    OAuthBearer(OAuthBearerServer),
    /// Succeeded or failed: any further message is out of order.
    Ended,
}

/// The server side of one SASL authentication exchange.
pub struct ServerSession {
    mechanism: Mechanism,
    inner: Inner,
    /// Client messages taken so far.
    messages: u32,
    /// A KIP-368 re-authentication (changes the generic failure text).
    reauthentication: bool,
}

impl std::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("mechanism", &self.mechanism)
            .field("ended", &matches!(self.inner, Inner::Ended))
            .finish()
    }
}

impl ServerSession {
    /// Starts an exchange. OAUTHBEARER needs a validator
    /// ([`SaslError::Config`] without one).
    pub fn new(
        mechanism: Mechanism,
        credentials: Arc<dyn Credentials>,
        jwt: Option<Arc<JwtValidator>>,
    ) -> Result<Self, SaslError> {
        let inner = match mechanism {
            Mechanism::OAuthBearer => {
                let validator = jwt.ok_or_else(|| {
                    SaslError::Config(
                        "OAUTHBEARER is enabled but no token validator is configured".into(),
                    )
                })?;
                Inner::OAuthBearer(OAuthBearerServer::new(validator))
            }
            Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512 => {
                if mechanism.scram().is_some() && !scram::fake_credentials_available() {
                    return Err(SaslError::Config(
                        "the OS random source is unavailable; SCRAM cannot start".into(),
                    ));
                }
                let callback = CredentialCallback {
                    credentials,
                    mechanism,
                };
                let config = SASLConfig::builder()
                    .with_defaults()
                    .with_callback(callback)
                    .map_err(|e| SaslError::Config(format!("SASL configuration: {e}")))?;
                let name = Mechname::parse(mechanism.name().as_bytes())
                    .map_err(|e| SaslError::Config(format!("mechanism name: {e}")))?;
                let session = SASLServer::<Authenticated>::new(config)
                    .start_suggested(name)
                    .map_err(|_| SaslError::UnsupportedMechanism(mechanism.name().into()))?;
                Inner::Rsasl(Box::new(session))
            }
        };
        Ok(Self {
            mechanism,
            inner,
            messages: 0,
            reauthentication: false,
        })
    }

    /// Marks the exchange as a KIP-368 re-authentication: generic failures
    /// then say `during re-authentication`, as Kafka's do.
    pub fn for_reauthentication(mut self) -> Self {
        self.reauthentication = true;
        self
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the exchange has ended (succeeded or failed).
    pub fn is_ended(&self) -> bool {
        matches!(self.inner, Inner::Ended)
    }

    /// Feeds the client's next message, at the current time.
    pub fn step(&mut self, client_message: &[u8]) -> Result<Step, SaslError> {
        self.step_at(client_message, SystemTime::now())
    }

    /// Feeds the client's next message; `now` is the time an OAUTHBEARER
    /// token's validity is judged at. Any error ends the exchange.
    pub fn step_at(&mut self, client_message: &[u8], now: SystemTime) -> Result<Step, SaslError> {
        let result = self.advance(client_message, now);
        self.messages = self.messages.saturating_add(1);
        if !matches!(result, Ok(Step::Continue(_))) {
            self.inner = Inner::Ended;
        }
        match result {
            Err(SaslError::AuthenticationFailed(m))
                if self.reauthentication && m == self.mechanism.generic_failure() =>
            {
                Err(SaslError::AuthenticationFailed(
                    self.mechanism.generic_reauthentication_failure(),
                ))
            }
            Err(e) => {
                tracing::debug!(mechanism = %self.mechanism, error = %e, "SASL authentication failed");
                Err(e)
            }
            ok => ok,
        }
    }

    fn advance(&mut self, client_message: &[u8], now: SystemTime) -> Result<Step, SaslError> {
        if client_message.len() > MAX_MESSAGE_BYTES {
            return Err(SaslError::InvalidMessage(format!(
                "a {} message of {} bytes is over the {MAX_MESSAGE_BYTES}-byte limit",
                self.mechanism,
                client_message.len()
            )));
        }
        match &mut self.inner {
            Inner::Ended => Err(SaslError::InvalidMessage(format!(
                "{} message after the exchange ended",
                self.mechanism
            ))),
            Inner::OAuthBearer(server) => server.step(client_message, now),
            Inner::Rsasl(session) => {
                let mut out = Vec::new();
                let generic = || SaslError::AuthenticationFailed(self.mechanism.generic_failure());
                if self.mechanism.scram().is_some()
                    && !scram::well_formed_client_message(client_message, self.messages == 0)
                {
                    return Err(generic());
                }
                // rsasl is third-party parsing of client bytes: a panic in
                // it must not take the connection task down.
                let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    session.step(Some(client_message), &mut out)
                }));
                let Ok(stepped) = stepped else {
                    tracing::warn!(mechanism = %self.mechanism, "SASL mechanism panicked on a client message");
                    return Err(generic());
                };
                match stepped {
                    Ok(State::Running) => Ok(Step::Continue(out)),
                    Ok(State::Finished(_)) => match session.validation() {
                        Some(Ok(user)) => Ok(Step::Done {
                            response: out,
                            principal: format!("User:{user}"),
                            expires_at: None,
                        }),
                        Some(Err(e)) => Err(e),
                        // A wrong proof, an unknown user: rsasl wrote a
                        // SCRAM `e=` answer, Kafka sends its generic error.
                        None => Err(generic()),
                    },
                    Err(_) => Err(generic()),
                }
            }
        }
    }
}
