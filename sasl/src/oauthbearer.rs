//! SASL/OAUTHBEARER (RFC 7628) with JWT bearer tokens, the way Kafka's
//! broker validates them (`OAuthBearerSaslServer` + its JWT validator,
//! KIP-768, `BrokerJwtValidator`): signature by a key from a JWKS file or
//! PEM public keys (picked by the token's `kid`; `alg: none` and HMAC
//! never), `exp` and `iat` required, `exp` not past and `nbf` / `iat` not
//! in the future, with `sasl.oauthbearer.clock.skew.seconds` of leeway, the expected
//! issuer and audience if configured, and the principal from the
//! `sasl.oauthbearer.sub.claim.name` claim.
//!
//! The exchange: the client sends `n,[a=<authzid>],\x01auth=Bearer
//! <token>\x01[key=value\x01...]\x01`. A valid token ends it with an empty
//! response; an invalid one is answered, as Kafka does, with the challenge
//! `{"status":"invalid_token"}`, the client replies `\x01`, and the
//! exchange fails with that JSON as the message.
//!
//! Keys are files only: Kafka's `sasl.oauthbearer.jwks.endpoint.url` with a
//! `file:` URL. The JWKS file is re-read when its modification time
//! changes ([`JwtValidator::reload_if_changed`], also checked by
//! [`JwtValidator::validate`] at most once per
//! [`OAuthConfig::reload_check_interval`]).
//! This module does NOT fetch keys over HTTPS, does not introspect opaque
//! tokens and does not issue tokens; HMAC (`oct`) keys are refused.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::mechanism::{Mechanism, Step};
use crate::SaslError;

/// How often [`JwtValidator::validate`] looks at the key files' times.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The RFC 7628 error Kafka's server sends for a token it rejects.
pub const INVALID_TOKEN_CHALLENGE: &str = r#"{"status":"invalid_token"}"#;

/// Where the token signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A JWKS document (RFC 7517), `sasl.oauthbearer.jwks.endpoint.url`
    /// with a `file:` URL. Reloaded when it changes.
    JwksFile(PathBuf),
    /// PEM public keys (RSA, EC P-256/P-384 or Ed25519), one per file,
    /// without key ids. Reloaded when one changes.
    PemFiles(Vec<PathBuf>),
}

/// Token validation settings, after Kafka's `sasl.oauthbearer.*` broker
/// keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The signing keys.
    pub keys: KeySource,
    /// `sasl.oauthbearer.expected.issuer`: the required `iss`, if set.
    pub expected_issuer: Option<String>,
    /// `sasl.oauthbearer.expected.audience`: if not empty, `aud` must
    /// contain one of these.
    pub expected_audience: Vec<String>,
    /// `sasl.oauthbearer.clock.skew.seconds` (default 30 s).
    pub clock_skew: Duration,
    /// `sasl.oauthbearer.sub.claim.name` (default `sub`).
    pub sub_claim: String,
    /// `sasl.oauthbearer.scope.claim.name` (default `scope`).
    pub scope_claim: String,
    /// How often `validate` checks whether the key files changed (default
    /// [`RELOAD_CHECK_INTERVAL`]); a file's modification time is cheap to
    /// read, so this replaces Kafka's hourly `jwks.endpoint.refresh.ms`.
    pub reload_check_interval: Duration,
}

impl OAuthConfig {
    /// Kafka's defaults around a key source.
    pub fn new(keys: KeySource) -> Self {
        Self {
            keys,
            expected_issuer: None,
            expected_audience: Vec::new(),
            clock_skew: Duration::from_secs(30),
            sub_claim: "sub".into(),
            scope_claim: "scope".into(),
            reload_check_interval: RELOAD_CHECK_INTERVAL,
        }
    }

