//! The client side of one SASL exchange, for a broker that logs in to
//! another broker (SASL between brokers): [`ClientSession`] produces the
//! bytes of each SaslAuthenticate request and checks the server's answers.
//!
//! PLAIN and SCRAM-SHA-256/512 run on rsasl's client mechanisms, which speak
//! what Kafka's own client (`ScramSaslClient`, `ScramMessages`,
//! `PlainSaslClient`) sends:
//!
//! * PLAIN: one message `\0<user>\0<password>` (no authzid); the server's
//!   answer is empty.
//! * SCRAM: the client-first message `n,,n=<user>,r=<nonce>` (GS2 header
//!   `n,,`: no channel binding, no authzid; `,` and `=` in the user name
//!   escaped as `=2C` and `=3D`), then the client-final message
//!   `c=biws,r=<nonce>,p=<proof>`. The password is used as given (no
//!   SASLprep), as Kafka's `ScramFormatter` does.
//!
//! The exchange is done only once the server has proven itself: for SCRAM
//! the server-final `v=` signature must match the one derived from the
//! password (mutual authentication), otherwise the step fails with
//! [`SaslError::ServerAuthenticationFailed`]. An `e=` server-final, or a
//! server-first that announces an iteration count outside Kafka's bounds
//! ([`ScramMechanism::MIN_ITERATIONS`] ..= [`ScramMechanism::MAX_ITERATIONS`];
//! Kafka's client enforces the minimum, the maximum bounds the work a rogue
//! server can ask for), also fails. Server messages are checked for shape
//! before rsasl parses them (its parser indexes attributes without checking
//! their length), and a panic in rsasl is caught, so no server input can
//! take the caller's task down.
//!
//! How a caller drives it (the server message of the first step is empty):
//!
//! ```text
//! let mut server_message = Vec::new();
//! loop {
//!     match session.step(&server_message)? {
//!         ClientStep::Send(bytes) => server_message = sasl_authenticate(bytes)?.auth_bytes,
//!         ClientStep::Done => break,
//!     }
//! }
//! ```
//!
//! This module is NOT the Kafka framing (SaslHandshake / SaslAuthenticate,
//! KIP-368 re-authentication) and does no network I/O: the broker's peer
//! connection sends the bytes. There is no OAUTHBEARER client (a broker
//! logs in with a password), and no channel binding (`-PLUS`) or authzid.

use rsasl::prelude::{Mechname, SASLClient, SASLConfig, Session, SessionError, State};

use crate::mechanism::{Mechanism, MAX_MESSAGE_BYTES};
use crate::scram::ScramMechanism;
use crate::SaslError;

/// What one client step asks the caller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send these bytes to the server (SaslAuthenticate `auth_bytes`) and
    /// feed its answer to the next [`ClientSession::step`].
    Send(Vec<u8>),
    /// Authenticated, and the server has proven itself where the mechanism
    /// can (SCRAM): nothing more to send.
    Done,
}

/// Where the exchange is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet; the next step sends the first message.
    Start,
    /// SCRAM client-first sent; waiting for the server-first message.
    ServerFirst,
    /// SCRAM client-final sent; waiting for the server-final message.
    ServerFinal,
    /// PLAIN message sent; waiting for the server's (empty) answer.
    PlainAnswer,
    /// Succeeded: any further step is out of order.
    Done,
    /// Failed: any further step is out of order.
    Failed,
}

/// The client side of one SASL authentication exchange (PLAIN,
/// SCRAM-SHA-256 or SCRAM-SHA-512) with a fixed user name and password.
/// One session authenticates once; start a new one to authenticate again.
pub struct ClientSession {
    mechanism: Mechanism,
    session: Box<Session>,
    phase: Phase,
}

/// Never prints the credentials.
impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("mechanism", &self.mechanism.name())
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

