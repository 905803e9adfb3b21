//! Turns a value's `{:?}` rendering into a flat list of `path = value`
//! fields, so two Kafka responses (any `kafka-protocol` message: they all
//! derive `Debug`) can be compared field by field without a hand-written
//! walker per message type.
//!
//! The parser understands what `#[derive(Debug)]` and the standard library
//! print: structs `Name { a: 1 }`, tuple structs and `Some(x)`, lists
//! `[..]`, maps `{k: v}`, strings and byte strings with escapes, and bare
//! atoms (numbers, `true`, `None`, UUIDs). It is not a general Rust parser
//! and does not need to be: input it cannot read is an error, never a
//! silently shorter field list.
//!
//! Flattening rules: struct fields become `.field`, list elements `[i]`,
//! or `[key]` when every element is a struct with a distinct identifying
//! field ([`KEY_FIELDS`], e.g. a topic's `name`), so lists compare by
//! identity rather than by position; `Some(x)` is `x`; every list and map
//! also yields `path.len`. Strings keep their quotes, so the string
//! `"None"` and the absent value `None` stay different.

/// Fields that identify a list element, in order of preference.
pub const KEY_FIELDS: &[&str] = &[
    "name",
    "api_key",
    "partition_index",
    "index",
    "topic",
    "group_id",
    "transactional_id",
    "partition",
    "resource_name",
    "config_name",
    "member_id",
];

/// A parsed `Debug` value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `Name { field: value, .. }` (or a unit struct `Name` as an atom).
    Struct(Vec<(String, Node)>),
    /// `Name(a, b)` or `(a, b)`; `Some(x)` is `Tuple("Some", [x])`.
    Tuple(String, Vec<Node>),
    /// `[a, b]`.
    List(Vec<Node>),
    /// `{k: v}`.
    Map(Vec<(Node, Node)>),
    /// A string literal, unescaped, with its quotes and `b` prefix kept
    /// in the rendering.
    Text(String),
    /// Anything else: numbers, booleans, `None`, UUIDs.
    Atom(String),
}

/// Why a rendering could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the input.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.at)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn err(&self, expected: &'static str) -> ParseError {
        ParseError {
            at: self.at,
            expected,
        }
    }

    fn skip_ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err("a value")),
            Some(b'[') => {
                self.at += 1;
                let items = self.sequence(b']', |p| p.value())?;
                Ok(Node::List(items))
            }
            Some(b'{') => {
                self.at += 1;
                let entries = self.sequence(b'}', |p| {
                    let k = p.value()?;
                    p.expect(b':', "':' in a map")?;
                    Ok((k, p.value()?))
                })?;
                Ok(Node::Map(entries))
            }
            Some(b'(') => {
                self.at += 1;
                let items = self.sequence(b')', |p| p.value())?;
                Ok(Node::Tuple(String::new(), items))
            }
            Some(b'"') => self.text("\""),
            Some(b'b') if self.s.get(self.at + 1) == Some(&b'"') => {
                self.at += 1;
                self.text("b\"")
            }
            Some(_) => {
                let atom = self.atom()?;
                self.skip_ws();
                match self.peek() {
                    Some(b'{') if starts_ident(&atom) => {
                        self.at += 1;
                        let fields = self.sequence(b'}', |p| {
                            p.skip_ws();
                            let name = p.atom()?;
                            p.expect(b':', "':' after a field name")?;
                            Ok((name, p.value()?))
                        })?;
                        Ok(Node::Struct(fields))
                    }
                    Some(b'(') if starts_ident(&atom) => {
                        self.at += 1;
                        let items = self.sequence(b')', |p| p.value())?;
                        Ok(Node::Tuple(atom, items))
                    }
                    _ => Ok(Node::Atom(atom)),
                }
            }
        }
    }

    /// Items separated by commas (a trailing comma allowed) up to `close`.
    fn sequence<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(out);
            }
            out.push(item(self)?);
            if self.eat(b',') {
                continue;
            }
            if self.eat(close) {
                return Ok(out);
            }
            return Err(self.err("',' or a closing bracket"));
        }
    }

    fn atom(&mut self) -> Result<String, ParseError> {
        let start = self.at;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || b",:{}[]()\"".contains(&c) {
                break;
            }
            self.at += 1;
        }
        if self.at == start {
            return Err(self.err("an atom"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    /// A quoted literal; the escapes are kept as written (both sides are
    /// rendered by the same code, so equal text means equal values).
    fn text(&mut self, open: &str) -> Result<Node, ParseError> {
        let start = self.at;
        self.at += 1; // the quote
        loop {
            match self.peek() {
                None => return Err(self.err("a closing quote")),
                Some(b'\\') => self.at += 2,
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(_) => self.at += 1,
            }
        }
        let body = String::from_utf8_lossy(&self.s[start + 1..self.at - 1]).into_owned();
        Ok(Node::Text(format!("{open}{body}\"")))
    }
}

fn starts_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Parses one `{:?}` rendering.
pub fn parse(rendering: &str) -> Result<Node, ParseError> {
    let mut p = Parser {
        s: rendering.as_bytes(),
        at: 0,
    };
    let v = p.value()?;
    p.skip_ws();
    if p.at != p.s.len() {
        return Err(p.err("the end of the input"));
    }
    Ok(v)
}

/// A field's rendering as a plain value: text and atoms as written.
fn scalar(n: &Node) -> Option<String> {
    match n {
        Node::Text(s) | Node::Atom(s) => Some(s.clone()),
        Node::Tuple(name, items) if name == "Some" && items.len() == 1 => scalar(&items[0]),
        _ => None,
    }
}

/// The label of each element of `items` by identity, when every element is
/// a struct with the same identifying field and the values are distinct.
fn element_keys(items: &[Node]) -> Option<Vec<String>> {
    if items.is_empty() {
        return None;
    }
    for key in KEY_FIELDS {
        let labels: Option<Vec<String>> = items
            .iter()
            .map(|n| match n {
                Node::Struct(fields) => fields
                    .iter()
                    .find(|(f, _)| f == key)
                    .and_then(|(_, v)| scalar(v))
                    .map(|s| s.trim_matches('"').to_string()),
                _ => None,
            })
            .collect();
        if let Some(labels) = labels {
            let mut sorted = labels.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() == labels.len() {
                return Some(labels);
            }
        }
    }
    None
}

/// Flattens `node` under `prefix` into `out` as `(path, value)` pairs.
pub fn flatten(prefix: &str, node: &Node, out: &mut Vec<(String, String)>) {
    match node {
        Node::Text(s) | Node::Atom(s) => out.push((prefix.to_string(), s.clone())),
        Node::Struct(fields) => {
            for (name, v) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, v, out);
            }
        }
        Node::Tuple(_, items) if items.is_empty() => out.push((prefix.to_string(), "()".into())),
        Node::Tuple(_, items) if items.len() == 1 => flatten(prefix, &items[0], out),
        Node::Tuple(_, items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out);
            }
        }
        Node::List(items) => {
            out.push((format!("{prefix}.len"), items.len().to_string()));
            let keys = element_keys(items);
            for (i, v) in items.iter().enumerate() {
                let label = keys
                    .as_ref()
                    .map(|k| k[i].clone())
                    .unwrap_or_else(|| i.to_string());
                flatten(&format!("{prefix}[{label}]"), v, out);
            }
        }
        Node::Map(entries) => {
            out.push((format!("{prefix}.len"), entries.len().to_string()));
            for (k, v) in entries {
                let label = scalar(k).unwrap_or_else(|| format!("{k:?}"));
                flatten(&format!("{prefix}{{{label}}}"), v, out);
            }
        }
    }
}

