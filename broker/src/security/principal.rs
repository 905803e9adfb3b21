//! Kafka's `KafkaPrincipal`: who a connection acts as. Defined here, with
//! authentication, so that the authenticator does not depend on the
//! request context (`context.rs` re-exports it).

use std::fmt;

/// Who a connection acts as, in Kafka's `KafkaPrincipal` form
/// (`<type>:<name>`, e.g. `User:alice`), kept as one string because the
/// authorizer and the ACLs compare principals in that form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KafkaPrincipal {
    full: String,
    type_len: usize,
}

impl KafkaPrincipal {
    /// Kafka's `KafkaPrincipal.USER_TYPE`.
    pub const USER_TYPE: &'static str = "User";

    /// The principal `principal_type:name`.
    pub fn new(principal_type: &str, name: &str) -> Self {
        KafkaPrincipal {
            full: format!("{principal_type}:{name}"),
            type_len: principal_type.len(),
        }
    }

    /// A `User` principal.
    pub fn user(name: &str) -> Self {
        Self::new(Self::USER_TYPE, name)
    }

    /// Parses `Type:name` (as the `sasl` crate and `super.users` write
    /// principals); a string without `:` is a `User` name.
    pub fn parse(s: &str) -> Self {
        match s.split_once(':') {
            Some((t, n)) => Self::new(t, n),
            None => Self::user(s),
        }
    }

    /// `User:ANONYMOUS`, the principal of every PLAINTEXT connection and of
    /// SSL connections without a client certificate, as in Kafka.
    pub fn anonymous() -> Self {
        Self::user("ANONYMOUS")
    }

    /// The principal type (`User` for every principal Kafka builds itself).
    pub fn principal_type(&self) -> &str {
        &self.full[..self.type_len]
    }

    /// The name within that type.
    pub fn name(&self) -> &str {
        &self.full[self.type_len + 1..]
    }

    /// `Type:name`.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}
