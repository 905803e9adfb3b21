//! Kafka's `sasl.jaas.config` values, as far as a broker reads them: one
//! login module entry, `<class> <flag> key="value" ...;`.
//!
//! The broker uses two kinds of options: PLAIN's server user table
//! (`user_<name>="<password>"`, Kafka's `PlainServerCallbackHandler`) and
//! the `username`/`password` a node sends when it is itself the client
//! (inter-broker and controller links). This module parses; it does not
//! decide which key applies to which listener (`listener.rs`), and it
//! never logs a value (values are passwords).

use std::collections::BTreeMap;

use crate::error::BrokerError;

/// One parsed JAAS login module entry.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasEntry {
    /// The login module class, e.g.
    /// `org.apache.kafka.common.security.plain.PlainLoginModule`.
    pub module: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// The options, in key order.
    pub options: BTreeMap<String, String>,
}

/// Never prints option values (they are passwords).
impl std::fmt::Debug for JaasEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JaasEntry")
            .field("module", &self.module)
            .field("flag", &self.flag)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JaasEntry {
    /// Parses `value`, the configuration key `key` (named in errors, the
    /// value never is). As in Kafka (`JaasConfig`), exactly one entry,
    /// ended by `;`, option values quoted or bare words.
    pub fn parse(key: &str, value: &str) -> Result<Self, BrokerError> {
        let bad = |why: &str| BrokerError::Config(format!("{key}: {why}"));
        let mut chars = value.trim().chars().peekable();
        let word = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut w = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '=' || c == ';' || c == '"' {
                    break;
                }
                w.push(c);
                chars.next();
            }
            w
        };
        let module = word(&mut chars);
        let flag = word(&mut chars).to_ascii_lowercase();
        if module.is_empty()
            || !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str())
        {
            return Err(bad(
                "expected '<LoginModule class> required key=\"value\" ...;'",
            ));
        }
        let mut options = BTreeMap::new();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.peek() {
                Some(';') => {
                    chars.next();
                    break;
                }
                None => return Err(bad("the login module entry must end with ';'")),
                _ => {}
            }
            let name = word(&mut chars);
            if name.is_empty() || chars.next() != Some('=') {
                return Err(bad("expected key=value options"));
            }
            let value = if chars.peek() == Some(&'"') {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => v.push(c),
                            None => return Err(bad("unterminated quoted value")),
                        },
                        Some(c) => v.push(c),
                        None => return Err(bad("unterminated quoted value")),
                    }
                }
                v
            } else {
                let v = word(&mut chars);
                if v.is_empty() {
                    return Err(bad(&format!("option {name} has no value")));
                }
                v
            };
            options.insert(name, value);
        }
        if chars.any(|c| !c.is_whitespace()) {
            return Err(bad(
                "only one login module entry is allowed (JAAS config entry count should be 1)",
            ));
        }
        Ok(JaasEntry {
            module,
            flag,
            options,
        })
    }

    /// PLAIN's user table: `user_<name>` → password.
    pub fn plain_users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect()
    }

    /// The `username` / `password` pair this node logs in with as a client.
    pub fn client_login(&self) -> Option<(String, String)> {
        Some((
            self.options.get("username")?.clone(),
            self.options.get("password")?.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_entries_parse() {
        let e = JaasEntry::parse(
            "k",
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
               username="admin" password="admin-secret" user_admin="admin-secret"
               user_alice="al\"ice" debug=true;"#,
        )
        .expect("parse");
        assert_eq!(
            e.module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(e.flag, "required");
        let users = e.plain_users();
        assert_eq!(users.get("admin").map(String::as_str), Some("admin-secret"));
        assert_eq!(users.get("alice").map(String::as_str), Some("al\"ice"));
        assert_eq!(users.len(), 2);
        assert_eq!(
            e.client_login(),
            Some(("admin".to_string(), "admin-secret".to_string()))
        );
        assert_eq!(e.options.get("debug").map(String::as_str), Some("true"));
        assert!(!format!("{e:?}").contains("secret"));
    }

    #[test]
    fn malformed_entries_are_refused_without_echoing_values() {
        for bad in [
            "",
            "Module",
            "Module sometimes a=\"b\";",
            "Module required a=\"b\"",
            "Module required a=\"unterminated;",
            "Module required a=;",
            "Module required a=\"b\"; Other required c=\"d\";",
        ] {
            let err = JaasEntry::parse("listener.name.x.plain.sasl.jaas.config", bad)
                .expect_err(bad)
                .to_string();
            assert!(
                err.contains("listener.name.x.plain.sasl.jaas.config: "),
                "{err}"
            );
            assert!(!err.contains("\"b\""), "{err}");
        }
    }
}
