//! The Go clients as judges: franz-go (kgo + kadm) and IBM Sarama, pinned in
//! `compat-tests/go/go.mod`, run by `go test` against the real binary, first
//! a single node, then a three-node cluster (partitions, group and
//! transaction coordinators spread over the nodes).
//!
//! This file only starts the brokers, runs `go test -count=1 ./...` in
//! `compat-tests/go` with a broker's address in `COMPAT_KAFKA_BOOTSTRAP` (and
//! the node count in `COMPAT_KAFKA_BROKERS`), and checks that every expected
//! Go test passed; the scenarios and their assertions live in the Go test
//! files. The modules must be in the module cache already
//! (`compat-tests/go/setup.sh`, called by `scripts/test.sh`): the run sets
//! `GOPROXY=off` so it never reaches the network.

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use memorystreamer_compat_tests::{run_ok, script, start_cluster, Broker};

/// Every top-level Go test; each must report `--- PASS`.
const GO_TESTS: &[&str] = &[
    "TestFranzIdempotentProduceEveryCodec",
    "TestFranzProduceEdges",
    "TestFranzCooperativeStickyGroup",
    "TestFranzStaticMembership",
    "TestFranzAdmin",
    "TestFranzBrokerConfigs",
    "TestFranzGroupTransactSession",
    "TestSaramaIdempotentSyncProducer",
    "TestSaramaAsyncProducer",
    "TestSaramaConsumerGroup",
    "TestSaramaStaticMembership",
    "TestSaramaClusterAdmin",
    "TestSaramaTransactions",
];

/// The Go runs take turns: two at once on a small machine only make both slow.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The Go tests rebalance groups: no initial rebalance delay keeps them short.
const BROKER_ARGS: &[&str] = &["-o", "group.initial.rebalance.delay.ms=0"];

/// Runs the Go tests against `brokers` (bootstrap: the first); on failure
/// panics with Go's output and every broker's log tail.
fn run_go_tests(brokers: &[Broker]) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let found = Command::new("go").arg("version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "the Go toolchain (`go`) is not on PATH: install Go 1.26 or newer, then run \
         compat-tests/go/setup.sh ({found:?})"
    );
    let run = std::panic::catch_unwind(|| {
        run_ok(
            Command::new("go")
                .current_dir(script("go"))
                .args(["test", "-count=1", "-v", "-timeout", "170s", "./..."])
                .env("COMPAT_KAFKA_BOOTSTRAP", brokers[0].bootstrap())
                .env("COMPAT_KAFKA_BROKERS", brokers.len().to_string())
                // Modules come from the cache that setup.sh filled, never the network.
                .env("GOPROXY", "off")
                .env("GOFLAGS", "-mod=readonly -buildvcs=false"),
            Duration::from_secs(200),
            &format!(
                "go test ./... in compat-tests/go against {} node(s) (modules missing? run \
                 compat-tests/go/setup.sh)",
                brokers.len()
            ),
        )
    });
    let out = match run {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let tails: Vec<String> = brokers
                .iter()
                .enumerate()
                .map(|(i, b)| format!("broker {} log tail:\n{}", i + 1, b.log_tail(60)))
                .collect();
            panic!("{msg}\n{}", tails.join("\n"));
        }
    };
    let summary: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("--- ") || l.starts_with("ok "))
        .collect();
    println!("{} node(s):\n{}", brokers.len(), summary.join("\n"));
    assert!(
        !out.contains("--- SKIP"),
        "a Go test skipped itself:\n{out}"
    );
    for name in GO_TESTS {
        assert!(
            out.contains(&format!("--- PASS: {name} ")),
            "Go test {name} did not pass (or did not run):\n{out}"
        );
    }
}

#[test]
fn go_clients_judge_a_single_broker() {
    run_go_tests(&[Broker::start(BROKER_ARGS)]);
}

#[test]
fn go_clients_judge_a_three_node_cluster() {
    run_go_tests(&start_cluster(3, BROKER_ARGS));
}
