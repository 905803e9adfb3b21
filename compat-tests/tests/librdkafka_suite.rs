//! librdkafka's own integration test suite (librdkafka 2.12.1, the source
//! inside the `rdkafka-sys` crate that `Cargo.lock` pins) as a judge: the
//! tests named in `compat-tests/librdkafka/allow-list` run against the real
//! binary through `scripts/librdkafka-suite.sh`, each in its own test-runner
//! process, and every one of them must pass.
//!
//! The runner is built by `scripts/librdkafka-suite.sh build` (called from
//! `scripts/test.sh`); a missing runner fails this test with that command.
//! The whole suite (`scripts/librdkafka-suite.sh all`) is slow and not run
//! here; `compat-tests/FINDINGS.md` says why each test outside the
//! allow-list cannot pass yet.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{broker_binary, run_judged, workspace_root, Broker};

/// Test numbers of a list file: the first word of each non-comment line.
fn list(name: &str) -> Vec<String> {
    let path = workspace_root().join("compat-tests/librdkafka").join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or(l).to_string())
        .collect()
}

#[test]
fn librdkafka_suite_allow_list_passes() {
    let root = workspace_root();
    let runner = root.join("target/librdkafka-suite/librdkafka/tests/test-runner");
    assert!(
        runner.exists(),
        "librdkafka's test runner is missing at {}: run scripts/librdkafka-suite.sh build \
         (scripts/test.sh does)",
        runner.display()
    );
    let allowed = list("allow-list");
    assert!(!allowed.is_empty(), "the allow-list names no test");

    // The suite's default scenario (tests/scenarios/default.json): topics
    // auto-created with 4 partitions.
    let broker = Broker::start(&[
        "-o",
        "num.partitions=4",
        "-o",
        "auto.create.topics.enable=true",
    ]);
    let out = run_judged(
        &broker,
        Command::new("bash")
            .arg(root.join("scripts/librdkafka-suite.sh"))
            .arg("allow")
            .env("SUITE_BOOTSTRAP", broker.bootstrap())
            .env("MEMORYSTREAMER_BIN", broker_binary()),
        Duration::from_secs(900),
        80,
        "scripts/librdkafka-suite.sh allow",
    );

    // Every allowed number reported at least one passed test and nothing else
    // but passes and skips (a test of a number can be gated off).
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in out.lines().filter_map(|l| l.strip_prefix("RESULT ")) {
        let mut words = line.split_whitespace();
        let (Some(name), Some(state)) = (words.next(), words.next()) else {
            continue;
        };
        let num = name.get(..4).unwrap_or(name).to_string();
        seen.entry(num).or_default().push(state.to_string());
    }
    for num in &allowed {
        let states = seen
            .get(num)
            .unwrap_or_else(|| panic!("no result for allowed test {num}:\n{out}"));
        assert!(
            states.iter().any(|s| s == "PASSED")
                && states.iter().all(|s| s == "PASSED" || s == "SKIPPED"),
            "allowed test {num} did not pass ({states:?}):\n{out}"
        );
    }
    assert!(
        out.contains(&format!("== all {} test numbers passed", allowed.len())),
        "{out}"
    );
}
