//! Authentication for MemoryStreamer (DESIGN §7): the SASL mechanisms a
//! Kafka client speaks (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), the TLS
//! server configuration (rustls) and how a connection's principal is
//! derived (a SASL identity, or a client certificate's subject mapped by
//! Kafka's `ssl.principal.mapping.rules`).
//!
//! This crate is pure building blocks: it knows nothing of Kafka requests,
//! listeners, the metadata quorum or the authorizer. The broker frames the
//! SASL bytes (SaslHandshake / SaslAuthenticate), stores SCRAM credentials as
//! metadata records and asks the authorizer; this crate decides whether the
//! bytes a client sent prove who it claims to be, and, for a broker logging
//! in to another broker, produces those bytes ([`client`]).

pub mod client;
pub mod error;
pub mod mechanism;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod scram;
pub mod tls;

pub use client::{ClientSession, ClientStep};
pub use error::SaslError;
pub use mechanism::{Credentials, Mechanism, ServerSession, Step};
pub use oauthbearer::{JwtValidator, KeySource, OAuthConfig, ValidatedToken};
pub use scram::{ScramCredential, ScramMechanism};
