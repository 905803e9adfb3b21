//! The principal of a TLS client: its certificate's subject as Java's
//! `X500Principal.getName()` prints it (RFC 2253), mapped by Kafka's
//! `ssl.principal.mapping.rules` (`SslPrincipalMapper`), as `User:<name>`.
//!
//! A connection without a client certificate (`ssl.client.auth=none`, or
//! `requested` and the client sent none) is `User:ANONYMOUS`, as in Kafka's
//! `DefaultKafkaPrincipalBuilder`; [`principal_for_peer`] applies that rule,
//! the broker stores the result in the connection's session.
//!
//! This module is NOT certificate verification (rustls did that before a
//! certificate reaches it) and NOT the authorizer: it only names the peer.
//!
//! Differences from Kafka, all at the edges: rule patterns are compiled by
//! the `regex` crate, so Java-only syntax (look-around, back-references,
//! possessive quantifiers, `\Q..\E`) is refused when the rules are parsed;
//! a replacement that Java would reject only when a DN reaches the rule
//! (`$9` with fewer groups, a dangling `\` or `$`) is refused at parse time
//! too; an empty match right after another match is skipped while
//! replacing, as the `regex` crate does (Java keeps it).

use std::fmt;

use regex::Regex;
use rustls_pki_types::CertificateDer;
use x509_cert::der::asn1::AnyRef;
use x509_cert::der::{Decode, Encode, Tagged};

use crate::SaslError;

/// The principal of a connection that presented no client certificate.
pub const ANONYMOUS_PRINCIPAL: &str = "User:ANONYMOUS";

/// Kafka's default `ssl.principal.mapping.rules`.
pub const DEFAULT_PRINCIPAL_MAPPING_RULES: &str = "DEFAULT";

/// Java's `\s`: ASCII whitespace only.
const JAVA_SPACE: &str = r"[ \t\n\x0B\x0C\r]";

/// One rule of Kafka's `SslPrincipalMapper.RULE_PATTERN`: group 1 `DEFAULT`,
/// 2 the pattern, 4 the replacement, 6 the case flag, 7 anything else.
const RULE_PATTERN: &str = r"(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)";

/// Parsed `ssl.principal.mapping.rules`: the first rule that matches a
/// distinguished name gives the principal name.
#[derive(Clone)]
pub struct PrincipalMappingRules {
    rules: Vec<Rule>,
}

#[derive(Clone)]
enum Rule {
    /// `DEFAULT`: the distinguished name unchanged.
    Default,
    /// `RULE:pattern/replacement/[LU]`.
    Replace(Box<ReplaceRule>),
}

#[derive(Clone)]
struct ReplaceRule {
    /// The pattern as written (for `Display`).
    pattern: String,
    /// The replacement as written (for `Display`).
    replacement: String,
    /// The pattern, for replacing (Java's `replaceAll`).
    regex: Regex,
    /// The pattern anchored at both ends (Java's `Matcher.matches`).
    full: Regex,
    /// The replacement, parsed once.
    template: Vec<Piece>,
    case: Case,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Group(usize),
}

impl PrincipalMappingRules {
    /// Parses `ssl.principal.mapping.rules` the way Kafka's
    /// `SslPrincipalMapper` does: comma-separated rules, surrounding spaces
    /// and empty rules ignored, `DEFAULT` or `RULE:pattern/replacement/`
    /// optionally followed by `L` or `U`, `\` escaping a `/` or a `,`
    /// inside a pattern or replacement. An empty string is no rule at all
    /// (every name then fails to map, as in Kafka).
    pub fn parse(rules: &str) -> Result<Self, SaslError> {
        let splitter = Regex::new(&format!(
            "{JAVA_SPACE}*({RULE_PATTERN}){JAVA_SPACE}*(,{JAVA_SPACE}*|$)"
        ))
        .map_err(|e| config(format!("rule splitter: {e}")))?;
        let parser = Regex::new(&format!(r"\A(?:{RULE_PATTERN})"))
            .map_err(|e| config(format!("rule parser: {e}")))?;
        let trimmed = rules.trim_matches(|c: char| c <= ' ');
        let mut parsed = Vec::new();
        for split in splitter.captures_iter(trimmed) {
            let Some(rule) = split.get(1).map(|m| m.as_str()) else {
                continue;
            };
            let Some(caps) = parser.captures(rule) else {
                return Err(config(format!("invalid rule: {rule}")));
            };
            let end = caps.get(0).map_or(0, |m| m.end());
            if end != rule.len() {
                return Err(config(format!(
                    "invalid rule: `{rule}`, unmatched substring: `{}`",
                    &rule[end..]
                )));
            }
            if caps.get(1).is_some() {
                parsed.push(Rule::Default);
            } else if let Some(pattern) = caps.get(2) {
                let replacement = caps.get(4).map_or("", |m| m.as_str());
                let case = match caps.get(6).map(|m| m.as_str()) {
                    Some("L") => Case::Lower,
                    Some("U") => Case::Upper,
                    _ => Case::Keep,
                };
                parsed.push(Rule::Replace(Box::new(ReplaceRule::new(
                    pattern.as_str(),
                    replacement,
                    case,
                )?)));
            }
            // Anything else is an empty rule: ignored, as in Kafka.
        }
        Ok(Self { rules: parsed })
    }

