//! One SASL connection's authentication, as Kafka 4.1's
//! `SaslServerAuthenticator` runs it, before any request reaches a handler.
//!
//! The connection hands every frame to [`Authenticator::on_frame`] and does
//! what the returned [`Gate`] says:
//! * before authentication only ApiVersions (answered by the normal
//!   handler, [`Gate::Dispatch`]), SaslHandshake and SaslAuthenticate are
//!   served. Any other request closes the connection without an answer, as
//!   Kafka does ("Unexpected Kafka request of type X during SASL
//!   handshake"); so does a frame that is not a Kafka request at all;
//! * SaslHandshake v0 switches to raw tokens (size-prefixed, no header);
//!   v1 to SaslAuthenticate requests;
//! * a failed authentication (wrong credentials, an unknown mechanism, a
//!   request out of order during the exchange) is answered after
//!   `connection.failed.authentication.delay.ms` and the connection is then
//!   closed ([`Gate::Fail`]); the message never says whether the user
//!   exists (the mechanisms' texts, `sasl` crate);
//! * once authenticated, the session lasts `connections.max.reauth.ms` or
//!   until the OAUTHBEARER token expires, whichever is first (KIP-368): a
//!   SaslHandshake then starts a re-authentication (same mechanism, same
//!   principal), and any other request after the expiry closes the
//!   connection without an answer.
//!
//! Departure from Kafka: a request other than SaslAuthenticate in the
//! middle of an exchange is closed after the delay without Kafka's
//! "that API's error response with ILLEGAL_SASL_STATE" (building every
//! API's error form here is not worth it: the client treats both as a
//! failed authentication).
//!
//! This module is not the mechanisms (`sasl` crate), not the socket
//! (`connection.rs`) and not the listener configuration (`listener.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use memorystreamer_protocol_kafka::request::{decode_body, decode_header, Header};
use memorystreamer_protocol_kafka::response::encode_response;
use memorystreamer_protocol_kafka::versions::ApiTable;
use memorystreamer_sasl::{Mechanism, SaslError, ServerSession, Step};
use tracing::info;

use super::listener::SaslSettings;
use super::principal::KafkaPrincipal;

/// Kafka's shortest interval between two re-authentications.
const MIN_REAUTH_INTERVAL: Duration = Duration::from_secs(1);

/// What the connection does with a frame.
#[derive(Debug)]
pub enum Gate {
    /// Run it through the normal handlers.
    Dispatch,
    /// Write this (complete, size-prefixed) frame and go on.
    Reply(Bytes),
    /// Authentication failed: wait the failed-authentication delay, write
    /// the frame if any, then close.
    Fail(Option<Bytes>, String),
    /// Close at once without an answer (the reason is logged).
    Close(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing received yet.
    Initial,
    /// ApiVersions answered; only SaslHandshake now.
    Handshake,
    /// Handshake done; the exchange runs.
    Authenticate,
    /// A re-authentication asked for another mechanism: the next frame
    /// fails it.
    ReauthBadMechanism(Mechanism),
    /// Authenticated.
    Complete,
}

/// One connection's SASL progress.
pub struct Authenticator {
    settings: Arc<SaslSettings>,
    state: State,
    /// The handshake was v0: tokens travel raw.
    raw_tokens: bool,
    exchange: Option<ServerSession>,
    /// The mechanism of the completed authentication.
    mechanism: Option<Mechanism>,
    /// When the authenticated session ends (KIP-368), if it does.
    expires: Option<Instant>,
    /// When the last re-authentication began.
    reauth_started: Option<Instant>,
    reauthenticating: bool,
    /// The client's address, for log lines.
    peer: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("state", &self.state)
            .field("mechanism", &self.mechanism)
            .finish()
    }
}

impl Authenticator {
    /// A new connection's authenticator (`peer` is for log lines).
    pub fn new(settings: Arc<SaslSettings>, peer: Option<std::net::SocketAddr>) -> Self {
        Authenticator {
            settings,
            state: State::Initial,
            raw_tokens: false,
            exchange: None,
            mechanism: None,
            expires: None,
            reauth_started: None,
            reauthenticating: false,
            peer,
        }
    }

    /// Whether the connection is authenticated (and not re-authenticating).
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// The largest frame to read now: `sasl.server.max.receive.size` until
    /// authenticated.
    pub fn max_frame(&self, normal: usize) -> usize {
        if self.is_complete() {
            normal
        } else {
            normal.min(self.settings.max_receive_size)
        }
    }