    /// Reads Kafka's broker keys (any `listener.name.<l>.oauthbearer.`
    /// prefix resolved by the caller): `sasl.oauthbearer.jwks.endpoint.url`
    /// (a `file:` URL; other schemes are refused),
    /// `sasl.oauthbearer.expected.issuer`,
    /// `sasl.oauthbearer.expected.audience` (comma-separated),
    /// `sasl.oauthbearer.clock.skew.seconds`,
    /// `sasl.oauthbearer.sub.claim.name`, `sasl.oauthbearer.scope.claim.name`.
    pub fn from_props(props: &BTreeMap<String, String>) -> Result<Self, SaslError> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let url = get("sasl.oauthbearer.jwks.endpoint.url").ok_or_else(|| {
            SaslError::Config("OAUTHBEARER needs sasl.oauthbearer.jwks.endpoint.url".into())
        })?;
        let path = url.strip_prefix("file:").ok_or_else(|| {
            SaslError::Config(format!(
                "sasl.oauthbearer.jwks.endpoint.url={url}: only file: URLs are supported"
            ))
        })?;
        // file:/x, file:///x and file://localhost/x all name /x.
        let path = path
            .strip_prefix("//localhost")
            .or_else(|| path.strip_prefix("//"))
            .unwrap_or(path);
        let mut config = Self::new(KeySource::JwksFile(PathBuf::from(path)));
        config.expected_issuer = get("sasl.oauthbearer.expected.issuer").map(str::to_string);
        if let Some(aud) = get("sasl.oauthbearer.expected.audience") {
            config.expected_audience = aud
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(skew) = get("sasl.oauthbearer.clock.skew.seconds") {
            let secs: u64 = skew.parse().map_err(|_| {
                SaslError::Config(format!(
                    "Invalid value {skew} for configuration sasl.oauthbearer.clock.skew.seconds: Not a number of type INT"
                ))
            })?;
            config.clock_skew = Duration::from_secs(secs);
        }
        if let Some(sub) = get("sasl.oauthbearer.sub.claim.name") {
            config.sub_claim = sub.to_string();
        }
        if let Some(scope) = get("sasl.oauthbearer.scope.claim.name") {
            config.scope_claim = scope.to_string();
        }
        Ok(config)
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedToken {
    /// `User:<sub claim>`.
    pub principal: String,
    /// The token's `exp`.
    pub expires_at: SystemTime,
    /// The scope claim: a string (one scope, as Kafka reads it) or a list
    /// of strings.
    pub scopes: Vec<String>,
}

struct VerificationKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

struct KeyState {
    keys: Arc<Vec<VerificationKey>>,
    modified: Vec<Option<SystemTime>>,
    last_check: Instant,
}

/// Validates JWT bearer tokens against the configured keys.
pub struct JwtValidator {
    config: OAuthConfig,
    state: Mutex<KeyState>,
}

impl std::fmt::Debug for JwtValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtValidator")
            .field("config", &self.config)
            .finish()
    }
}

