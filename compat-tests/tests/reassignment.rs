//! Partition reassignment on three nodes (AlterPartitionReassignments and
//! ListPartitionReassignments, keys 45 and 46), judged by Apache Kafka's
//! `kafka-reassign-partitions` tool (4.1.2, `java/bin/`; its `--list` and
//! `--verify` use the Java Admin client's `listPartitionReassignments`) and
//! librdkafka: a replica moves from node 1 to nodes 2 and 3 while node 3
//! is down (the move is seen in progress, with the full replica set in
//! Metadata), completes once node 3 is back and caught up, node 1 deletes
//! its copy; a second topic grows from replication factor 1 to 3; then node
//! 1 is killed and every record of both topics is read back from the new
//! replicas, in order.

use std::time::{Duration, Instant};

use memorystreamer_compat_tests::{kafka_tool, start_cluster, Broker};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

const RECORDS: usize = 500;

/// Runs `kafka-reassign-partitions args…` against `via`.
fn reassign_tool(via: &Broker, args: &[&str]) -> String {
    kafka_tool(via, "kafka-reassign-partitions", args)
}

/// (leader, replicas, isr) of partition 0 of `topic`, through `via`.
fn partition(via: &Broker, topic: &str) -> Option<(i32, Vec<i32>, Vec<i32>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", via.bootstrap())
        .create()
        .ok()?;
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()?;
    let t = md.topics().iter().find(|t| t.name() == topic)?;
    let p = t.partitions().iter().find(|p| p.id() == 0)?;
    let mut isr = p.isr().to_vec();
    isr.sort_unstable();
    Some((p.leader(), p.replicas().to_vec(), isr))
}

/// Polls `what` until it returns Some, with a deadline.
fn wait<T>(via: &Broker, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\nlog tail:\n{}",
            via.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn produce(via: &Broker, topic: &str) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", via.bootstrap())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create()
        .expect("producer");
    for i in 0..RECORDS {
        let value = format!("{topic}-{i}");
        let mut rec = BaseRecord::<(), String>::to(topic)
            .partition(0)
            .payload(&value);
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "send: {e}"
                    );
                    rec = r;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
    }
    producer
        .flush(Duration::from_secs(60))
        .expect("every record acknowledged");
}

/// Reads partition 0 of `topic` from the beginning through `via` until
/// `RECORDS` records, and checks they are exactly what was produced.
fn consume_all(via: &Broker, topic: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", via.bootstrap())
        .set("group.id", format!("reassign-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("offset");
    consumer.assign(&tpl).expect("assign");
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while got.len() < RECORDS {
        assert!(
            Instant::now() < deadline,
            "read {} of {RECORDS} records of {topic}\nlog tail:\n{}",
            got.len(),
            via.log_tail(40)
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
        }
    }
    let want: Vec<String> = (0..RECORDS).map(|i| format!("{topic}-{i}")).collect();
    assert_eq!(got, want, "{topic} reads back whole and in order");
}

fn write_plan(dir: &std::path::Path, name: &str, json: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, json).expect("write the reassignment plan");
    path.to_string_lossy().into_owned()
}

#[test]
fn kafka_reassign_partitions_moves_replicas_and_grows_the_replication_factor() {
    let mut nodes = start_cluster(
        3,
        &[
            "-o",
            // Long enough for the tool to still see killed node 3 as a
            // live broker (it checks the plan's brokers with
            // DescribeCluster) while it starts the move.
            "broker.session.timeout.ms=15000",
            "-o",
            "replica.lag.time.max.ms=5000",
        ],
    );
    let plans = tempfile::tempdir().expect("tempdir");
    for topic in ["moved", "grown"] {
        kafka_tool(
            &nodes[0],
            "kafka-topics",
            &["--create", "--topic", topic, "--replica-assignment", "1"],
        );
        wait(&nodes[0], "the topic", || {
            partition(&nodes[0], topic).filter(|p| p.0 == 1)
        });
        produce(&nodes[0], topic);
    }
    assert!(nodes[0].data_dir.join("moved-0").is_dir());

    // Move "moved" from node 1 to nodes 2 and 3 while 3 is down (killed
    // just before, not fenced yet): 2 catches up, 3 cannot, so the move
    // stays in progress.
    nodes[2].kill9();
    let moved = write_plan(
        plans.path(),
        "moved.json",
        r#"{"version":1,"partitions":[{"topic":"moved","partition":0,"replicas":[2,3]}]}"#,
    );
    let out = reassign_tool(
        &nodes[0],
        &["--reassignment-json-file", &moved, "--execute"],
    );
    assert!(
        out.contains("Successfully started partition reassignment"),
        "{out}"
    );
    let p = wait(&nodes[0], "node 2 in the ISR", || {
        partition(&nodes[0], "moved").filter(|p| p.2.contains(&2))
    });
    assert_eq!(p.1, vec![2, 3, 1], "Metadata shows the full replica set");
    let out = reassign_tool(&nodes[0], &["--list"]);
    assert!(
        out.contains("moved-0: replicas: 2,3,1. adding: 2,3. removing: 1."),
        "--list shows the move in progress:\n{out}"
    );
    let out = reassign_tool(
        &nodes[1],
        &[
            "--reassignment-json-file",
            &moved,
            "--verify",
            "--preserve-throttles",
        ],
    );
    assert!(
        out.contains("Reassignment of partition moved-0 is still in progress"),
        "{out}"
    );

    // Grow "grown" from replication factor 1 to 3 (node 3 comes back).
    nodes[2].restart();
    let grown = write_plan(
        plans.path(),
        "grown.json",
        r#"{"version":1,"partitions":[{"topic":"grown","partition":0,"replicas":[1,2,3]}]}"#,
    );
    reassign_tool(
        &nodes[0],
        &["--reassignment-json-file", &grown, "--execute"],
    );
    for (plan, topic) in [(&moved, "moved"), (&grown, "grown")] {
        wait(&nodes[0], &format!("{topic} reassigned"), || {
            let out = reassign_tool(
                &nodes[0],
                &[
                    "--reassignment-json-file",
                    plan,
                    "--verify",
                    "--preserve-throttles",
                ],
            );
            out.contains(&format!("Reassignment of partition {topic}-0 is completed"))
                .then_some(())
        });
    }
    let p = wait(&nodes[1], "moved on 2 and 3", || {
        partition(&nodes[1], "moved").filter(|p| p.1 == vec![2, 3] && p.2 == vec![2, 3])
    });
    assert_eq!(p.0, 2, "the first target replica leads after node 1 left");
    wait(&nodes[1], "grown to 3 in sync", || {
        partition(&nodes[1], "grown").filter(|p| p.1 == vec![1, 2, 3] && p.2 == vec![1, 2, 3])
    });
    let out = reassign_tool(&nodes[0], &["--list"]);
    assert!(
        out.contains("No partition reassignments found"),
        "nothing in progress any more:\n{out}"
    );
    // Node 1 deleted its copy of the moved partition.
    wait(&nodes[0], "node 1's moved-0 deleted", || {
        (!nodes[0].data_dir.join("moved-0").exists()).then_some(())
    });
    assert!(nodes[1].data_dir.join("moved-0").is_dir());
    assert!(nodes[2].data_dir.join("moved-0").is_dir());

    // Without node 1, both topics read back whole from the new replicas.
    nodes[0].kill9();
    for topic in ["moved", "grown"] {
        wait(&nodes[1], &format!("{topic} led without node 1"), || {
            partition(&nodes[1], topic).filter(|p| p.0 == 2 || p.0 == 3)
        });
        consume_all(&nodes[1], topic);
    }
}
