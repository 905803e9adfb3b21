//! The comparison half of the differential tests: what each broker answered
//! in a scenario ([`Recorder`]), made comparable ([`Normaliser`]), compared
//! field by field ([`compare`]), and judged against the allow-list of known
//! differences (`compat-tests/differential/allow-list.toml`, [`AllowList`]).
//!
//! A scenario records every response it gets, flattened into `path = value`
//! fields (see [`super::debug_fields`]). Values that legitimately differ
//! between two brokers (ports, cluster and topic ids, generated member and
//! producer ids, throttle times, start times) are replaced by placeholders.
//! Generated ids become numbered placeholders in order of appearance
//! (`<member_id#1>`), so "the leader is the member that joined first" is
//! still compared even though the ids themselves differ.
//!
//! Submodules: [`apache_kafka`] runs the reference broker, [`wire`] is the
//! raw client both brokers are driven with, [`debug_fields`] flattens
//! responses. This module itself does not talk to brokers and does not
//! decide what a scenario sends; the scenarios live in
//! `compat-tests/tests/differential*`.

pub mod apache_kafka;
pub mod debug_fields;
pub mod wire;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use debug_fields::Node;
use wire::Answer;

/// Fields whose values legitimately differ between two brokers and carry
/// nothing to compare: replaced by `<field>` (except the "none" values
/// below, which are compared).
const PLACEHOLDER_FIELDS: &[&str] = &[
    "throttle_time_ms",
    "finalized_features_epoch",
    "port",
    "cluster_id",
    "transaction_start_time_ms",
];

/// Generated identifiers: replaced by `<class#n>`, numbered by first
/// appearance within one scenario run, so equal ids stay equal.
const NUMBERED_FIELDS: &[(&str, &str)] = &[
    ("member_id", "member_id"),
    ("leader", "member_id"),
    ("topic_id", "topic_id"),
    ("producer_id", "producer_id"),
];

/// Values meaning "none", kept as they are so that "no id" vs "an id" is
/// still a difference.
const NONE_VALUES: &[&str] = &["-1", "\"\"", "None", "00000000-0000-0000-0000-000000000000"];

/// The field name a path ends with (`a[x].b.c` → `c`).
fn last_field(path: &str) -> &str {
    let tail = path.rsplit('.').next().unwrap_or(path);
    tail.split(['[', '{']).next().unwrap_or(tail)
}

/// Replaces the values that legitimately differ by placeholders.
#[derive(Default)]
pub struct Normaliser {
    seen: HashMap<(&'static str, String), usize>,
    counts: HashMap<&'static str, usize>,
}

impl Normaliser {
    /// The normalised form of `value` at `path`.
    pub fn normalise(&mut self, path: &str, value: String) -> String {
        let field = last_field(path);
        if NONE_VALUES.contains(&value.as_str()) {
            return value;
        }
        if PLACEHOLDER_FIELDS.contains(&field) {
            return format!("<{field}>");
        }
        if let Some((_, class)) = NUMBERED_FIELDS.iter().find(|(f, _)| *f == field) {
            let next = self.counts.get(class).copied().unwrap_or(0) + 1;
            let n = *self.seen.entry((class, value)).or_insert_with(|| {
                self.counts.insert(class, next);
                next
            });
            return format!("<{class}#{n}>");
        }
        value
    }
}

impl Normaliser {
    /// Normalises every struct field of `node` (in rendering order) by its
    /// name, as [`Normaliser::normalise`] does for one value.
    pub fn normalise_tree(&mut self, node: &mut Node) {
        match node {
            Node::Struct(fields) => {
                for (name, v) in fields.iter_mut() {
                    match v {
                        Node::Text(s) | Node::Atom(s) => {
                            *s = self.normalise(name, std::mem::take(s));
                        }
                        Node::Tuple(t, items)
                            if t == "Some"
                                && items.len() == 1
                                && matches!(items[0], Node::Text(_) | Node::Atom(_)) =>
                        {
                            if let Node::Text(s) | Node::Atom(s) = &mut items[0] {
                                *s = self.normalise(name, std::mem::take(s));
                            }
                        }
                        other => self.normalise_tree(other),
                    }
                }
            }
            Node::Tuple(_, items) | Node::List(items) => {
                items.iter_mut().for_each(|n| self.normalise_tree(n));
            }
            Node::Map(entries) => {
                for (_, v) in entries.iter_mut() {
                    self.normalise_tree(v);
                }
            }
            Node::Text(_) | Node::Atom(_) => {}
        }
    }
}

/// Everything one broker answered in one scenario, in order.
#[derive(Default)]
pub struct Recorder {
    fields: Vec<(String, String)>,
    labels: Vec<String>,
    normaliser: Normaliser,
}

impl Recorder {
    /// A new, empty recording.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    fn label(&mut self, label: &str) {
        assert!(
            !self.labels.iter().any(|l| l == label),
            "observation label {label:?} used twice in one scenario"
        );
        self.labels.push(label.to_string());
    }

