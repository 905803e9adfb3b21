//! The Java judges' Maven runs: `mvn test` of the JUnit project
//! `compat-tests/java/clients` with one pinned client line (a Maven
//! profile), every class or one `-Dtest=Class#method` step, then the
//! surefire XML reports read to check that what had to run ran and passed.
//! A failure names the run and carries Maven's output, the tails of the
//! client logs (`*-output.txt`) of the classes that failed or did not
//! finish, and the brokers' log tails.
//!
//! Not the scenarios themselves (they are the Java classes) nor the brokers
//! (the callers start them, see [`crate::Broker`]). Maven runs offline:
//! `compat-tests/java/clients/setup.sh` (run by `scripts/test.sh`)
//! resolves every dependency first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{run_ok, script, Broker};

/// The package of every JUnit class of the project.
const PACKAGE: &str = "io.memorystreamer.compat";

/// `mvn`, after checking Maven runs (once per test process): a Java judge
/// fails (never skips) on a machine without it, naming what installs it.
pub fn mvn() -> &'static str {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("mvn")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    });
    assert!(
        found,
        "mvn not found: install Maven and Java 17+ and run compat-tests/java/clients/setup.sh \
         (scripts/test.sh does both)"
    );
    "mvn"
}

/// What a run must show in the reports.
enum Expect<'a> {
    /// Every class of the list reports tests, none failed or skipped.
    Classes(&'a [&'a str]),
    /// `-Dtest=<class>#<method>`: the class reports that one test, passed.
    Step { class: &'a str, method: &'a str },
}

/// One `mvn test` run of `compat-tests/java/clients` (see the module docs):
/// [`JavaRun::classes`] or [`JavaRun::step`], then [`JavaRun::property`]
/// for each `-D` the scenario reads, then [`JavaRun::run`].
pub struct JavaRun<'a> {
    profile: &'a str,
    expect: Expect<'a>,
    properties: Vec<String>,
    limit: Duration,
}

impl<'a> JavaRun<'a> {
    /// Every test class with Maven profile `profile`; `classes` are the
    /// classes whose reports must show them run and passed (a run that
    /// silently ran fewer fails). Bounded by `limit`.
    pub fn classes(profile: &'a str, classes: &'a [&'a str], limit: Duration) -> Self {
        Self {
            profile,
            expect: Expect::Classes(classes),
            properties: Vec::new(),
            limit,
        }
    }

    /// One step, `-Dtest=<class>#<method>`, with Maven profile `profile`;
    /// its report must show that one test run and passed. Bounded by `limit`.
    pub fn step(profile: &'a str, class: &'a str, method: &'a str, limit: Duration) -> Self {
        Self {
            profile,
            expect: Expect::Step { class, method },
            properties: Vec::new(),
            limit,
        }
    }

    /// Passes `-D<key>=<value>` (a system property the scenario reads).
    pub fn property(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.properties.push(format!("-D{key}={value}"));
        self
    }

    /// What the run is called in messages.
    fn name(&self) -> String {
        match self.expect {
            Expect::Classes(_) => format!("mvn test -P{}", self.profile),
            Expect::Step { class, method } => {
                format!("{class}#{method} (mvn test -P{})", self.profile)
            }
        }
    }

    /// Runs Maven (reports of an earlier run removed first, so none stands
    /// in for this one) and checks the reports. Panics on failure with
    /// Maven's output, the client log tails and the log tails of `brokers`
    /// (the nodes the scenario ran against).
    pub fn run(self, brokers: &[Broker]) {
        let project = script("java/clients");
        let reports = project.join("target/surefire-reports");
        let _ = std::fs::remove_dir_all(&reports);
        let name = self.name();
        let mut mvn = Command::new(mvn());
        mvn.current_dir(&project)
            .args(["-B", "-q", "-o", "-Dstyle.color=never"])
            .arg(format!("-P{}", self.profile));
        if let Expect::Step { class, method } = self.expect {
            mvn.arg(format!("-Dtest={class}#{method}"));
        }
        mvn.args(&self.properties).arg("test");
        let what = format!(
            "{name} (reports and client logs in {}; if a dependency is missing, run \
             compat-tests/java/clients/setup.sh)",
            reports.display()
        );
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_ok(&mut mvn, self.limit, &what)
        }));
        let failure = match run {
            Err(e) => Some(
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
            ),
            Ok(_) => self.check(&reports).err().map(|e| format!("{name}: {e}")),
        };
        if let Some(msg) = failure {
            let selected = match self.expect {
                Expect::Step { class, .. } => Some(class),
                Expect::Classes(_) => None,
            };
            panic!(
                "{msg}\n{}{}",
                client_logs(&reports, selected),
                broker_logs(brokers)
            );
        }
        eprintln!("{name}: passed");
    }

    /// Whether the reports in `dir` show every expected test run and passed.
    fn check(&self, dir: &Path) -> Result<(), String> {
        let (classes, step) = match &self.expect {
            Expect::Classes(classes) => (classes.to_vec(), None),
            Expect::Step { class, method } => (vec![*class], Some(*method)),
        };
        for class in classes {
            let path = report(dir, class);
            let xml = std::fs::read_to_string(&path)
                .map_err(|e| format!("no report for {class} at {} ({e})", path.display()))?;
            let Some(c) = report_counts(&xml) else {
                return Err(format!("unreadable report {}:\n{xml}", path.display()));
            };
            let ran = match step {
                None => c.tests > 0,
                Some(method) => {
                    c.tests == 1 && xml.contains(&format!("<testcase name=\"{method}\""))
                }
            };
            if !ran || c.failures + c.errors + c.skipped > 0 {
                return Err(format!(
                    "{class}: the report does not show {} passing (tests {}, failures {}, \
                     errors {}, skipped {}):\n{xml}",
                    step.unwrap_or("every test"),
                    c.tests,
                    c.failures,
                    c.errors,
                    c.skipped
                ));
            }
        }
        Ok(())
    }
}

