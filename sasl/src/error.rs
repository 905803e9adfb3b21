//! The crate's one error type. The broker maps it to Kafka error codes
//! (SASL_AUTHENTICATION_FAILED, ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM)
//! in one place; messages never carry a secret and never say whether a user
//! exists.

/// Why authentication, or building its configuration, failed.
#[derive(Debug, thiserror::Error)]
pub enum SaslError {
    /// The client did not prove its identity. The message is safe to send
    /// to the client: it names no secret and does not say whether the user
    /// exists. On the client side ([`crate::client`]): the server refused
    /// our login.
    #[error("{0}")]
    AuthenticationFailed(String),
    /// Client side ([`crate::client`]): the server did not prove that it
    /// knows the user's credential (a SCRAM server-final signature that does
    /// not match), so it may be an impostor; the exchange is abandoned.
    #[error("server authentication failed: {0}")]
    ServerAuthenticationFailed(String),
    /// A SASL message that is malformed, oversized or out of order.
    #[error("invalid SASL message: {0}")]
    InvalidMessage(String),
    /// A mechanism this server does not offer.
    #[error("unsupported SASL mechanism {0}")]
    UnsupportedMechanism(String),
    /// A configuration value (key, certificate, JWKS, mapping rule) that
    /// cannot be used; the message names the setting, never a secret.
    #[error("{0}")]
    Config(String),
    /// A file that could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}
