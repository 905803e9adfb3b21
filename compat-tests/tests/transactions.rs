//! Kafka transactions (KIP-98, KIP-447) judged by real clients
//! (`python/transactions.py`, `node/transactions.js`):
//!
//! - a confluent-kafka transactional producer commits, aborts and commits;
//!   `read_committed` consumers see exactly the committed records, once, in
//!   order, with positions past the control records, and `read_uncommitted`
//!   sees everything; the end offsets count one marker per transaction and
//!   partition;
//! - an open transaction holds the last stable offset: neither its records
//!   nor a later non-transactional record are visible to `read_committed`
//!   until it commits (ListOffsets reports the LSO);
//! - a second producer with the same `transactional.id` fences the first,
//!   whose commit then fails fatally and whose records stay hidden;
//! - consume-transform-produce with `send_offsets_to_transaction`: a run
//!   that dies mid-transaction is fenced by its successor, and every input
//!   is transformed exactly once (the dead run's outputs are in the log but
//!   aborted, its pending offsets are discarded);
//! - an open transaction survives `kill -9` of the broker: after the restart
//!   it still holds the LSO, and the next producer with its id aborts it;
//! - kafka-python's and KafkaJS's transactional producers and
//!   `read_committed` consumers;
//! - the same commit/abort and consume-transform-produce runs on a
//!   three-node cluster, where the coordinator writes markers to partitions
//!   led by other nodes (WriteTxnMarkers) and partition leaders verify first
//!   writes with a remote coordinator (AddPartitionsToTxn v4 verify-only).

use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{
    http_get, node_dir, python, run_judged, script, start_cluster, Broker,
};

const LIMIT: Duration = Duration::from_secs(300);

/// `python/transactions.py <cmd> --bootstrap <broker> <args…>`.
fn txn(broker: &Broker, cmd: &str, args: &[&str]) -> String {
    run_judged(
        broker,
        Command::new(python())
            .arg(script("python/transactions.py"))
            .arg(cmd)
            .args(["--bootstrap", &broker.bootstrap()])
            .args(args),
        LIMIT,
        80,
        &format!("transactions.py {cmd} {}", args.join(" ")),
    )
}

