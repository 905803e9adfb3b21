//! The chaos harness (issue 15; `compat-tests/chaos/`, Python with
//! confluent-kafka): a three-node cluster, one node per network namespace,
//! under a seeded fault schedule (kill -9, SIGSTOP, isolation, leader cut from
//! the controller, packet loss and delay, rolling and full restarts) while an
//! idempotent `acks=all` producer writes numbered records to a topic with
//! replication factor 3 and `min.insync.replicas=2`. Passes when no
//! acknowledged record is lost, duplicated or reordered.
//!
//! Needs root (network namespaces, tc): without it the test FAILS, never skips.
//! `CHAOS_ALLOW_RF_FALLBACK=1` lets a run whose topic the broker created with a
//! lower replication factor pass (a plumbing check, not the replication claim);
//! `CHAOS_SEEDS`, `CHAOS_DURATION` change the number of seeds and seconds per run.

use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{broker_binary, python, run_ok, script};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn chaos_seeds_lose_no_acknowledged_record() {
    assert!(
        is_root(),
        "the chaos harness must run as root: it builds network namespaces (ip netns) and shapes links (tc)"
    );
    let probe = Command::new("ip").args(["netns", "list"]).output();
    assert!(
        matches!(&probe, Ok(o) if o.status.success()),
        "`ip netns list` does not work ({probe:?}): the chaos harness needs iproute2 and network namespaces"
    );
    let dir = script("");
    // The harness's own tests first: the checker finds injected anomalies,
    // the schedule is a function of the seed, cuts cut, loss drops, cleanup cleans.
    let out = run_ok(
        Command::new(python()).current_dir(&dir).args([
            "-m",
            "unittest",
            "chaos.test_checker",
            "chaos.test_netns",
        ]),
        Duration::from_secs(300),
        "chaos harness unit tests",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OK"), "{err}");

    let seeds = std::env::var("CHAOS_SEEDS").unwrap_or_else(|_| "3".into());
    let duration = std::env::var("CHAOS_DURATION").unwrap_or_else(|_| "45".into());
    let tmp = tempfile::tempdir().expect("tempdir");
    let results = tmp.path().join("results.json");
    let mut cmd = Command::new(python());
    cmd.current_dir(&dir)
        .env("MEMORYSTREAMER_BIN", broker_binary())
        .args(["-m", "chaos", "--seeds", &seeds, "--duration", &duration])
        .args([
            "--faults",
            "4",
            "--nodes",
            "3",
            "--rf",
            "3",
            "--min-isr",
            "2",
        ])
        .arg("--run-root")
        .arg(tmp.path().join("runs"))
        .arg("--out")
        .arg(&results);
    if std::env::var("CHAOS_ALLOW_RF_FALLBACK").as_deref() != Ok("1") {
        cmd.arg("--require-rf");
    }
    // run_ok fails with the runner's output (summaries, node log tails) on a
    // non-zero exit: an anomaly, an RF fallback, a run that could not run,
    // or namespaces left behind.
    let out = run_ok(&mut cmd, Duration::from_secs(900), "python -m chaos");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let runs: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
    let n: usize = seeds.parse().expect("CHAOS_SEEDS is a number");
    assert_eq!(runs.len(), n, "one JSON summary per seed:\n{stdout}");
    for r in &runs {
        assert!(r.contains("\"anomalies\": 0"), "a run with anomalies: {r}");
        assert!(
            !r.contains("\"acknowledged\": 0,"),
            "a run acknowledged nothing: {r}"
        );
    }
}