impl JwtValidator {
    /// Loads the keys; a missing or unusable key file is an error.
    pub fn new(config: OAuthConfig) -> Result<Self, SaslError> {
        let modified = modification_times(&config.keys);
        let keys = load_keys(&config.keys)?;
        Ok(Self {
            config,
            state: Mutex::new(KeyState {
                keys: Arc::new(keys),
                modified,
                last_check: Instant::now(),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// Re-reads the key files if a modification time changed; `Ok(true)`
    /// if new keys are in use. A file that cannot be loaded keeps the old
    /// keys in use and is an error (retried at the next change).
    pub fn reload_if_changed(&self) -> Result<bool, SaslError> {
        let mut state = self.lock();
        state.last_check = Instant::now();
        let modified = modification_times(&self.config.keys);
        if modified == state.modified {
            return Ok(false);
        }
        state.modified = modified;
        let keys = load_keys(&self.config.keys)?;
        state.keys = Arc::new(keys);
        tracing::info!(keys = ?self.config.keys, "OAUTHBEARER signing keys reloaded");
        Ok(true)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyState> {
        // The state is replaced whole, so a poisoned lock holds a
        // consistent value.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current_keys(&self) -> Arc<Vec<VerificationKey>> {
        let due = self.lock().last_check.elapsed() >= self.config.reload_check_interval;
        if due {
            if let Err(e) = self.reload_if_changed() {
                tracing::warn!(error = %e, "OAUTHBEARER keys not reloaded; the previous keys stay in use");
            }
        }
        self.lock().keys.clone()
    }

    /// Validates `token` at time `now`. The error message says why (for
    /// the log); the client only ever sees [`INVALID_TOKEN_CHALLENGE`].
    pub fn validate(&self, token: &str, now: SystemTime) -> Result<ValidatedToken, SaslError> {
        let fail = |why: String| SaslError::AuthenticationFailed(why);
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| fail(format!("malformed token header: {e}")))?;
        let keys = self.current_keys();
        let with_kid: Vec<&VerificationKey> = match &header.kid {
            Some(kid) => keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                .collect(),
            None => Vec::new(),
        };
        let candidates: Vec<&VerificationKey> = if with_kid.is_empty() {
            keys.iter().filter(|k| k.kid.is_none()).collect()
        } else {
            with_kid
        };
        let candidates: Vec<&VerificationKey> = candidates
            .into_iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .collect();
        if candidates.is_empty() {
            return Err(fail(format!(
                "no key for kid {:?} and algorithm {:?}",
                header.kid, header.alg
            )));
        }
        let mut last_error = String::new();
        for key in candidates {
            let mut validation = Validation::new(header.alg);
            validation.algorithms = key.algorithms.clone();
            // Time is checked below against `now`, with Kafka's skew.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation.required_spec_claims = HashSet::new();
            validation.validate_aud = !self.config.expected_audience.is_empty();
            // A configured issuer or audience is also a required claim
            // (jsonwebtoken alone skips a check whose claim is absent).
            if validation.validate_aud {
                validation.set_audience(&self.config.expected_audience);
                validation.required_spec_claims.insert("aud".into());
            }
            if let Some(iss) = &self.config.expected_issuer {
                validation.set_issuer(&[iss]);
                validation.required_spec_claims.insert("iss".into());
            }
            match jsonwebtoken::decode::<serde_json::Value>(token, &key.key, &validation) {
                Ok(data) => return self.check_claims(&data.claims, now),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(fail(format!("token rejected: {last_error}")))
    }

    fn check_claims(
        &self,
        claims: &serde_json::Value,
        now: SystemTime,
    ) -> Result<ValidatedToken, SaslError> {
        let fail = |why: String| SaslError::AuthenticationFailed(why);
        let now_secs = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let skew = self.config.clock_skew.as_secs_f64();
        let time = |name: &str| -> Result<Option<f64>, SaslError> {
            match claims.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .map(Some)
                    .ok_or_else(|| fail(format!("claim {name} is not a NumericDate"))),
            }
        };
        let exp = time("exp")?.ok_or_else(|| fail("token has no exp claim".into()))?;
        if now_secs > exp + skew {
            return Err(fail(format!("token expired at {exp}")));
        }
        if let Some(nbf) = time("nbf")? {
            if nbf > now_secs + skew {
                return Err(fail(format!("token not valid before {nbf}")));
            }
        }
        let iat = time("iat")?.ok_or_else(|| fail("token has no iat claim".into()))?;
        if iat > now_secs + skew {
            return Err(fail(format!("token issued in the future ({iat})")));
        }
        let sub = claims
            .get(&self.config.sub_claim)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| fail(format!("token has no {} claim", self.config.sub_claim)))?;
        let scopes = match claims.get(&self.config.scope_claim) {
            // As Kafka: a string claim is one scope, not split on spaces.
            Some(serde_json::Value::String(s)) => vec![s.trim().to_string()],
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Ok(ValidatedToken {
            principal: format!("User:{sub}"),
            expires_at: UNIX_EPOCH + Duration::from_secs_f64(exp),
            scopes,
        })
    }
}

fn modification_times(source: &KeySource) -> Vec<Option<SystemTime>> {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match source {
        KeySource::JwksFile(path) => vec![mtime(path)],
        KeySource::PemFiles(paths) => paths.iter().map(|p| mtime(p)).collect(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, SaslError> {
    std::fs::read(path).map_err(|source| SaslError::Io {
        path: path.to_path_buf(),
        source,
    })
}

const RSA_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

fn load_keys(source: &KeySource) -> Result<Vec<VerificationKey>, SaslError> {
    let keys = match source {
        KeySource::JwksFile(path) => {
            let text = read(path)?;
            let set: JwkSet = serde_json::from_slice(&text).map_err(|e| {
                SaslError::Config(format!("{}: not a JWKS document: {e}", path.display()))
            })?;
            let mut keys = Vec::new();
            for jwk in &set.keys {
                let algorithms = match (&jwk.algorithm, jwk.common.key_algorithm) {
                    (AlgorithmParameters::OctetKey(_), _) => continue,
                    (_, Some(alg)) => key_algorithm(alg).into_iter().collect(),
                    (AlgorithmParameters::RSA(_), None) => RSA_ALGORITHMS.to_vec(),
                    (AlgorithmParameters::EllipticCurve(ec), None) => match ec.curve {
                        EllipticCurve::P256 => vec![Algorithm::ES256],
                        EllipticCurve::P384 => vec![Algorithm::ES384],
                        _ => continue,
                    },
                    (AlgorithmParameters::OctetKeyPair(_), None) => vec![Algorithm::EdDSA],
                };
                let Ok(key) = DecodingKey::from_jwk(jwk) else {
                    tracing::warn!(kid = ?jwk.common.key_id, file = %path.display(), "JWKS key skipped: unusable");
                    continue;
                };
                keys.push(VerificationKey {
                    kid: jwk.common.key_id.clone(),
                    key,
                    algorithms,
                });
            }
            keys
        }
        KeySource::PemFiles(paths) => {
            let mut keys = Vec::new();
            for path in paths {
                let pem = read(path)?;
                let (key, algorithms) = if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
                    (k, RSA_ALGORITHMS.to_vec())
                } else if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
                    (k, vec![Algorithm::ES256, Algorithm::ES384])
                } else if let Ok(k) = DecodingKey::from_ed_pem(&pem) {
                    (k, vec![Algorithm::EdDSA])
                } else {
                    return Err(SaslError::Config(format!(
                        "{}: not a PEM RSA, EC or Ed25519 public key",
                        path.display()
                    )));
                };
                keys.push(VerificationKey {
                    kid: None,
                    key,
                    algorithms,
                });
            }
            keys
        }
    };
    if keys.is_empty() {
        return Err(SaslError::Config(format!(
            "{source:?}: no usable public signing key"
        )));
    }
    Ok(keys)
}

fn key_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// The OAUTHBEARER server exchange (see the module docs).
pub(crate) struct OAuthBearerServer {
    validator: Arc<JwtValidator>,
    /// The error challenge sent, awaiting the client's `\x01`.
    error_sent: Option<String>,
}

impl OAuthBearerServer {
    pub(crate) fn new(validator: Arc<JwtValidator>) -> Self {
        Self {
            validator,
            error_sent: None,
        }
    }

    pub(crate) fn step(&mut self, message: &[u8], now: SystemTime) -> Result<Step, SaslError> {
        if let Some(error) = self.error_sent.take() {
            if message == [0x01] {
                return Err(SaslError::AuthenticationFailed(error));
            }
            // Kafka's server reads anything else as a new initial response.
        }
        let generic = || SaslError::AuthenticationFailed(Mechanism::OAuthBearer.generic_failure());
        let initial = parse_initial_response(message).ok_or_else(generic)?;
        match self.validator.validate(initial.token, now) {
            Ok(token) => {
                if let Some(authzid) = initial.authzid {
                    if Some(authzid) != token.principal.strip_prefix("User:") {
                        return Err(SaslError::AuthenticationFailed(format!(
                            "Authentication failed: Client requested an authorization id ({authzid}) that is different from the token's principal name ({})",
                            token.principal.strip_prefix("User:").unwrap_or_default()
                        )));
                    }
                }
                Ok(Step::Done {
                    response: Vec::new(),
                    principal: token.principal,
                    expires_at: Some(token.expires_at),
                })
            }
            Err(e) => {
                tracing::debug!(error = %e, "OAUTHBEARER token rejected");
                self.error_sent = Some(INVALID_TOKEN_CHALLENGE.to_string());
                Ok(Step::Continue(INVALID_TOKEN_CHALLENGE.as_bytes().to_vec()))
            }
        }
    }
}

/// An RFC 7628 client initial response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InitialResponse<'a> {
    pub(crate) authzid: Option<&'a str>,
    pub(crate) token: &'a str,
    pub(crate) extensions: Vec<(&'a str, &'a str)>,
}

/// Parses `n,[a=<saslname>],\x01(key=value\x01)*\x01` with an
/// `auth=Bearer <token>` pair, with the character classes of Kafka's
/// `OAuthBearerClientInitialResponse`.
pub(crate) fn parse_initial_response(message: &[u8]) -> Option<InitialResponse<'_>> {
    let text = std::str::from_utf8(message).ok()?;
    let rest = text.strip_prefix("n,")?;
    let (gs2_authzid, rest) = rest.split_once(",\u{1}")?;
    let authzid = match gs2_authzid {
        "" => None,
        a => {
            let name = a.strip_prefix("a=")?;
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| (c as u32) >= 1 && (c as u32) <= 0x7f && c != ',');
            if !valid {
                return None;
            }
            Some(name)
        }
    };
    let pairs = rest.strip_suffix('\u{1}')?;
    let mut token = None;
    let mut extensions = Vec::new();
    if !pairs.is_empty() {
        for pair in pairs.strip_suffix('\u{1}')?.split('\u{1}') {
            let (key, value) = pair.split_once('=')?;
            let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphabetic());
            let value_ok = !value.is_empty()
                && value
                    .chars()
                    .all(|c| matches!(c, '\x21'..='\x7e' | ' ' | '\t' | '\r' | '\n'));
            if !key_ok || !value_ok {
                return None;
            }
            if key == "auth" {
                let (scheme, value) = value.split_once(' ')?;
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return None;
                }
                let value = value.trim_start_matches(' ');
                let token_ok = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if !token_ok {
                    return None;
                }
                token = Some(value);
            } else {
                extensions.push((key, value));
            }
        }
    }
    Some(InitialResponse {
        authzid,
        token: token?,
        extensions,
    })
}