#[test]
fn read_committed_sees_only_committed_transactions() {
    let broker = Broker::start(&[]);
    let out = txn(
        &broker,
        "commit-abort-commit",
        &[
            "--topic",
            "txn-cac",
            "--txn-id",
            "cac-producer",
            "--count",
            "30",
        ],
    );
    assert!(out.contains("commit-abort-commit ok"), "{out}");
    // Two commits and one abort over three partitions, as counted on /metrics.
    let metrics = http_get(broker.metrics_port, "/metrics").expect("scrape /metrics");
    let sample = |name: &str| {
        metrics
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(
        sample("memorystreamer_txn_markers_written_total{result=\"commit\"}"),
        Some(6.0),
        "{metrics}"
    );
    assert_eq!(
        sample("memorystreamer_txn_markers_written_total{result=\"abort\"}"),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        sample("memorystreamer_transactions{state=\"CompleteCommit\"}"),
        Some(1.0),
        "{metrics}"
    );
    let out = txn(
        &broker,
        "open-txn-blocks",
        &[
            "--topic",
            "txn-open",
            "--txn-id",
            "open-producer",
            "--count",
            "5",
        ],
    );
    assert!(out.contains("open-txn-blocks ok"), "{out}");
}

#[test]
fn second_producer_with_the_same_transactional_id_fences_the_first() {
    let broker = Broker::start(&[]);
    let out = txn(
        &broker,
        "fence",
        &[
            "--topic",
            "txn-fence",
            "--txn-id",
            "fenced-producer",
            "--count",
            "10",
        ],
    );
    assert!(out.contains("zombie commit refused"), "{out}");
    assert!(out.contains("fence ok"), "{out}");
}

#[test]
fn consume_transform_produce_is_exactly_once_across_a_crashed_run() {
    let broker = Broker::start(&[]);
    let common = [
        "--topic",
        "ctp-in",
        "--output",
        "ctp-out",
        "--partitions",
        "3",
        "--count",
        "300",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        common.iter().chain(extra.iter()).copied().collect()
    };
    let out = txn(&broker, "ctp-setup", &common);
    assert!(out.contains("300 records over 3 partitions"), "{out}");
    let run_args = with(&[
        "--txn-id",
        "ctp-app",
        "--group",
        "ctp-group",
        "--batch",
        "20",
    ]);

    let mut dying = run_args.clone();
    dying.extend(["--die-after", "3"]);
    let out = txn(&broker, "ctp-run", &dying);
    assert!(
        out.contains("ctp-run died mid-transaction after 3 commits"),
        "{out}"
    );

    let out = txn(&broker, "ctp-run", &run_args);
    assert!(out.contains("ctp-run ok"), "{out}");

    let out = txn(&broker, "ctp-verify", &with(&["--group", "ctp-group"]));
    assert!(
        out.contains("ctp-verify ok: 300 inputs transformed exactly once"),
        "{out}"
    );
}

#[test]
fn open_transaction_survives_kill9_and_is_aborted_by_the_next_producer() {
    let mut broker = Broker::start(&[]);
    let args = [
        "--topic",
        "txn-kill9",
        "--txn-id",
        "kill9-producer",
        "--count",
        "12",
    ];
    let out = txn(&broker, "kill9-begin", &args);
    assert!(out.contains("open txn flushed"), "{out}");
    broker.kill9();
    broker.restart();
    let out = txn(&broker, "kill9-after", &args);
    assert!(out.contains("kill9 ok"), "{out}");
}

#[test]
fn kafka_python_and_kafkajs_transactions() {
    let broker = Broker::start(&[]);
    let out = txn(
        &broker,
        "kafka-python-txn",
        &[
            "--topic",
            "txn-kafka-python",
            "--txn-id",
            "kafka-python-producer",
            "--count",
            "10",
        ],
    );
    assert!(out.contains("kafka-python-txn ok"), "{out}");

    let out = run_judged(
        &broker,
        Command::new("node")
            .current_dir(node_dir())
            .arg("transactions.js")
            .arg(broker.bootstrap())
            .args(["txn-kafkajs", "kafkajs-producer", "kafkajs-readers", "10"]),
        LIMIT,
        80,
        "kafkajs transactions.js",
    );
    assert!(out.contains("kafkajs transactions ok"), "{out}");
}

#[test]
fn transactions_span_a_three_node_cluster() {
    let nodes = start_cluster(3, &[]);
    let entry = &nodes[0];
    let out = txn(
        entry,
        "commit-abort-commit",
        &[
            "--topic",
            "txn-cluster",
            "--txn-id",
            "cluster-producer",
            "--count",
            "60",
            "--partitions",
            "6",
        ],
    );
    assert!(out.contains("commit-abort-commit ok"), "{out}");
    let ctp = [
        "--topic",
        "ctp-cluster-in",
        "--output",
        "ctp-cluster-out",
        "--partitions",
        "6",
        "--count",
        "240",
    ];
    let out = txn(entry, "ctp-setup", &ctp);
    assert!(out.contains("240 records over 6 partitions"), "{out}");
    let mut run: Vec<&str> = ctp.to_vec();
    run.extend([
        "--txn-id",
        "ctp-cluster-app",
        "--group",
        "ctp-cluster-group",
        "--batch",
        "20",
    ]);
    let mut dying = run.clone();
    dying.extend(["--die-after", "2"]);
    let out = txn(entry, "ctp-run", &dying);
    assert!(
        out.contains("died mid-transaction after 2 commits"),
        "{out}"
    );
    let out = txn(entry, "ctp-run", &run);
    assert!(out.contains("ctp-run ok"), "{out}");
    let mut verify: Vec<&str> = ctp.to_vec();
    verify.extend(["--group", "ctp-cluster-group"]);
    let out = txn(entry, "ctp-verify", &verify);
    assert!(out.contains("240 inputs transformed exactly once"), "{out}");
}