    /// The principal name (without `User:`) for a distinguished name: the
    /// result of the first rule whose pattern matches the whole name.
    /// No matching rule is an authentication failure, as Kafka's
    /// `NoMatchingRule`.
    pub fn apply(&self, distinguished_name: &str) -> Result<String, SaslError> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(distinguished_name.to_string()),
                Rule::Replace(rule) => {
                    if let Some(name) = rule.apply(distinguished_name) {
                        return Ok(name);
                    }
                }
            }
        }
        Err(SaslError::AuthenticationFailed(format!(
            "No rules apply to {distinguished_name}, rules {self}"
        )))
    }
}

impl Default for PrincipalMappingRules {
    /// `DEFAULT`: the distinguished name is the principal name.
    fn default() -> Self {
        Self {
            rules: vec![Rule::Default],
        }
    }
}

/// The rules as Kafka's `SslPrincipalMapper.toString` lists them, e.g.
/// `[RULE:^CN=(.*?),.*$/$1/L, DEFAULT]`.
impl fmt::Display for PrincipalMappingRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match rule {
                Rule::Default => f.write_str("DEFAULT")?,
                Rule::Replace(r) => {
                    write!(f, "RULE:{}/{}", r.pattern, r.replacement)?;
                    match r.case {
                        Case::Lower => f.write_str("/L")?,
                        Case::Upper => f.write_str("/U")?,
                        Case::Keep => {}
                    }
                }
            }
        }
        f.write_str("]")
    }
}

impl fmt::Debug for PrincipalMappingRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrincipalMappingRules({self})")
    }
}

impl ReplaceRule {
    fn new(pattern: &str, replacement: &str, case: Case) -> Result<Self, SaslError> {
        let bad = |e: &dyn fmt::Display| {
            config(format!(
                "rule RULE:{pattern}/{replacement}/: pattern not supported: {e}"
            ))
        };
        let regex = Regex::new(pattern).map_err(|e| bad(&e))?;
        let full = Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| bad(&e))?;
        let template = parse_replacement(&regex, replacement).map_err(|e| {
            config(format!(
                "rule RULE:{pattern}/{replacement}/: invalid replacement: {e}"
            ))
        })?;
        Ok(Self {
            pattern: pattern.to_string(),
            replacement: replacement.to_string(),
            regex,
            full,
            template,
            case,
        })
    }

    fn apply(&self, name: &str) -> Option<String> {
        if !self.full.is_match(name) {
            return None;
        }
        // Java's `name.replaceAll(pattern, replacement)`.
        let mut out = String::with_capacity(name.len());
        let mut last = 0;
        for caps in self.regex.captures_iter(name) {
            let Some(whole) = caps.get(0) else { continue };
            out.push_str(&name[last..whole.start()]);
            for piece in &self.template {
                match piece {
                    Piece::Literal(text) => out.push_str(text),
                    Piece::Group(i) => {
                        if let Some(m) = caps.get(*i) {
                            out.push_str(m.as_str());
                        }
                    }
                }
            }
            last = whole.end();
        }
        out.push_str(&name[last..]);
        Some(match self.case {
            Case::Keep => out,
            Case::Lower => out.to_lowercase(),
            Case::Upper => out.to_uppercase(),
        })
    }
}

/// Kafka's `escapeLiteralBackReferences` (a `$n` naming a group the pattern
/// does not have is made literal, after dropping trailing digits while the
/// number is over the group count and at least 10), then Java's replacement
/// syntax (`\x` is `x`, `$n` takes as many digits as name an existing
/// group, `${name}` a named group).
fn parse_replacement(regex: &Regex, replacement: &str) -> Result<Vec<Piece>, String> {
    let groups = regex.captures_len() - 1;
    let escaped = escape_literal_back_references(replacement, groups)?;
    let chars: Vec<char> = escaped.chars().collect();
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let Some(&c) = chars.get(i + 1) else {
                    return Err("character to be escaped is missing".into());
                };
                literal.push(c);
                i += 2;
            }
            '$' => {
                i += 1;
                let Some(&first) = chars.get(i) else {
                    return Err("illegal group reference: group index is missing".into());
                };
                let group = if first == '{' {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err("named capturing group has 0 length name".into());
                    }
                    if chars.get(i) != Some(&'}') {
                        return Err("named capturing group is missing trailing '}'".into());
                    }
                    i += 1;
                    regex
                        .capture_names()
                        .position(|n| n == Some(name.as_str()))
                        .ok_or_else(|| format!("no group with name {{{name}}}"))?
                } else {
                    let Some(mut number) = first.to_digit(10).map(|d| d as usize) else {
                        return Err("illegal group reference".into());
                    };
                    if number > groups {
                        return Err(format!("no group {number}"));
                    }
                    i += 1;
                    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                        let longer = number * 10 + d as usize;
                        if longer > groups {
                            break;
                        }
                        number = longer;
                        i += 1;
                    }
                    number
                };
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(group));
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// Kafka's `SslPrincipalMapper.Rule.escapeLiteralBackReferences`, including
/// its use of positions in the original string after an earlier insertion.
fn escape_literal_back_references(value: &str, groups: usize) -> Result<String, String> {
    if groups == 0 {
        return Ok(value.to_string());
    }
    let back_reference = Regex::new(r"\$(\d+)").map_err(|e| e.to_string())?;
    let mut out = value.to_string();
    for caps in back_reference.captures_iter(value) {
        let Some(digits) = caps.get(1) else { continue };
        if digits.as_str().starts_with('0') {
            continue;
        }
        let mut index: u64 = digits
            .as_str()
            .parse()
            .map_err(|_| format!("group reference ${} is too large", digits.as_str()))?;
        let groups = groups as u64;
        while index > groups && index >= 10 {
            index /= 10;
        }
        if index > groups {
            let at = digits.start() - 1;
            if at <= out.len() && out.is_char_boundary(at) {
                out.insert(at, '\\');
            }
        }
    }
    Ok(out)
}

