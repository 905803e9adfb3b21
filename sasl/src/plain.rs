//! SASL/PLAIN (RFC 4616): the decision once rsasl's PLAIN server has split
//! the client's single message `[authzid] NUL authcid NUL passwd`.
//!
//! As in Kafka's `PlainSaslServer`: the password is checked against the
//! broker's users ([`Credentials::plain_matches`], Kafka's JAAS
//! `user_<name>="<password>"` options) and an unknown user and a wrong
//! password get the same message; a non-empty authzid must equal the user
//! name. rsasl applies SASLprep (RFC 4013) to the user name and password
//! before they reach here; for ASCII names and passwords that changes
//! nothing, while Kafka compares non-ASCII passwords without normalising.
//!
//! This module is NOT the message parser (rsasl's PLAIN server is) and does
//! not know where the passwords come from (the broker's [`Credentials`]).

use crate::mechanism::Credentials;
use crate::SaslError;

/// Kafka's message for a wrong password or an unknown user.
pub const INVALID_USERNAME_OR_PASSWORD: &str =
    "Authentication failed: Invalid username or password";

/// Kafka's message for an authzid that is not the user name (PLAIN and
/// SCRAM).
pub const AUTHZID_MISMATCH: &str =
    "Authentication failed: Client requested an authorization id that is different from username";

/// Decides a PLAIN exchange: `Ok(user)` if `password` is the user's and
/// the authzid is empty or the user's own name. The password is compared
/// by the [`Credentials`] implementation, which must do so in constant
/// time (see [`crate::mechanism::constant_time_eq`]).
pub(crate) fn authenticate(
    credentials: &dyn Credentials,
    authcid: &str,
    authzid: Option<&str>,
    password: &[u8],
) -> Result<String, SaslError> {
    if !credentials.plain_matches(authcid, password) {
        return Err(SaslError::AuthenticationFailed(
            INVALID_USERNAME_OR_PASSWORD.into(),
        ));
    }
    match authzid {
        Some(authzid) if !authzid.is_empty() && authzid != authcid => {
            Err(SaslError::AuthenticationFailed(AUTHZID_MISMATCH.into()))
        }
        _ => Ok(authcid.to_string()),
    }
}