    /// Records every field of `value` under `label`. Values are normalised
    /// before lists are keyed, so a list keyed by a generated id (members
    /// by `member_id`) is keyed by its placeholder.
    pub fn record<T: std::fmt::Debug>(&mut self, label: &str, value: &T) {
        self.label(label);
        let rendering = format!("{value:?}");
        let mut node = debug_fields::parse(&rendering)
            .unwrap_or_else(|e| panic!("cannot read the Debug rendering ({e}):\n{rendering}"));
        self.normaliser.normalise_tree(&mut node);
        let mut fields = Vec::new();
        debug_fields::flatten(label, &node, &mut fields);
        for (path, v) in fields {
            // Tagged fields neither side knows: worth a difference only
            // when there are some.
            if path.ends_with("unknown_tagged_fields.len") && v == "0" {
                continue;
            }
            self.fields.push((path, v));
        }
    }

    /// Records a response, or `<connection closed>` when there was none.
    pub fn answer<T: std::fmt::Debug>(&mut self, label: &str, answer: &Answer<T>) {
        match answer {
            Answer::Response(r) => self.record(label, r),
            Answer::Closed => {
                self.label(label);
                self.fields
                    .push((label.to_string(), "<connection closed>".to_string()));
            }
        }
    }

    /// Records one derived value (a count, a state seen by polling).
    pub fn note(&mut self, label: &str, value: impl std::fmt::Display) {
        self.label(label);
        self.fields.push((label.to_string(), value.to_string()));
    }

    /// The recorded fields.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

/// One field whose normalised values differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Scenario name.
    pub scenario: String,
    /// Field path (`<observation label>.<field>...`).
    pub path: String,
    /// Our broker's value; `None`: the field is absent here.
    pub ours: Option<String>,
    /// Apache Kafka's value; `None`: the field is absent there.
    pub kafka: Option<String>,
}

const ABSENT: &str = "<absent>";

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} :: {}\n    ours:  {}\n    kafka: {}",
            self.scenario,
            self.path,
            self.ours.as_deref().unwrap_or(ABSENT),
            self.kafka.as_deref().unwrap_or(ABSENT)
        )
    }
}

/// Every field that differs between the two recordings of `scenario`. A
/// list element (`…[key]`) or map entry present on one side only is one
/// difference at the element's path, its fields summarised on the side
/// that has it; every other difference is one field.
pub fn compare(scenario: &str, ours: &Recorder, kafka: &Recorder) -> Vec<Difference> {
    let to_map = |r: &Recorder| -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for (k, v) in r.fields() {
            assert!(
                m.insert(k.clone(), v.clone()).is_none(),
                "field {k} recorded twice in {scenario}"
            );
        }
        m
    };
    let (o, k) = (to_map(ours), to_map(kafka));
    let mut paths: Vec<&String> = o.keys().chain(k.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out: Vec<Difference> = Vec::new();
    let mut collapsed: Vec<String> = Vec::new();
    for p in paths {
        if o.get(p) == k.get(p) || collapsed.iter().any(|c| p.starts_with(c.as_str())) {
            continue;
        }
        let (present, absent) = match (o.get(p), k.get(p)) {
            (Some(_), None) => (&o, &k),
            (None, Some(_)) => (&k, &o),
            _ => {
                out.push(Difference {
                    scenario: scenario.to_string(),
                    path: p.clone(),
                    ours: o.get(p).cloned(),
                    kafka: k.get(p).cloned(),
                });
                continue;
            }
        };
        // The outermost element of `p` that the other side lacks entirely.
        let element = element_prefixes(p)
            .into_iter()
            .find(|e| !absent.keys().any(|q| q.starts_with(e.as_str())));
        let Some(element) = element else {
            out.push(Difference {
                scenario: scenario.to_string(),
                path: p.clone(),
                ours: o.get(p).cloned(),
                kafka: k.get(p).cloned(),
            });
            continue;
        };
        let summary: Vec<String> = present
            .range(element.clone()..)
            .take_while(|(q, _)| q.starts_with(element.as_str()))
            .map(|(q, v)| format!("{}={v}", q[element.len()..].trim_start_matches('.')))
            .collect();
        let summary = format!("{{{}}}", summary.join(", "));
        let (ours_v, kafka_v) = if std::ptr::eq(present, &o) {
            (Some(summary), None)
        } else {
            (None, Some(summary))
        };
        out.push(Difference {
            scenario: scenario.to_string(),
            path: element.clone(),
            ours: ours_v,
            kafka: kafka_v,
        });
        collapsed.push(element);
    }
    out
}

