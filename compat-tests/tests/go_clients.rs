//! The Go clients as judges: franz-go (kgo + kadm) and IBM Sarama, pinned in
//! `compat-tests/go/go.mod`, run by `go test` against the real binary.
//!
//! This file only starts the broker, runs `go test -count=1 ./...` in
//! `compat-tests/go` with the broker's address in `COMPAT_KAFKA_BOOTSTRAP`,
//! and checks that every expected Go test passed; the scenarios and their
//! assertions live in the Go test files. The modules must be in the module
//! cache already (`compat-tests/go/setup.sh`, called by `scripts/test.sh`):
//! the run sets `GOPROXY=off` so it never reaches the network.

use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{run_judged, script, Broker};

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
    "TestSaramaClusterAdmin",
    "TestSaramaTransactions",
];

#[test]
fn go_clients_judge_the_broker() {
    let go_dir = script("go");
    let found = Command::new("go").arg("version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "the Go toolchain (`go`) is not on PATH: install Go 1.26 or newer, then run \
         compat-tests/go/setup.sh ({found:?})"
    );
    // The Go tests rebalance groups: no initial rebalance delay keeps them short.
    let broker = Broker::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
    let out = run_judged(
        &broker,
        Command::new("go")
            .current_dir(&go_dir)
            .args(["test", "-count=1", "-v", "-timeout", "170s", "./..."])
            .env("COMPAT_KAFKA_BOOTSTRAP", broker.bootstrap())
            // Modules come from the cache that setup.sh filled, never the network.
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=readonly -buildvcs=false"),
        Duration::from_secs(200),
        80,
        "go test ./... in compat-tests/go (modules missing? run compat-tests/go/setup.sh)",
    );
    let summary: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("--- ") || l.starts_with("ok ") || l.starts_with("PASS"))
        .collect();
    println!("{}", summary.join("\n"));
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