impl ClientSession {
    /// Starts an exchange that logs in as `username` with `password`.
    ///
    /// Fails with [`SaslError::UnsupportedMechanism`] for OAUTHBEARER, and
    /// with [`SaslError::Config`] for an empty user name or password, or a
    /// NUL character in either (PLAIN cannot carry it; SCRAM user names
    /// cannot either).
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> Result<Self, SaslError> {
        if mechanism == Mechanism::OAuthBearer {
            return Err(SaslError::UnsupportedMechanism(format!(
                "{} (no client side: brokers log in with a password)",
                mechanism.name()
            )));
        }
        if username.is_empty() || password.is_empty() {
            return Err(SaslError::Config(format!(
                "a {mechanism} login needs a non-empty username and password"
            )));
        }
        if username.contains('\0') || password.contains('\0') {
            return Err(SaslError::Config(format!(
                "a {mechanism} username or password must not contain a NUL character"
            )));
        }
        let config = SASLConfig::with_credentials(None, username.to_string(), password.to_string())
            .map_err(|e| SaslError::Config(format!("SASL client configuration: {e}")))?;
        let name = Mechname::parse(mechanism.name().as_bytes())
            .map_err(|e| SaslError::Config(format!("mechanism name: {e}")))?;
        let session = SASLClient::new(config)
            .start_suggested(&[name])
            .map_err(|_| SaslError::UnsupportedMechanism(mechanism.name().into()))?;
        if session.get_mechname().as_str() != mechanism.name() {
            return Err(SaslError::UnsupportedMechanism(mechanism.name().into()));
        }
        Ok(Self {
            mechanism,
            session: Box::new(session),
            phase: Phase::Start,
        })
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Whether the exchange has succeeded ([`ClientStep::Done`] was
    /// returned).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Feeds the server's last message (empty on the first call) and
    /// returns what to do next. Any error ends the exchange, and every step
    /// after the end (success or failure) is [`SaslError::InvalidMessage`]
    /// (after a success, [`Self::is_done`] stays true).
    ///
    /// Errors: [`SaslError::AuthenticationFailed`] when the server refused
    /// (a SCRAM `e=` server-final), [`SaslError::ServerAuthenticationFailed`]
    /// when the server's SCRAM signature is wrong, and
    /// [`SaslError::InvalidMessage`] for a malformed, oversized or
    /// unexpected server message.
    pub fn step(&mut self, server_message: &[u8]) -> Result<ClientStep, SaslError> {
        let result = self.advance(server_message);
        // A late message is refused but does not undo a success.
        if result.is_err() && self.phase != Phase::Done {
            self.phase = Phase::Failed;
        }
        result
    }

    fn advance(&mut self, server_message: &[u8]) -> Result<ClientStep, SaslError> {
        let mechanism = self.mechanism;
        let invalid = |what: &str| SaslError::InvalidMessage(format!("{mechanism} {what}"));
        if server_message.len() > MAX_MESSAGE_BYTES {
            return Err(invalid(&format!(
                "server message of {} bytes is over the {MAX_MESSAGE_BYTES}-byte limit",
                server_message.len()
            )));
        }
        match self.phase {
            Phase::Done | Phase::Failed => Err(invalid("server message after the exchange ended")),
            Phase::Start => {
                if !server_message.is_empty() {
                    return Err(invalid("exchange must start with an empty server message"));
                }
                let (state, out) = self.rsasl_step(None)?;
                match (mechanism.scram(), state) {
                    (Some(_), State::Running) => self.phase = Phase::ServerFirst,
                    (None, State::Finished(_)) => self.phase = Phase::PlainAnswer,
                    _ => return Err(invalid("client ended its first message unexpectedly")),
                }
                Ok(ClientStep::Send(out))
            }
            Phase::ServerFirst => {
                check_server_first(server_message).map_err(|why| invalid(&why))?;
                match self.rsasl_step(Some(server_message))? {
                    (State::Running, out) => {
                        self.phase = Phase::ServerFinal;
                        Ok(ClientStep::Send(out))
                    }
                    _ => Err(invalid("client ended before its final message")),
                }
            }
            Phase::ServerFinal => {
                match server_final_attribute(server_message) {
                    Some(("v", _)) => {}
                    Some(("e", value)) => {
                        return Err(SaslError::AuthenticationFailed(format!(
                            "the server refused the {mechanism} login: {}",
                            String::from_utf8_lossy(&value[..value.len().min(64)])
                        )))
                    }
                    _ => return Err(invalid("server-final message is malformed")),
                }
                match self.rsasl_step(Some(server_message))? {
                    (State::Finished(_), _) => {
                        self.phase = Phase::Done;
                        Ok(ClientStep::Done)
                    }
                    (State::Running, _) => Err(invalid("client did not end after server-final")),
                }
            }
            Phase::PlainAnswer => {
                if !server_message.is_empty() {
                    return Err(invalid("server answer must be empty"));
                }
                self.phase = Phase::Done;
                Ok(ClientStep::Done)
            }
        }
    }

    /// One rsasl step: its state and the bytes it wrote. rsasl's errors are
    /// mapped without their input (a server message may be anything).
    fn rsasl_step(&mut self, input: Option<&[u8]>) -> Result<(State, Vec<u8>), SaslError> {
        let mechanism = self.mechanism;
        let mut out = Vec::new();
        let session = &mut self.session;
        // rsasl parses server bytes: a panic in it must not take the
        // caller's task down.
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session.step(input, &mut out)
        }));
        match stepped {
            Ok(Ok(state)) => Ok((state, out)),
            Ok(Err(SessionError::MutualAuthenticationFailed)) => {
                Err(SaslError::ServerAuthenticationFailed(format!(
                    "the server's {mechanism} signature does not match: it did not prove it knows the credential"
                )))
            }
            Ok(Err(e)) => Err(SaslError::InvalidMessage(format!(
                "{mechanism} client step failed: {e}"
            ))),
            Err(_) => {
                tracing::warn!(%mechanism, "SASL client mechanism panicked on a server message");
                Err(SaslError::InvalidMessage(format!(
                    "{mechanism} server message could not be processed"
                )))
            }
        }
    }
}

