//! Differential tests: the same requests sent to our broker and to a real
//! Apache Kafka broker (the version fetched by
//! `compat-tests/java/kafka-dist/fetch.sh`), the answers compared field by
//! field. Known differences are listed, each with a reason, in
//! `compat-tests/differential/allow-list.toml`; any other difference fails,
//! and so does an entry that no longer matches anything (the list stays
//! true). Defects found are written down in
//! `compat-tests/differential/FINDINGS.md`.
//!
//! One test starts both brokers once (Kafka takes seconds to start) and runs
//! every scenario against both, each scenario on fresh names, then reports
//! all differences at once. `DIFF_ONLY=<scenario>[,<scenario>]` runs a
//! subset; `DIFF_VERBOSE=1` also prints every allowed difference. Both
//! recordings of each scenario are written to
//! `target/tmp/differential/<scenario>.{ours,kafka}.txt`.
//!
//! Adding a scenario: write a `fn(&mut Side)` that sends requests with
//! `side.client()` and records every answer with `side.rec.answer(..)`,
//! list it in [`SCENARIOS`], run, and either fix the broker or add
//! allow-list entries with reasons.

use std::path::PathBuf;

use memorystreamer_compat_tests::differential::apache_kafka::ApacheKafka;
use memorystreamer_compat_tests::differential::wire::WireClient;
use memorystreamer_compat_tests::differential::{compare, judge, AllowList, Kind, Recorder};
use memorystreamer_compat_tests::{workspace_root, Broker};

#[path = "differential/configs.rs"]
mod configs;
#[path = "differential/errors.rs"]
mod errors;
#[path = "differential/groups.rs"]
mod groups;
#[path = "differential/offsets.rs"]
mod offsets;
#[path = "differential/requests.rs"]
mod requests;
#[path = "differential/transactions.rs"]
mod transactions;

/// `server.properties` entries given to both brokers (Kafka in its file,
/// ours as `-o` overrides), so both run one node with the same settings.
const COMMON_PROPS: &[(&str, &str)] = &[
    ("node.id", "1"),
    ("offsets.topic.replication.factor", "1"),
    ("transaction.state.log.replication.factor", "1"),
    ("transaction.state.log.min.isr", "1"),
    ("group.initial.rebalance.delay.ms", "0"),
];

/// One broker's side of a scenario run: where to connect, and the
/// recording of what it answered.
pub struct Side {
    /// The broker's client port.
    pub port: u16,
    /// Everything recorded so far.
    pub rec: Recorder,
}

impl Side {
    /// A new connection to this side's broker.
    pub fn client(&self) -> WireClient {
        WireClient::connect(self.port, "differential").expect("connect to the broker")
    }
}

/// A scenario: name and body.
type Scenario = (&'static str, fn(&mut Side));

/// Every scenario, in the order they run.
const SCENARIOS: &[Scenario] = &[
    ("api_versions", requests::api_versions),
    ("topic_errors", errors::topic_errors),
    ("produce_fetch_errors", errors::produce_fetch_errors),
    ("idempotence_errors", errors::idempotence_errors),
    ("list_offsets", offsets::list_offsets_answers),
    ("delete_records", offsets::delete_records_answers),
    ("describe_topic_configs", configs::describe_topic_configs),
    ("describe_broker_configs", configs::describe_broker_configs),
    ("group_lifecycle", groups::group_lifecycle),
    ("group_errors", groups::group_errors),
    ("static_membership", groups::static_membership),
    ("transaction_states", transactions::transaction_states),
    ("transaction_errors", transactions::transaction_errors),
];

fn allow_list_path() -> PathBuf {
    workspace_root().join("compat-tests/differential/allow-list.toml")
}

/// Runs `f` against one broker; a panic becomes the scenario's failure.
fn run_side(port: u16, f: fn(&mut Side)) -> Result<Recorder, String> {
    let mut side = Side {
        port,
        rec: Recorder::new(),
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut side)))
        .map(|()| side.rec)
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into())
        })
}

