//! Consumer groups judged by real clients: confluent-kafka members sharing
//! partitions under `range` and `cooperative-sticky`, a member leaving,
//! committed offsets (with metadata) surviving `kill -9`, kafka-python and
//! KafkaJS group consumers, and the admin client's group views.

use std::process::Command;
use std::time::Duration;

use memorystreamer_compat_tests::{node_dir, python, run_ok, script, Broker};

const LIMIT: Duration = Duration::from_secs(240);

fn groups(broker: &Broker, cmd: &str, group: &str, extra: &[&str]) -> String {
    let out = run_ok(
        Command::new(python())
            .arg(script("python/groups.py"))
            .arg(cmd)
            .args([
                "--bootstrap",
                &broker.bootstrap(),
                "--topic",
                "grouped",
                "--group",
                group,
            ])
            .args(extra),
        LIMIT,
        &format!("groups.py {cmd}\nbroker log:\n{}", broker.log()),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn consumer_groups_with_real_clients() {
    let mut broker = Broker::start(&[]);
    groups(&broker, "prepare", "-", &[]);

    let out = groups(&broker, "balance", "g-range", &["--strategy", "range"]);
    assert!(out.contains("balance with range ok"), "{out}");
    let out = groups(
        &broker,
        "balance",
        "g-coop",
        &["--strategy", "cooperative-sticky"],
    );
    assert!(out.contains("balance with cooperative-sticky ok"), "{out}");

    groups(&broker, "commit", "g-durable", &[]);
    broker.kill9();
    broker.restart();
    let out = groups(&broker, "resume", "g-durable", &[]);
    assert!(out.contains("metadata round-tripped"), "{out}");

    groups(&broker, "kafka-python", "g-kafka-python", &[]);
    run_ok(
        Command::new("node")
            .current_dir(node_dir())
            .arg("consume.js")
            .arg(broker.bootstrap())
            // 600 prepared + 10 late records per partition from each balance run.
            .args(["grouped", "g-kafkajs", "720"]),
        LIMIT,
        "kafkajs consume.js",
    );

    let out = groups(&broker, "admin", "g-durable", &[]);
    assert!(
        out.contains("admin list/describe/offsets/delete ok"),
        "{out}"
    );
}