    /// Decides what happens to `frame` (a complete request without its
    /// size prefix); a completed authentication sets `principal_slot` (the
    /// session's principal).
    pub fn on_frame(
        &mut self,
        frame: &Bytes,
        principal_slot: &mut KafkaPrincipal,
        table: &ApiTable,
    ) -> Gate {
        let now = Instant::now();
        if self.state == State::Complete {
            let Some(expires) = self.expires else {
                return Gate::Dispatch;
            };
            let is_handshake = frame.len() >= 2
                && i16::from_be_bytes([frame[0], frame[1]]) == ApiKey::SaslHandshake as i16;
            let may_reauth = self
                .reauth_started
                .is_none_or(|t| now.duration_since(t) >= MIN_REAUTH_INTERVAL);
            if is_handshake && may_reauth {
                self.state = State::Handshake;
                self.reauthenticating = true;
                self.reauth_started = Some(now);
            } else if now > expires {
                crate::metrics::expired_session_closed(&self.settings.listener);
                return Gate::Close("Disconnecting expired channel (KIP-368 session ended without re-authentication)".into());
            } else {
                return Gate::Dispatch;
            }
        }
        if let State::ReauthBadMechanism(m) = self.state {
            let old = self.mechanism.map_or("", |m| m.name());
            return Gate::Fail(
                None,
                format!(
                    "SASL mechanism '{m}' requested by client is not supported for \
                     re-authentication of mechanism '{old}'"
                ),
            );
        }
        if self.state == State::Authenticate && self.raw_tokens {
            return self.raw_token(frame, principal_slot, now);
        }
        let mut bytes = frame.clone();
        let header = match decode_header(&mut bytes, table) {
            Ok(h) => h,
            Err(e) => {
                return Gate::Close(format!(
                    "Invalid request, potential reasons: kafka client configured with the \
                     wrong security protocol, it does not support KIP-43 or it is not a kafka \
                     client ({e})"
                ))
            }
        };
        match (self.state, header.api_key) {
            (State::Initial, ApiKey::ApiVersions) if !self.reauthenticating => {
                self.state = State::Handshake;
                Gate::Dispatch
            }
            (State::Initial | State::Handshake, ApiKey::SaslHandshake) => {
                self.handshake(&header, bytes)
            }
            (State::Handshake, ApiKey::ApiVersions) => Gate::Close(
                "Unexpected ApiVersions request received during SASL authentication".into(),
            ),
            (State::Authenticate, ApiKey::SaslAuthenticate) => {
                self.authenticate(&header, bytes, principal_slot, now)
            }
            (State::Authenticate, other) => Gate::Fail(
                None,
                format!("Unexpected Kafka request of type {other:?} during SASL authentication."),
            ),
            (_, other) => Gate::Close(format!(
                "Unexpected Kafka request of type {other:?} during SASL handshake."
            )),
        }
    }

