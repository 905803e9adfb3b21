//! Architecture rules of the workspace, checked on the source text:
//!
//! * no source file is longer than [`MAX_LINES`] (generated tables aside),
//!   so every file can be read in one sitting;
//! * the modules of each crate do not import each other in circles: the
//!   top-level modules (`crate::api`, `crate::broker`, `crate::group`, …)
//!   form a directed acyclic graph, and so do the sibling submodules inside
//!   each directory module (a parent `mod.rs` is its children's facade and
//!   is left out of its own children's graph).
//!
//! An edge is any path through `crate::<module>` or `super::<module>`
//! outside comments and `#[cfg(test)]` items. This test reads files; it
//! does not compile anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file allowed.
const MAX_LINES: usize = 800;

/// Generated files (tables copied from Kafka's definitions), exempt from
/// the length rule.
const GENERATED: &[&str] = &["broker/src/config/kafka_keys.rs"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("broker/ has a parent")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without its `#[cfg(test)]` items (a test module may reach
/// anywhere).
fn without_tests(src: &str) -> String {
    let mut out = String::new();
    let mut rest = src;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        // Skip the attributed item: up to the end of its first balanced
        // `{ … }` block, or its `;` if that comes first.
        let mut depth = 0usize;
        let mut end = after.len();
        for (j, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = j + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    // Comments (doc links included) are not imports.
    out.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths named after each occurrence of `prefix` (`crate::` or
/// `super::`) in `src`: `crate::a::b::C` gives `[a, b, C]`, and
/// `crate::{a::X, b}` gives `[a, X]` and `[b]`.
fn paths_after(src: &str, prefix: &str) -> Vec<Vec<String>> {
    fn path(s: &str) -> Vec<String> {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = src[from..].find(prefix) {
        let at = from + i;
        let start = at + prefix.len();
        from = start;
        let before = src[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &src[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1usize;
            let mut item_start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            out.push(path(group[item_start..j].trim()));
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        out.push(path(group[item_start..j].trim()));
                        item_start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(path(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// A cycle in `graph`, if there is one (as the list of nodes on it).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// Module path of a file under `src/` (`["api", "produce"]`; `[]` for the
/// crate root).
fn module_path(src_dir: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src_dir).expect("file under src/");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || l == "lib" || l == "main")
    {
        parts.pop();
    }
    parts
}

/// The import graphs of one crate: top level, and siblings per directory.
fn crate_graphs(src_dir: &Path) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(src_dir, f)).collect();
    // Modules declared `#[cfg(test)] mod x;` are test code, like inline
    // test modules.
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for f in &files {
        let src = std::fs::read_to_string(f).expect("readable source");
        let me = module_path(src_dir, f);
        let mut rest = src.as_str();
        while let Some(i) = rest.find("#[cfg(test)]") {
            rest = &rest[i + "#[cfg(test)]".len()..];
            let item = rest.trim_start();
            let item = item.strip_prefix("pub ").unwrap_or(item);
            if let Some(decl) = item.strip_prefix("mod ") {
                let name: String = decl
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if decl[name.len()..].trim_start().starts_with(';') {
                    test_only.insert(me.iter().cloned().chain([name]).collect());
                }
            }
        }
    }
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let me = module_path(src_dir, f);
        if me.is_empty() || (1..=me.len()).any(|n| test_only.contains(&me[..n])) {
            continue;
        }
        let src = without_tests(&std::fs::read_to_string(f).expect("readable source"));
        let mut targets = paths_after(&src, "crate::");
        // `super::x` from module a::b names a::x.
        let parent = &me[..me.len() - 1];
        for p in paths_after(&src, "super::") {
            targets.push(parent.iter().cloned().chain(p).collect());
        }
        for t in targets {
            let Some(target) = (1..=t.len())
                .rev()
                .map(|n| t[..n].to_vec())
                .find(|p| modules.contains(p))
            else {
                continue;
            };
            // Top level.
            if target[0] != me[0] {
                graphs
                    .entry(String::new())
                    .or_default()
                    .entry(me[0].clone())
                    .or_default()
                    .insert(target[0].clone());
            }
            // Siblings: the first level where the paths differ, below a
            // common parent, parents excluded.
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common >= 1 && me.len() > common && target.len() > common {
                graphs
                    .entry(me[..common].join("::"))
                    .or_default()
                    .entry(me[common].clone())
                    .or_default()
                    .insert(target[common].clone());
            }
        }
    }
    graphs
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in [
        "broker",
        "log",
        "raft",
        "protocol-kafka",
        "compat-tests",
        "benches",
    ] {
        for sub in ["src", "tests", "benches"] {
            rust_files(&root.join(dir).join(sub), &mut files);
        }
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut long = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&root).expect("in workspace");
        if GENERATED.iter().any(|g| rel == Path::new(g)) {
            continue;
        }
        let lines = std::fs::read_to_string(&f)
            .expect("readable")
            .lines()
            .count();
        if lines > MAX_LINES {
            long.push(format!("{} ({lines} lines)", rel.display()));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by responsibility): {long:?}"
    );
}

#[test]
fn modules_do_not_import_each_other_in_circles() {
    let root = workspace();
    let mut failures = Vec::new();
    for krate in ["broker", "log", "raft", "protocol-kafka"] {
        let graphs = crate_graphs(&root.join(krate).join("src"));
        assert!(
            krate != "broker" || graphs.get("").is_some_and(|g| g.len() > 10),
            "the broker's module graph was not found"
        );
        for (scope, graph) in &graphs {
            if let Some(cycle) = find_cycle(graph) {
                let scope = if scope.is_empty() { "crate" } else { scope };
                failures.push(format!("{krate} ({scope}): {}", cycle.join(" -> ")));
            }
        }
    }
    assert!(failures.is_empty(), "import cycles: {failures:#?}");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        without_tests("x // crate::a\n#[cfg(test)]\nmod tests { use crate::y; }\nz"),
        "x \n\nz"
    );
}
