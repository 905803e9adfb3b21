//! The Java clients as judges: the Maven project in `compat-tests/java/clients`
//! (JUnit 5: Admin, the default producer with every codec, consumer groups with
//! range / cooperative-sticky / static membership, read_committed and
//! transactions with sendOffsetsToTransaction, a Kafka Streams
//! exactly_once_v2 word count, and `group.protocol=consumer` failing clearly)
//! runs against a fresh broker once per pinned client line (Maven profiles
//! `kafka-4` = kafka-clients/kafka-streams 4.4.0, `kafka-3.9` = 3.9.2).
//!
//! Maven runs offline: `compat-tests/java/clients/setup.sh` (called by
//! `scripts/test.sh`) resolves every dependency first.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{mvn, run_ok, script, Broker};

/// Maven profiles of the pinned client lines (versions in `pom.xml`).
const PROFILES: &[&str] = &["kafka-4", "kafka-3.9"];

/// The JUnit classes every run must report (a run that silently ran fewer fails).
const CLASSES: &[&str] = &[
    "ClientVersionTest",
    "AdminTest",
    "ProducerCodecsTest",
    "ConsumerGroupsTest",
    "TransactionsTest",
    "StreamsWordCountTest",
    "ConsumerGroupProtocolTest",
];

/// `tests="N"` and the failure counters of one surefire XML report.
fn report_counts(xml: &str) -> Option<(u32, u32, u32, u32)> {
    let head = &xml[xml.find("<testsuite ")?..];
    let head = &head[..head.find('>')?];
    let attr = |name: &str| -> Option<u32> {
        let key = format!(" {name}=\"");
        let start = head.find(&key)? + key.len();
        head[start..].split('"').next()?.parse().ok()
    };
    Some((
        attr("tests")?,
        attr("failures")?,
        attr("errors")?,
        attr("skipped")?,
    ))
}

fn check_reports(dir: &Path, profile: &str) {
    for class in CLASSES {
        let path = dir.join(format!("TEST-io.memorystreamer.compat.{class}.xml"));
        let xml = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{profile}: no report for {class} ({e})"));
        let (tests, failures, errors, skipped) = report_counts(&xml)
            .unwrap_or_else(|| panic!("{profile}: unreadable report {}", path.display()));
        assert!(
            tests > 0 && failures == 0 && errors == 0 && skipped == 0,
            "{profile}: {class}: tests {tests}, failures {failures}, errors {errors}, skipped {skipped}"
        );
    }
}

/// The last lines of the client logs (`*-output.txt`) of every class that
/// failed, for the failure message.
fn client_logs(dir: &Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for xml in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
    {
        let failed = std::fs::read_to_string(xml)
            .ok()
            .and_then(|x| report_counts(&x))
            .is_some_and(|(_, f, e, _)| f + e > 0);
        let name = xml.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let class = name.trim_start_matches("TEST-").trim_end_matches(".xml");
        let log = dir.join(format!("{class}-output.txt"));
        if let (true, Ok(text)) = (failed, std::fs::read_to_string(&log)) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            out.push_str(&format!("client log tail of {class}:\n{tail}\n"));
        }
    }
    out
}

#[test]
fn java_clients_judge_the_broker() {
    let mvn = mvn();
    let project = script("java/clients");
    let reports = project.join("target/surefire-reports");
    for profile in PROFILES {
        // A fresh broker per client line. AdminTest pins this static override.
        let broker = Broker::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
        // Reports of an earlier run must not stand in for this one.
        let _ = std::fs::remove_dir_all(&reports);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_ok(
                Command::new(mvn)
                    .current_dir(&project)
                    .args(["-B", "-q", "-o", "-Dstyle.color=never"])
                    .arg(format!("-P{profile}"))
                    .arg(format!("-Dbootstrap={}", broker.bootstrap()))
                    .arg("test"),
                Duration::from_secs(480),
                &format!(
                    "mvn test -P{profile} (client logs in {}; if a dependency is missing, \
                 run compat-tests/java/clients/setup.sh)",
                    reports.display()
                ),
            )
        }));
        if let Err(e) = run {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{msg}\n{}broker log tail:\n{}",
                client_logs(&reports),
                broker.log_tail(80)
            );
        }
        check_reports(&reports, profile);
        assert!(
            !broker.log().contains("panicked"),
            "{profile}: the broker panicked:\n{}",
            broker.log_tail(80)
        );
        eprintln!("java clients ({profile}): {} classes passed", CLASSES.len());
    }
}
