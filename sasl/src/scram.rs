//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677): the stored
//! credential the broker keeps per user and mechanism, and the pieces the
//! SCRAM server exchange ([`crate::mechanism::ServerSession`], on rsasl's
//! SCRAM server) needs from it.
//!
//! A [`ScramCredential`] is what Kafka stores in its `UserScramCredential`
//! metadata records: salt, StoredKey, ServerKey and the iteration count, never
//! the password. `AlterUserScramCredentials` sends the *salted* password
//! (Hi(password, salt, i)), so [`ScramCredential::from_salted_password`]
//! derives the keys from it; [`ScramCredential::from_password`] is for
//! tools and tests that start from a password.
//!
//! An unknown user gets a fake credential (`fake_credential`): a salt and
//! keys derived from the user name under a per-process random key, so the
//! server-first message has the same shape, the same salt on every attempt
//! and the same cost as for a real user, and the proof then fails with the
//! same message as a wrong password.
//!
//! rsasl's SCRAM server rebuilds the AuthMessage from the user name and
//! nonces, so a client-first message with extensions (Kafka's
//! `tokenauth=true` for delegation tokens) cannot authenticate: delegation
//! tokens are not supported. rsasl's parser also indexes attributes without
//! checking their length, so [`crate::mechanism::ServerSession`] checks
//! each message's shape first (`well_formed_client_message`).
//!
//! This module is NOT the message parser or state machine (rsasl's SCRAM
//! server is), and does not store credentials (the broker does, as metadata
//! records).

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use crate::SaslError;

/// A SCRAM mechanism, with Kafka's mechanism type codes (the `mechanism`
/// field of AlterUserScramCredentials / DescribeUserScramCredentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    /// SCRAM-SHA-256, type code 1.
    Sha256,
    /// SCRAM-SHA-512, type code 2.
    Sha512,
}

impl ScramMechanism {
    /// Kafka's minimum iteration count for both mechanisms
    /// (`ScramMechanism.minIterations`, 4096).
    pub const MIN_ITERATIONS: u32 = 4096;
    /// Kafka's maximum iteration count accepted by AlterUserScramCredentials
    /// (16384).
    pub const MAX_ITERATIONS: u32 = 16384;

    /// The mechanism of a Kafka type code (1 = SHA-256, 2 = SHA-512); `None`
    /// for 0 (UNKNOWN) and anything else.
    pub fn from_type(code: i8) -> Option<Self> {
        match code {
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Kafka's type code: 1 for SHA-256, 2 for SHA-512.
    pub fn type_code(self) -> i8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    /// The SASL mechanism name: `SCRAM-SHA-256` or `SCRAM-SHA-512`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The hash output length in bytes (32 or 64): the length of a salted
    /// password, a StoredKey and a ServerKey.
    pub fn hash_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Sha256 => hmac_parts::<Hmac<Sha256>>(key, parts),
            Self::Sha512 => hmac_parts::<Hmac<Sha512>>(key, parts),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations): what an
    /// admin client sends in AlterUserScramCredentials.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.hash_len()];
        match self {
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out),
            Self::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out),
        }
        out
    }
}

fn hmac_parts<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <M as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A user's stored SCRAM credential for one mechanism (RFC 5802 §3):
/// `StoredKey = H(HMAC(SaltedPassword, "Client Key"))`,
/// `ServerKey = HMAC(SaltedPassword, "Server Key")`.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredential {
    /// The salt (raw bytes; base64 on the wire).
    pub salt: Vec<u8>,
    /// StoredKey.
    pub stored_key: Vec<u8>,
    /// ServerKey.
    pub server_key: Vec<u8>,
    /// The PBKDF2 iteration count.
    pub iterations: u32,
}

/// Never prints the keys.
impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("salt_len", &self.salt.len())
            .field("keys", &"[hidden]")
            .field("iterations", &self.iterations)
            .finish()
    }
}

impl ScramCredential {
    /// Derives the credential from a password: SaltedPassword =
    /// PBKDF2-HMAC-H(password, salt, iterations). The iteration count must
    /// be within Kafka's bounds ([`ScramMechanism::MIN_ITERATIONS`] ..=
    /// [`ScramMechanism::MAX_ITERATIONS`]); the salt must not be empty.
    pub fn from_password(
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        check_parameters(salt, iterations)?;
        let salted = mechanism.salted_password(password, salt, iterations);
        Self::from_salted_password(mechanism, &salted, salt, iterations)
    }

    /// Derives the credential from an already salted password (what
    /// AlterUserScramCredentials carries). The salted password must be one
    /// hash long (32 bytes for SHA-256, 64 for SHA-512).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salted_password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, SaslError> {
        check_parameters(salt, iterations)?;
        if salted_password.len() != mechanism.hash_len() {
            return Err(SaslError::Config(format!(
                "a {} salted password is {} bytes, got {}",
                mechanism.name(),
                mechanism.hash_len(),
                salted_password.len()
            )));
        }
        let client_key = mechanism.hmac(salted_password, &[b"Client Key"]);
        Ok(Self {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted_password, &[b"Server Key"]),
            iterations,
        })
    }

    /// Whether the keys have the mechanism's hash length and the iteration
    /// count is at least Kafka's minimum (Kafka's server refuses such a
    /// credential; here it is treated as absent).
    pub(crate) fn fits(&self, mechanism: ScramMechanism) -> bool {
        self.iterations >= ScramMechanism::MIN_ITERATIONS
            && self.stored_key.len() == mechanism.hash_len()
            && self.server_key.len() == mechanism.hash_len()
            && !self.salt.is_empty()
    }
}

