//! `kafka-transactions` (list, describe, describe-producers) against
//! transactions made by confluent-kafka.

use std::process::Command;

use memorystreamer_compat_tests::{python, run_judged, Broker};

use super::{rows, run, LIMIT};

/// One committed and one open transaction from confluent-kafka, as
/// `kafka-transactions list / describe / describe-producers` show them.
pub(crate) fn transactions(broker: &Broker) {
    let out = run(
        broker,
        "kafka-topics",
        &["--create", "--topic", "tools-t", "--partitions", "1"],
    );
    assert_eq!(out, "Created topic tools-t.\n");
    let program = r#"
import sys
from confluent_kafka import Producer
bootstrap, txn_id, topic, end = sys.argv[1:5]
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
p.init_transactions(30)
p.begin_transaction()
for i in range(5):
    p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=0)
if p.flush(30) != 0:
    sys.exit("FAIL: records not delivered")
if end == "commit":
    p.commit_transaction(30)
print("ok")
"#;
    for (id, end) in [("tools-tx-done", "commit"), ("tools-tx-open", "leave-open")] {
        let out = run_judged(
            broker,
            Command::new(python()).args(["-c", program, &broker.bootstrap(), id, "tools-t", end]),
            LIMIT,
            60,
            &format!("confluent-kafka transaction {id}"),
        );
        assert_eq!(out, "ok\n");
    }
    let out = run(broker, "kafka-transactions", &["list"]);
    let r = rows(&out);
    assert_eq!(
        r[0],
        [
            "TransactionalId",
            "Coordinator",
            "ProducerId",
            "TransactionState"
        ],
        "{out}"
    );
    let state = |id: &str| {
        r.iter()
            .find(|row| row[0] == id)
            .map(|row| (row[1].clone(), row[3].clone()))
            .unwrap_or_else(|| panic!("no {id} in:\n{out}"))
    };
    assert_eq!(
        state("tools-tx-done"),
        ("1".into(), "CompleteCommit".into())
    );
    assert_eq!(state("tools-tx-open"), ("1".into(), "Ongoing".into()));

    let out = run(
        broker,
        "kafka-transactions",
        &["describe", "--transactional-id", "tools-tx-open"],
    );
    let r = rows(&out);
    assert_eq!(
        r[0],
        [
            "CoordinatorId",
            "TransactionalId",
            "ProducerId",
            "ProducerEpoch",
            "TransactionState",
            "TransactionTimeoutMs",
            "CurrentTransactionStartTimeMs",
            "TransactionDurationMs",
            "TopicPartitions"
        ],
        "{out}"
    );
    let row = &r[1];
    assert_eq!(
        (row[0].as_str(), row[1].as_str()),
        ("1", "tools-tx-open"),
        "{out}"
    );
    assert_eq!(
        (row[3].as_str(), row[4].as_str(), row[5].as_str()),
        ("0", "Ongoing", "60000"),
        "{out}"
    );
    assert_eq!(row[8], "tools-t-0", "{out}");
    let open_pid = row[2].clone();

    let out = run(
        broker,
        "kafka-transactions",
        &[
            "describe-producers",
            "--topic",
            "tools-t",
            "--partition",
            "0",
        ],
    );
    let r = rows(&out);
    assert_eq!(
        r[0],
        [
            "ProducerId",
            "ProducerEpoch",
            "LatestCoordinatorEpoch",
            "LastSequence",
            "LastTimestamp",
            "CurrentTransactionStartOffset"
        ],
        "{out}"
    );
    let open = r
        .iter()
        .find(|row| row[0] == open_pid)
        .unwrap_or_else(|| panic!("no producer {open_pid} in:\n{out}"));
    // The committed transaction: 5 records and its marker (offsets 0-5).
    assert_eq!(
        (open[2].as_str(), open[3].as_str(), open[5].as_str()),
        ("-1", "4", "6"),
        "{out}"
    );
    // Its marker carried the coordinator epoch (0), as Kafka shows it.
    let done = r
        .iter()
        .skip(1)
        .find(|row| row[0] != open_pid)
        .unwrap_or_else(|| panic!("no committed producer in:\n{out}"));
    assert_eq!(
        (done[2].as_str(), done[3].as_str(), done[5].as_str()),
        ("0", "4", "None"),
        "{out}"
    );
}
