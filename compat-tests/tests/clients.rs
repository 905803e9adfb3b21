//! The whole data path judged by real clients: confluent-kafka (librdkafka),
//! kafka-python, kcat and KafkaJS produce and consume against the real
//! binary, across every compression codec, with keys, headers and
//! timestamps; the broker is killed with SIGKILL and restarted on the same
//! data directory in between, and every acknowledged record must still be
//! there, byte for byte, at the same offset.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{node_dir, roundtrip, run_ok, Broker};

const LIMIT: Duration = Duration::from_secs(300);

fn py(broker: &Broker, cmd: &str, topic: &str, manifest: &Path, extra: &[&str]) -> String {
    roundtrip(broker, cmd, topic, manifest, extra)
}

/// KafkaJS produces `per_codec` records with each of its codecs (none, gzip)
/// to a 3-partition topic and appends what was acknowledged to `manifest`.
fn kafkajs_produce(broker: &Broker, topic: &str, manifest: &Path, per_codec: u32) {
    run_ok(
        Command::new("node")
            .current_dir(node_dir())
            .env("KAFKAJS_NO_PARTITIONER_WARNING", "1")
            .arg("produce.js")
            .arg(broker.bootstrap())
            .arg(topic)
            .arg(manifest)
            .args([&per_codec.to_string(), "20000", "3"]),
        LIMIT,
        "kafkajs produce.js",
    );
}

#[test]
fn all_clients_round_trip_and_survive_kill9() {
    let mut broker = Broker::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("manifest.jsonl");
    let topic = "compat";

    py(&broker, "create", topic, &manifest, &["--partitions", "3"]);
    // 5 codecs x 2100 = 10,500 records from librdkafka.
    let out = py(
        &broker,
        "produce-confluent",
        topic,
        &manifest,
        &["--count", "2100"],
    );
    assert_eq!(out.matches("produced 2100 records").count(), 5, "{out}");
    for cmd in [
        "consume-confluent",
        "consume-kafka-python",
        "consume-kcat",
        "offsets-by-time",
    ] {
        py(&broker, cmd, topic, &manifest, &[]);
    }

    broker.kill9();
    broker.restart();
    for cmd in ["consume-confluent", "consume-kcat"] {
        py(&broker, cmd, topic, &manifest, &[]);
    }

    // More records after the restart: offsets continue where they stopped
    // (the consumers check that offsets are dense from 0 and match exactly
    // what each producer was acknowledged).
    kafkajs_produce(&broker, topic, &manifest, 1000);
    py(
        &broker,
        "produce-kafka-python",
        topic,
        &manifest,
        &["--count", "400", "--start", "30000"],
    );
    for cmd in ["consume-confluent", "consume-kafka-python"] {
        py(&broker, cmd, topic, &manifest, &[]);
    }

    broker.kill9();
    broker.restart();
    let out = py(&broker, "consume-kcat", topic, &manifest, &[]);
    assert!(out.contains("14500 records match"), "{out}");
}

/// KafkaJS as a consumer: it has no assign-only mode (it reads as a group
/// member) and decodes none/gzip/snappy without native add-ons, so it reads
/// a topic written with those codecs by librdkafka and by itself, compared
/// record by record with what the producers were acknowledged.
#[test]
fn kafkajs_reads_what_everyone_wrote() {
    let broker = Broker::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("manifest.jsonl");
    let topic = "compat-js";
    py(&broker, "create", topic, &manifest, &["--partitions", "3"]);
    py(
        &broker,
        "produce-confluent",
        topic,
        &manifest,
        &["--count", "1000", "--codecs", "none,gzip,snappy"],
    );
    let node = node_dir();
    kafkajs_produce(&broker, topic, &manifest, 500);
    let out = run_ok(
        Command::new("node")
            .current_dir(&node)
            .arg("consume.js")
            .arg(broker.bootstrap())
            .args([topic, "kafkajs-reader", "4000"])
            .arg(&manifest),
        LIMIT,
        "kafkajs consume.js",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4000 records matching the manifest"));
}

#[test]
fn admin_clients_manage_topics() {
    let broker = Broker::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("m.jsonl");
    py(
        &broker,
        "create",
        "growing",
        &manifest,
        &["--partitions", "2"],
    );
    let out = py(
        &broker,
        "admin-grow",
        "growing",
        &manifest,
        &["--partitions", "2"],
    );
    assert!(out.contains("grew growing to 5 partitions"), "{out}");
    let out = py(&broker, "admin-configs", "growing", &manifest, &[]);
    assert!(out.contains("configs described and altered"), "{out}");
}

#[test]
fn acks0_records_are_stored() {
    let broker = Broker::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    py(
        &broker,
        "acks0",
        "acks-zero",
        &tmp.path().join("unused"),
        &["--count", "300"],
    );
}

#[test]
fn sigterm_is_graceful_and_keeps_data() {
    let mut broker = Broker::start(&[]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let manifest = tmp.path().join("m.jsonl");
    py(
        &broker,
        "create",
        "graceful",
        &manifest,
        &["--partitions", "2"],
    );
    py(
        &broker,
        "produce-confluent",
        "graceful",
        &manifest,
        &["--count", "200", "--partitions", "2"],
    );
    assert!(
        broker.terminate(),
        "broker did not exit 0 on SIGTERM:\n{}",
        broker.log()
    );
    assert!(
        broker.log().contains("shutdown complete"),
        "{}",
        broker.log()
    );
    broker.restart();
    py(&broker, "consume-confluent", "graceful", &manifest, &[]);
}