/// The subject of a DER certificate exactly as Java's
/// `X500Principal.getName()` (RFC 2253) prints it, which is the string
/// Kafka's mapping rules see: the most specific RDN first
/// (`CN=alice,OU=eng,O=Example,C=US`), multi-valued RDNs joined by `+` in
/// encoded order, keywords only for CN, C, L, ST, O, OU, STREET, DC and UID
/// (any other attribute, e.g. emailAddress, is its dotted OID with `#` and
/// the value's DER in lower-case hex), `,=+<>#;"\` escaped with `\`, a
/// leading or trailing space (or CR) escaped, NUL as `\00`.
pub fn subject_name(cert_der: &[u8]) -> Result<String, SaslError> {
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| SaslError::AuthenticationFailed(format!("invalid client certificate: {e}")))?;
    let rdns = &cert.tbs_certificate.subject.0;
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, ava) in rdn.0.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = ava.oid.to_string();
            let value: AnyRef<'_> = (&ava.value).into();
            push_ava(&mut out, &oid, value)?;
        }
    }
    Ok(out)
}

/// `User:<mapped subject>` for a client certificate.
pub fn principal_for_certificate(
    cert_der: &[u8],
    rules: &PrincipalMappingRules,
) -> Result<String, SaslError> {
    Ok(format!("User:{}", rules.apply(&subject_name(cert_der)?)?))
}

/// The principal of a TLS connection from the peer's certificate chain as
/// rustls reports it (`ServerConnection::peer_certificates`): the mapped
/// subject of the first (end-entity) certificate, or `User:ANONYMOUS`
/// when the client sent none.
pub fn principal_for_peer(
    peer_certificates: Option<&[CertificateDer<'_>]>,
    rules: &PrincipalMappingRules,
) -> Result<String, SaslError> {
    match peer_certificates.and_then(|chain| chain.first()) {
        Some(leaf) => principal_for_certificate(leaf.as_ref(), rules),
        None => Ok(ANONYMOUS_PRINCIPAL.to_string()),
    }
}

/// RFC 2253 keywords Java prints (`AVAKeyword` entries flagged RFC 2253).
fn rfc2253_keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// DER string types Java prints as text in RFC 2253 (`AVA.isDerString`,
/// non-canonical): PrintableString, T61String, IA5String, GeneralString,
/// BMPString, UTF8String.
fn is_der_string(tag: u8) -> bool {
    matches!(tag, 0x13 | 0x14 | 0x16 | 0x1B | 0x1E | 0x0C)
}

fn push_ava(out: &mut String, oid: &str, value: AnyRef<'_>) -> Result<(), SaslError> {
    let keyword = rfc2253_keyword(oid);
    out.push_str(keyword.unwrap_or(oid));
    out.push('=');
    if keyword.is_none() || !is_der_string(value.tag().octet()) {
        let der = value.to_der().map_err(|e| {
            SaslError::AuthenticationFailed(format!("invalid client certificate: {e}"))
        })?;
        out.push('#');
        for b in der {
            out.push_str(&format!("{b:02x}"));
        }
        return Ok(());
    }
    // Java decodes the value bytes as UTF-8 whatever the string type.
    let text = String::from_utf8_lossy(value.value());
    let mut escaped: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ",=+<>#;\"\\".contains(c) {
            escaped.push('\\');
            escaped.push(c);
        } else if c == '\0' {
            escaped.extend(['\\', '0', '0']);
        } else {
            escaped.push(c);
        }
    }
    let blank = |c: &char| *c == ' ' || *c == '\r';
    let lead = escaped.iter().take_while(|c| blank(c)).count();
    let trail = escaped.len() - escaped.iter().rev().take_while(|c| blank(c)).count();
    for (i, c) in escaped.iter().enumerate() {
        if i < lead || i >= trail {
            out.push('\\');
        }
        out.push(*c);
    }
    Ok(())
}

fn config(message: String) -> SaslError {
    SaslError::Config(format!("ssl.principal.mapping.rules: {message}"))
}