fn check_parameters(salt: &[u8], iterations: u32) -> Result<(), SaslError> {
    if salt.is_empty() {
        return Err(SaslError::Config("a SCRAM salt must not be empty".into()));
    }
    if iterations < ScramMechanism::MIN_ITERATIONS {
        return Err(SaslError::Config(format!(
            "Too few iterations: {iterations} (minimum {})",
            ScramMechanism::MIN_ITERATIONS
        )));
    }
    if iterations > ScramMechanism::MAX_ITERATIONS {
        return Err(SaslError::Config(format!(
            "Too many iterations: {iterations} (maximum {})",
            ScramMechanism::MAX_ITERATIONS
        )));
    }
    Ok(())
}

/// The iteration count a fake credential announces: Kafka's default for
/// `kafka-configs --add-config 'SCRAM-SHA-256=[password=...]'`.
const FAKE_ITERATIONS: u32 = 4096;
/// The salt length of a fake credential (what Kafka's tools generate).
const FAKE_SALT_LEN: usize = 32;

/// The per-process key fake credentials are derived under; `None` if the
/// OS has no randomness to give (then sessions cannot start).
fn fake_key() -> Option<&'static [u8; 32]> {
    static KEY: OnceLock<Option<[u8; 32]>> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).ok().map(|()| key)
    })
    .as_ref()
}

/// Whether fake credentials can be made (the OS gave randomness).
pub(crate) fn fake_credentials_available() -> bool {
    fake_key().is_some()
}

/// A credential for a user that does not exist: stable per user name and
/// process, indistinguishable on the wire from a real one, and matching
/// no password (its keys are random, not derived from any password).
pub(crate) fn fake_credential(mechanism: ScramMechanism, user: &str) -> ScramCredential {
    let key: &[u8] = fake_key().map_or(&[], |k| k.as_slice());
    let derive = |label: &[u8], len: usize| {
        let mut out = mechanism.hmac(key, &[label, mechanism.name().as_bytes(), user.as_bytes()]);
        out.resize(len, 0);
        out
    };
    ScramCredential {
        salt: derive(b"salt", FAKE_SALT_LEN),
        stored_key: derive(b"stored", mechanism.hash_len()),
        server_key: derive(b"server", mechanism.hash_len()),
        iterations: FAKE_ITERATIONS,
    }
}

/// A SCRAM `saslname` turned back into a user name (RFC 5802 §5.1: `=2C`
/// is `,` and `=3D` is `=`), as Kafka's `ScramFormatter.username`; `None`
/// for any other `=` escape.
pub fn username_from_saslname(saslname: &str) -> Option<String> {
    let mut out = String::with_capacity(saslname.len());
    let mut rest = saslname;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let escape = rest.get(pos..pos + 3)?;
        match escape {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return None,
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether a SCRAM client message has the attribute shape RFC 5802 §7
/// requires: every attribute `<letter>=<value>`, every saslname escape
/// complete. rsasl's parser indexes attributes without checking their
/// length (a client could make it panic with `n,,n,r` or a trailing
/// comma), so a message is checked here before rsasl sees it.
/// `first` selects the client-first grammar (a GS2 header, then `n=` and
/// `r=`); otherwise the client-final one (`c=`, `r=`, ..., `p=`).
pub(crate) fn well_formed_client_message(message: &[u8], first: bool) -> bool {
    let Ok(text) = std::str::from_utf8(message) else {
        return false;
    };
    let mut parts = text.split(',');
    let attribute = |part: &str| part.len() >= 2 && part.as_bytes()[1] == b'=';
    if first {
        let flag_ok = match parts.next() {
            Some("n") | Some("y") => true,
            Some(p) => p.starts_with("p=") && p.len() > 2,
            None => false,
        };
        let authzid_ok = match parts.next() {
            Some("") => true,
            Some(a) => a.starts_with("a=") && username_from_saslname(&a[2..]).is_some(),
            None => false,
        };
        let user_ok = match parts.next() {
            Some(n) => n.starts_with("n=") && username_from_saslname(&n[2..]).is_some(),
            None => false,
        };
        let nonce_ok = matches!(parts.next(), Some(r) if r.starts_with("r=") && r.len() > 2);
        flag_ok && authzid_ok && user_ok && nonce_ok && parts.all(attribute)
    } else {
        let parts: Vec<&str> = parts.collect();
        parts.len() >= 3
            && parts.iter().all(|p| attribute(p))
            && parts[0].starts_with("c=")
            && parts[1].starts_with("r=")
            && parts.last().is_some_and(|p| p.starts_with("p="))
    }
}