/// The element paths enclosing `path`, outermost first: for
/// `a[x].b{k}.c` that is `a[x]`, `a[x].b{k}`.
fn element_prefixes(path: &str) -> Vec<String> {
    path.char_indices()
        .filter(|(_, c)| *c == ']' || *c == '}')
        .map(|(i, _)| path[..=i].to_string())
        .collect()
}

/// Why a difference is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// We support a narrower range or fewer features on purpose, or a
    /// feature is not built yet.
    NotBuilt,
    /// A deliberate difference (wording, an equivalent answer).
    Deliberate,
    /// A real defect of our broker, written down until it is fixed.
    Defect,
}

/// One entry of the allow-list.
#[derive(Debug, Clone)]
pub struct Allowed {
    /// Scenario it applies to.
    pub scenario: String,
    /// Field path pattern: `*` matches any run of characters.
    pub path: String,
    /// If set, our value must be exactly this (`<absent>` for absent).
    pub ours: Option<String>,
    /// If set, Kafka's value must be exactly this.
    pub kafka: Option<String>,
    /// Category.
    pub kind: Kind,
    /// Why.
    pub reason: String,
}

impl Allowed {
    /// Whether this entry covers `d`.
    pub fn covers(&self, d: &Difference) -> bool {
        self.scenario == d.scenario
            && glob(&self.path, &d.path)
            && value_matches(self.ours.as_deref(), d.ours.as_deref())
            && value_matches(self.kafka.as_deref(), d.kafka.as_deref())
    }
}

/// Whether an entry's expected value (if any) is the difference's value.
fn value_matches(expected: Option<&str>, got: Option<&str>) -> bool {
    match expected {
        None => true,
        Some(want) => want == got.unwrap_or(ABSENT),
    }
}

/// `*` matches any run of characters (including none); everything else
/// matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    if !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The known differences, loaded from a TOML file of `[[difference]]`
/// tables with `scenario`, `path`, `kind` (`not-built`, `deliberate` or
/// `defect`), `reason`, and optionally `ours` / `kafka`.
#[derive(Debug, Clone)]
pub struct AllowList {
    /// The entries, in file order.
    pub entries: Vec<Allowed>,
}

impl AllowList {
    /// Loads and checks `path`; panics (test code) with the problem.
    pub fn load(path: &Path) -> AllowList {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        AllowList::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Parses the TOML text of an allow-list.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let doc = toml_edit::Document::parse(text.to_string()).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        for (key, _) in doc.iter() {
            if key != "difference" {
                return Err(format!("unknown top-level key {key:?}"));
            }
        }
        let Some(tables) = doc.get("difference") else {
            return Ok(AllowList { entries });
        };
        let tables = tables
            .as_array_of_tables()
            .ok_or("`difference` must be an array of tables ([[difference]])")?;
        for (i, t) in tables.iter().enumerate() {
            let field = |name: &str| -> Result<Option<String>, String> {
                match t.get(name) {
                    None => Ok(None),
                    Some(v) => v
                        .as_str()
                        .map(|s| Some(s.to_string()))
                        .ok_or(format!("entry {}: `{name}` must be a string", i + 1)),
                }
            };
            for (key, _) in t.iter() {
                if !["scenario", "path", "ours", "kafka", "kind", "reason"].contains(&key) {
                    return Err(format!("entry {}: unknown key {key:?}", i + 1));
                }
            }
            let required = |name: &str| -> Result<String, String> {
                field(name)?
                    .filter(|s| !s.trim().is_empty())
                    .ok_or(format!("entry {}: `{name}` is required", i + 1))
            };
            let kind = match required("kind")?.as_str() {
                "not-built" => Kind::NotBuilt,
                "deliberate" => Kind::Deliberate,
                "defect" => Kind::Defect,
                other => {
                    return Err(format!(
                        "entry {}: kind {other:?} is not not-built, deliberate or defect",
                        i + 1
                    ))
                }
            };
            entries.push(Allowed {
                scenario: required("scenario")?,
                path: required("path")?,
                ours: field("ours")?,
                kafka: field("kafka")?,
                kind,
                reason: required("reason")?,
            });
        }
        Ok(AllowList { entries })
    }
}

/// The verdict over all scenarios that ran.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Differences no entry covers.
    pub unexplained: Vec<Difference>,
    /// Entries (by index) of scenarios that ran but that covered nothing.
    pub unused: Vec<usize>,
    /// Differences covered, with the entry index.
    pub allowed: Vec<(Difference, usize)>,
}