/// The surefire XML report of `class` in `dir`.
fn report(dir: &Path, class: &str) -> PathBuf {
    dir.join(format!("TEST-{PACKAGE}.{class}.xml"))
}

/// The counters of one surefire XML report's `<testsuite>`.
struct Counts {
    tests: u32,
    failures: u32,
    errors: u32,
    skipped: u32,
}

/// `tests="N"` and the failure counters of one surefire XML report.
fn report_counts(xml: &str) -> Option<Counts> {
    let head = &xml[xml.find("<testsuite ")?..];
    let head = &head[..head.find('>')?];
    let attr = |name: &str| -> Option<u32> {
        let key = format!(" {name}=\"");
        let start = head.find(&key)? + key.len();
        head[start..].split('"').next()?.parse().ok()
    };
    Some(Counts {
        tests: attr("tests")?,
        failures: attr("failures")?,
        errors: attr("errors")?,
        skipped: attr("skipped")?,
    })
}

/// The last 60 lines of the client log (`*-output.txt`) of `selected` (the
/// class of a step) and of every class whose report is missing (it did not
/// finish) or shows a failure.
fn client_logs(dir: &Path, selected: Option<&str>) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for log in &paths {
        let Some(class) = log
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix("-output.txt"))
        else {
            continue;
        };
        let passed = std::fs::read_to_string(dir.join(format!("TEST-{class}.xml")))
            .ok()
            .and_then(|x| report_counts(&x))
            .is_some_and(|c| c.failures + c.errors == 0);
        let wanted = !passed || selected.is_some_and(|s| class == format!("{PACKAGE}.{s}"));
        if let (true, Ok(text)) = (wanted, std::fs::read_to_string(log)) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            out.push_str(&format!(
                "client log tail of {class} ({}):\n{tail}\n",
                log.display()
            ));
        }
    }
    out
}

/// The log tails of `brokers`: 80 lines of a single broker, 40 of each
/// node of a cluster.
fn broker_logs(brokers: &[Broker]) -> String {
    match brokers {
        [one] => format!("broker log tail:\n{}", one.log_tail(80)),
        nodes => nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("node {} log tail:\n{}\n", i + 1, n.log_tail(40)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_report(dir: &Path, class: &str, counts: &str, testcase: &str) {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{PACKAGE}.{class}\" \
             time=\"1.0\" {counts}>\n  <testcase name=\"{testcase}\" classname=\"{PACKAGE}.{class}\"/>\n\
             </testsuite>\n"
        );
        std::fs::write(report(dir, class), xml).expect("write a report");
    }

    #[test]
    fn reports_are_read_and_judged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let passed = "tests=\"1\" errors=\"0\" skipped=\"0\" failures=\"0\"";
        write_report(dir.path(), "A", passed, "one");
        let step = |method| JavaRun::step("p", "A", method, Duration::ZERO);
        assert!(step("one").check(dir.path()).is_ok());
        // Another method than the one selected: not this step's report.
        assert!(step("two").check(dir.path()).is_err());
        write_report(
            dir.path(),
            "B",
            "tests=\"3\" errors=\"0\" skipped=\"1\" failures=\"0\"",
            "x",
        );
        let err = JavaRun::classes("p", &["A", "B"], Duration::ZERO)
            .check(dir.path())
            .expect_err("a skipped test fails the run");
        assert!(err.contains("B: ") && err.contains("skipped 1"), "{err}");
        let err = JavaRun::classes("p", &["A", "C"], Duration::ZERO)
            .check(dir.path())
            .expect_err("a missing report fails the run");
        assert!(err.contains("no report for C"), "{err}");
    }

    #[test]
    fn client_logs_of_failed_unfinished_and_selected_classes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = "tests=\"1\" errors=\"0\" skipped=\"0\" failures=\"0\"";
        let failed = "tests=\"2\" errors=\"0\" skipped=\"0\" failures=\"1\"";
        write_report(dir.path(), "Passed", ok, "t");
        write_report(dir.path(), "Failed", failed, "t");
        for class in ["Passed", "Failed", "Unfinished"] {
            let log = dir.path().join(format!("{PACKAGE}.{class}-output.txt"));
            std::fs::write(log, format!("log of {class}\n")).expect("write a log");
        }
        let logs = client_logs(dir.path(), None);
        assert!(logs.contains("log of Failed") && logs.contains("log of Unfinished"));
        assert!(!logs.contains("log of Passed"), "{logs}");
        assert!(client_logs(dir.path(), Some("Passed")).contains("log of Passed"));
    }
}