    fn handshake(&mut self, header: &Header, body: Bytes) -> Gate {
        let req: SaslHandshakeRequest = match decode_body(header, body) {
            Ok(r) => r,
            Err(e) => return Gate::Close(format!("undecodable SaslHandshake: {e}")),
        };
        let enabled: Vec<StrBytes> = self
            .settings
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.name()))
            .collect();
        let requested =
            Mechanism::from_name(&req.mechanism).filter(|m| self.settings.mechanisms.contains(m));
        let Some(mechanism) = requested else {
            let resp = SaslHandshakeResponse::default()
                .with_error_code(ResponseError::UnsupportedSaslMechanism.code())
                .with_mechanisms(enabled);
            return Gate::Fail(
                respond(header, &resp),
                format!("Unsupported SASL mechanism {}", req.mechanism.as_str()),
            );
        };
        let resp = SaslHandshakeResponse::default().with_mechanisms(enabled);
        if self.reauthenticating && Some(mechanism) != self.mechanism {
            self.state = State::ReauthBadMechanism(mechanism);
            return respond(header, &resp).map_or_else(
                || Gate::Close("cannot encode SaslHandshake".into()),
                Gate::Reply,
            );
        }
        let exchange = ServerSession::new(
            mechanism,
            Arc::clone(&self.settings.credentials),
            self.settings.jwt.clone(),
        );
        match exchange {
            Ok(x) => {
                self.exchange = Some(if self.reauthenticating {
                    x.for_reauthentication()
                } else {
                    x
                });
                self.raw_tokens = header.version() == 0;
                self.state = State::Authenticate;
                respond(header, &resp).map_or_else(
                    || Gate::Close("cannot encode SaslHandshake".into()),
                    Gate::Reply,
                )
            }
            Err(e) => Gate::Close(format!("cannot start {mechanism}: {e}")),
        }
    }

    /// One step of the exchange: the outcome, or the failure message.
    fn step(
        &mut self,
        token: &[u8],
        principal_slot: &mut KafkaPrincipal,
        now: Instant,
    ) -> Result<(Vec<u8>, Option<i64>), String> {
        let Some(exchange) = self.exchange.as_mut() else {
            return Err("no SASL exchange in progress".into());
        };
        let mechanism = exchange.mechanism();
        match exchange.step_at(token, SystemTime::now()) {
            Ok(Step::Continue(challenge)) => Ok((challenge, None)),
            Ok(Step::Done {
                response,
                principal,
                expires_at,
            }) => {
                let principal = KafkaPrincipal::parse(&principal);
                if self.reauthenticating && principal != *principal_slot {
                    return Err(format!(
                        "Cannot change principals during re-authentication from {}.{}: {}.{}",
                        principal_slot.principal_type(),
                        principal_slot.name(),
                        principal.principal_type(),
                        principal.name()
                    ));
                }
                let credential_left = expires_at.map(|t| {
                    t.duration_since(SystemTime::now())
                        .unwrap_or(Duration::ZERO)
                });
                let max = self.settings.max_reauth.get(&mechanism).copied();
                let lifetime = match (credential_left, max) {
                    (Some(c), Some(m)) => Some(c.min(m)),
                    (c, m) => c.or(m),
                };
                self.expires = lifetime.map(|l| now + l);
                self.mechanism = Some(mechanism);
                self.exchange = None;
                self.state = State::Complete;
                if self.reauthenticating {
                    crate::metrics::successful_reauthentication(&self.settings.listener);
                } else {
                    info!(peer = ?self.peer, %principal, %mechanism, "authenticated");
                }
                self.reauthenticating = false;
                *principal_slot = principal;
                Ok((response, Some(lifetime.map_or(0, |l| l.as_millis() as i64))))
            }
            Err(SaslError::AuthenticationFailed(m)) => Err(m),
            Err(_) if self.reauthenticating => Err(mechanism.generic_reauthentication_failure()),
            Err(_) => Err(mechanism.generic_failure()),
        }
    }

    fn authenticate(
        &mut self,
        header: &Header,
        body: Bytes,
        principal_slot: &mut KafkaPrincipal,
        now: Instant,
    ) -> Gate {
        let req: SaslAuthenticateRequest = match decode_body(header, body) {
            Ok(r) => r,
            Err(e) => return Gate::Close(format!("undecodable SaslAuthenticate: {e}")),
        };
        match self.step(&req.auth_bytes, principal_slot, now) {
            Ok((bytes, lifetime)) => {
                let resp = SaslAuthenticateResponse::default()
                    .with_auth_bytes(Bytes::from(bytes))
                    .with_session_lifetime_ms(lifetime.unwrap_or(0));
                respond(header, &resp).map_or_else(
                    || Gate::Close("cannot encode SaslAuthenticate".into()),
                    Gate::Reply,
                )
            }
            Err(message) => {
                let resp = SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                    .with_error_message(Some(StrBytes::from_string(message.clone())));
                Gate::Fail(respond(header, &resp), message)
            }
        }
    }

    /// A raw token after a v0 handshake: the answer is a raw size-prefixed
    /// token; a failure closes after the delay with no answer (v0 has no
    /// error form).
    fn raw_token(
        &mut self,
        frame: &Bytes,
        principal_slot: &mut KafkaPrincipal,
        now: Instant,
    ) -> Gate {
        match self.step(frame, principal_slot, now) {
            Ok((bytes, _)) => {
                let mut out = BytesMut::with_capacity(4 + bytes.len());
                out.put_u32(bytes.len() as u32);
                out.put_slice(&bytes);
                Gate::Reply(out.freeze())
            }
            Err(message) => Gate::Fail(None, message),
        }
    }
}

/// The encoded response frame, None if it cannot be encoded (a bug; the
/// connection is closed).
fn respond<T: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion>(
    header: &Header,
    body: &T,
) -> Option<Bytes> {
    encode_response(
        header.api_key,
        header.version(),
        header.correlation_id(),
        body,
    )
    .ok()
}