/// Judges `differences` (from the scenarios named in `ran`) against `list`.
pub fn judge(list: &AllowList, ran: &[String], differences: Vec<Difference>) -> Verdict {
    let mut used = vec![false; list.entries.len()];
    let mut verdict = Verdict::default();
    for d in differences {
        match list.entries.iter().position(|e| e.covers(&d)) {
            Some(i) => {
                used[i] = true;
                verdict.allowed.push((d, i));
            }
            None => verdict.unexplained.push(d),
        }
    }
    verdict.unused = list
        .entries
        .iter()
        .enumerate()
        .filter(|(i, e)| !used[*i] && ran.contains(&e.scenario))
        .map(|(i, _)| i)
        .collect();
    verdict
}

impl Verdict {
    /// A report for a failing test: every unexplained difference with both
    /// sides, then every unused entry.
    pub fn report(&self, list: &AllowList) -> String {
        let mut s = String::new();
        if !self.unexplained.is_empty() {
            let _ = writeln!(
                s,
                "{} difference(s) from Apache Kafka not in the allow-list:",
                self.unexplained.len()
            );
            for d in &self.unexplained {
                let _ = writeln!(s, "  {d}");
            }
        }
        if !self.unused.is_empty() {
            let _ = writeln!(
                s,
                "{} allow-list entr(y/ies) matched no difference (remove or fix them):",
                self.unused.len()
            );
            for i in &self.unused {
                let e = &list.entries[*i];
                let _ = writeln!(
                    s,
                    "  #{} {} :: {} ({})",
                    i + 1,
                    e.scenario,
                    e.path,
                    e.reason
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_missing_on_one_side_is_one_difference() {
        let mut o = Recorder::new();
        o.note("r.keys[1].min", 0);
        o.note("r.keys[1].max", 3);
        o.note("r.keys[2].max", 5);
        let mut k = Recorder::new();
        k.note("r.keys[1].min", 0);
        k.note("r.keys[1].max", 4);
        let d = compare("s", &o, &k);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].path, "r.keys[1].max");
        assert_eq!(d[1].path, "r.keys[2]");
        assert_eq!(d[1].ours.as_deref(), Some("{max=5}"));
        assert_eq!(d[1].kafka, None);
    }

    #[test]
    fn glob_matches_runs() {
        assert!(glob("a.*.c", "a.b[1].c"));
        assert!(glob("*", ""));
        assert!(glob("a*", "a"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("a*b*c", "axbyc"));
        assert!(!glob("abc", "abcd"));
    }

    #[test]
    fn generated_ids_are_numbered_consistently() {
        let mut n = Normaliser::default();
        assert_eq!(
            n.normalise("j.member_id", "\"x-1\"".into()),
            "<member_id#1>"
        );
        assert_eq!(n.normalise("j.leader", "\"x-2\"".into()), "<member_id#2>");
        assert_eq!(
            n.normalise("s.members[0].member_id", "\"x-1\"".into()),
            "<member_id#1>"
        );
        assert_eq!(n.normalise("j.member_id", "\"\"".into()), "\"\"");
        assert_eq!(n.normalise("p.producer_id", "7".into()), "<producer_id#1>");
        assert_eq!(n.normalise("p.port", "9092".into()), "<port>");
        assert_eq!(n.normalise("p.error_code", "3".into()), "3");
    }

    #[test]
    fn allow_list_covers_and_reports_unused() {
        let list = AllowList::parse(
            r#"
[[difference]]
scenario = "s"
path = "a.*"
kafka = "2"
kind = "deliberate"
reason = "r"

[[difference]]
scenario = "s"
path = "b"
kind = "defect"
reason = "never seen"

[[difference]]
scenario = "other"
path = "b"
kind = "not-built"
reason = "scenario did not run"
"#,
        )
        .expect("parse");
        let d = |p: &str, k: Option<&str>| Difference {
            scenario: "s".into(),
            path: p.into(),
            ours: Some("1".into()),
            kafka: k.map(str::to_string),
        };
        let v = judge(
            &list,
            &["s".to_string()],
            vec![d("a.x", Some("2")), d("a.y", None), d("c", Some("2"))],
        );
        assert_eq!(v.allowed.len(), 1);
        assert_eq!(v.unexplained.len(), 2);
        assert_eq!(v.unused, vec![1]);
        assert!(AllowList::parse("[[difference]]\nscenario = \"s\"\n").is_err());
        assert!(AllowList::parse(
            "[[difference]]\nscenario=\"s\"\npath=\"p\"\nkind=\"odd\"\nreason=\"r\"\n"
        )
        .is_err());
    }
}