/// Checks a SCRAM server-first message's shape (RFC 5802 §7:
/// `r=<nonce>,s=<salt>,i=<count>[,<extensions>]`) and that its iteration
/// count is within Kafka's bounds; rsasl checks the nonce and the salt's
/// base64.
fn check_server_first(message: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(message)
        .map_err(|_| "server-first message is not UTF-8".to_string())?;
    let parts: Vec<&str> = text.split(',').collect();
    let value = |index: usize, key: &str| {
        parts
            .get(index)
            .and_then(|p| p.strip_prefix(key))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("server-first message lacks {key}"))
    };
    value(0, "r=")?;
    value(1, "s=")?;
    let iterations: u32 = value(2, "i=")?
        .parse()
        .map_err(|_| "server-first iteration count is not a number".to_string())?;
    if parts[3..]
        .iter()
        .any(|p| p.len() < 2 || p.as_bytes()[1] != b'=')
    {
        return Err("server-first message has a malformed attribute".into());
    }
    if !(ScramMechanism::MIN_ITERATIONS..=ScramMechanism::MAX_ITERATIONS).contains(&iterations) {
        return Err(format!(
            "server-first asks for {iterations} iterations, outside {}..={}",
            ScramMechanism::MIN_ITERATIONS,
            ScramMechanism::MAX_ITERATIONS
        ));
    }
    Ok(())
}

/// The first attribute of a SCRAM server-final message (`v=<signature>` or
/// `e=<error>`) as (name, value); `None` if it has no attribute shape.
fn server_final_attribute(message: &[u8]) -> Option<(&str, &[u8])> {
    let first = message.split(|b| *b == b',').next()?;
    match first {
        [b'v', b'=', value @ ..] if !value.is_empty() => Some(("v", value)),
        [b'e', b'=', value @ ..] => Some(("e", value)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_first_shape_and_iterations_are_checked() {
        let ok = b"r=abcXYZ,s=c2FsdA==,i=4096";
        assert_eq!(check_server_first(ok), Ok(()));
        assert!(check_server_first(b"r=abcXYZ,s=c2FsdA==,i=4096,x=1").is_ok());
        for bad in [
            &b""[..],
            b"r",
            b"r=abc,s",
            b"r=abc,s=c2FsdA==",
            b"r=abc,s=c2FsdA==,i=",
            b"r=abc,s=c2FsdA==,i=lots",
            b"r=abc,s=c2FsdA==,i=4095",
            b"r=abc,s=c2FsdA==,i=16385",
            b"r=abc,s=c2FsdA==,i=4096,",
            b"s=c2FsdA==,r=abc,i=4096",
            b"r=abc,s=c2FsdA==,i=4096\xff",
        ] {
            assert!(
                check_server_first(bad).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn server_final_attribute_is_parsed_without_panicking() {
        assert_eq!(server_final_attribute(b"v=abc"), Some(("v", &b"abc"[..])));
        assert_eq!(
            server_final_attribute(b"e=invalid-proof,x=1"),
            Some(("e", &b"invalid-proof"[..]))
        );
        for bad in [&b""[..], b"v", b"v=", b"x=abc", b",v=abc"] {
            assert_eq!(server_final_attribute(bad), None, "{bad:?}");
        }
    }
}