/// Writes both recordings of a scenario to
/// `target/tmp/differential/<scenario>.{ours,kafka}.txt`, for diffing by hand.
fn dump(name: &str, ours: &Recorder, kafka: &Recorder) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("differential");
    let _ = std::fs::create_dir_all(&dir);
    for (side, rec) in [("ours", ours), ("kafka", kafka)] {
        let text: String = rec
            .fields()
            .iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect();
        let _ = std::fs::write(dir.join(format!("{name}.{side}.txt")), text);
    }
}

#[test]
fn answers_match_apache_kafka() {
    let list = AllowList::load(&allow_list_path());
    let only: Option<Vec<String>> = std::env::var("DIFF_ONLY")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let verbose = std::env::var("DIFF_VERBOSE").is_ok_and(|v| v == "1");
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|(name, _)| match &only {
            None => true,
            Some(o) => o.iter().any(|x| x == name),
        })
        .collect();
    assert!(!selected.is_empty(), "DIFF_ONLY selects no scenario");
    for e in &list.entries {
        assert!(
            SCENARIOS.iter().any(|(n, _)| *n == e.scenario),
            "allow-list entry for unknown scenario {:?} ({})",
            e.scenario,
            e.path
        );
    }

    // Start Kafka (seconds of JVM start-up) while ours starts; the scope
    // joins (and so drops and kills) Kafka even if ours fails to start.
    let ours_args: Vec<String> = COMMON_PROPS
        .iter()
        .flat_map(|(k, v)| ["-o".to_string(), format!("{k}={v}")])
        .collect();
    let started = std::time::Instant::now();
    let (ours, kafka) = std::thread::scope(|s| {
        let kafka = s.spawn(|| ApacheKafka::start(COMMON_PROPS));
        let args: Vec<&str> = ours_args.iter().map(String::as_str).collect();
        let ours = Broker::start(&args);
        (ours, kafka.join().expect("Apache Kafka started"))
    });
    std::thread::scope(|s| {
        s.spawn(|| requests::warm_up(ours.port));
        s.spawn(|| requests::warm_up(kafka.port));
    });
    eprintln!(
        "both brokers up and warm in {:?} (Apache Kafka {})",
        started.elapsed(),
        kafka.version
    );

    let mut differences = Vec::new();
    let mut failures = Vec::new();
    let mut ran = Vec::new();
    for (name, f) in selected {
        let t = std::time::Instant::now();
        let (o, k) = std::thread::scope(|s| {
            let o = s.spawn(|| run_side(ours.port, *f));
            let k = s.spawn(|| run_side(kafka.port, *f));
            (
                o.join().unwrap_or_else(|_| Err("thread died".into())),
                k.join().unwrap_or_else(|_| Err("thread died".into())),
            )
        });
        eprintln!("scenario {name}: {:?}", t.elapsed());
        match (o, k) {
            (Ok(o), Ok(k)) => {
                dump(name, &o, &k);
                ran.push(name.to_string());
                differences.extend(compare(name, &o, &k));
            }
            (o, k) => failures.push(format!(
                "scenario {name} did not complete:\n  ours:  {}\n  kafka: {}",
                o.err().unwrap_or_else(|| "ok".into()),
                k.err().unwrap_or_else(|| "ok".into())
            )),
        }
    }

    let verdict = judge(&list, &ran, differences);
    let defects = verdict
        .allowed
        .iter()
        .filter(|(_, i)| list.entries[*i].kind == Kind::Defect)
        .count();
    eprintln!(
        "{} allowed difference(s) ({defects} known defect(s)), {} unexplained, {} unused entr(y/ies)",
        verdict.allowed.len(),
        verdict.unexplained.len(),
        verdict.unused.len()
    );
    if verbose {
        for (d, i) in &verdict.allowed {
            eprintln!("  allowed by #{}: {d}", i + 1);
        }
    }
    let mut report = failures.join("\n");
    report.push_str(&verdict.report(&list));
    assert!(
        report.is_empty(),
        "{report}\nours log tail:\n{}",
        ours.log_tail(30)
    );
}