/// Renders `value` with `{:?}` and flattens it under `prefix`. Panics if
/// the rendering cannot be parsed (a bug in this module, shown with the
/// input).
pub fn fields_of<T: std::fmt::Debug>(prefix: &str, value: &T) -> Vec<(String, String)> {
    let rendering = format!("{value:?}");
    let node = parse(&rendering)
        .unwrap_or_else(|e| panic!("cannot read the Debug rendering ({e}):\n{rendering}"));
    let mut out = Vec::new();
    flatten(prefix, &node, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)] // read through Debug only
    #[derive(Debug)]
    struct Partition {
        partition_index: i32,
        error_message: Option<String>,
        records: Option<Vec<u8>>,
    }

    #[allow(dead_code)]
    #[derive(Debug)]
    struct Topic {
        name: String,
        id: (u8, i8),
        partitions: Vec<Partition>,
        tags: std::collections::BTreeMap<i32, String>,
        unit: Option<()>,
    }

    #[test]
    fn flattens_structs_lists_options_and_maps() {
        let t = vec![Topic {
            name: "a \"quoted\" {name}, with [brackets]".into(),
            id: (1, -2),
            partitions: vec![
                Partition {
                    partition_index: 3,
                    error_message: Some("bad: yes".into()),
                    records: None,
                },
                Partition {
                    partition_index: 0,
                    error_message: None,
                    records: Some(vec![]),
                },
            ],
            tags: [(7, "x".to_string())].into_iter().collect(),
            unit: Some(()),
        }];
        let f = fields_of("r", &t);
        let get = |p: &str| {
            f.iter()
                .find(|(k, _)| k == p)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {p} in {f:?}"))
        };
        let name = r#"a \"quoted\" {name}, with [brackets]"#;
        assert_eq!(get("r.len"), "1");
        assert_eq!(get(&format!("r[{name}].name")), format!("\"{name}\""));
        assert_eq!(get(&format!("r[{name}].id.0")), "1");
        assert_eq!(get(&format!("r[{name}].id.1")), "-2");
        assert_eq!(
            get(&format!("r[{name}].partitions[3].error_message")),
            "\"bad: yes\""
        );
        assert_eq!(
            get(&format!("r[{name}].partitions[0].error_message")),
            "None"
        );
        assert_eq!(get(&format!("r[{name}].partitions[0].records.len")), "0");
        assert_eq!(get(&format!("r[{name}].tags{{7}}")), "\"x\"");
        assert_eq!(get(&format!("r[{name}].unit")), "()");
    }

    #[test]
    fn lists_without_distinct_keys_use_positions() {
        #[allow(dead_code)]
        #[derive(Debug)]
        struct E {
            name: &'static str,
        }
        let f = fields_of("l", &vec![E { name: "x" }, E { name: "x" }]);
        assert!(f.iter().any(|(k, _)| k == "l[1].name"), "{f:?}");
    }

    #[test]
    fn byte_strings_and_real_messages_parse() {
        let b = bytes::Bytes::from_static(b"\x00\x01\"q\\");
        let f = fields_of("b", &Some(b));
        assert_eq!(f, vec![("b".to_string(), r#"b"\0\x01\"q\\""#.to_string())]);
        let resp = kafka_protocol::messages::ApiVersionsResponse::default();
        assert!(fields_of("", &resp)
            .iter()
            .any(|(k, _)| k == "api_keys.len"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse("Foo { a: 1").is_err());
        assert!(parse("[1, 2] x").is_err());
        assert!(parse("\"open").is_err());
    }
}
