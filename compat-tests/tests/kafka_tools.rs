//! Apache Kafka's own command-line tools (4.1.2, from Maven Central through
//! `java/kafka-dist/fetch.sh`, run by the wrappers in `java/bin/`) as judges:
//! every tool a Kafka operator runs daily, against one broker, with its
//! output checked exactly where it carries the answer; and
//! `kafka-metadata-quorum` against a three-node cluster, asked through every
//! node (DescribeQuorum is forwarded to the quorum leader).
//!
//! Each tool start is a JVM start (about a second); the whole file runs a
//! few dozen. What differs from Kafka is in `java/bin/FINDINGS.md`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use memorystreamer_compat_tests::{run_judged, script, Broker};

#[path = "kafka_tools/quorum.rs"]
mod quorum;
#[path = "kafka_tools/security.rs"]
mod security;
#[path = "kafka_tools/transactions.rs"]
mod transactions;

const LIMIT: Duration = Duration::from_secs(120);

/// A wrapper in `java/bin/`; fails with how to fetch Kafka's jars if they
/// are missing.
fn tool(name: &str) -> PathBuf {
    let jars = script("java/kafka-dist/lib/.complete");
    assert!(
        jars.exists(),
        "Apache Kafka's tool jars are missing ({}): run compat-tests/java/kafka-dist/fetch.sh \
         (scripts/test.sh does; needs Maven and Java 17+)",
        jars.display()
    );
    script(&format!("java/bin/{name}"))
}

/// Runs `name args…` against `broker` (`--bootstrap-server` added) and
/// returns stdout; panics with the tool's output and the broker's log tail
/// if it fails.
fn run(broker: &Broker, name: &str, args: &[&str]) -> String {
    run_with(broker, name, args, None)
}

fn run_with(broker: &Broker, name: &str, args: &[&str], stdin: Option<&PathBuf>) -> String {
    let mut cmd = Command::new(tool(name));
    cmd.args(["--bootstrap-server", &broker.bootstrap()])
        .args(args);
    if let Some(path) = stdin {
        cmd.stdin(Stdio::from(
            std::fs::File::open(path).expect("open the tool's input"),
        ));
    } else {
        cmd.stdin(Stdio::null());
    }
    run_judged(broker, &mut cmd, LIMIT, 60, &format!("{name} {args:?}"))
}

/// Runs `name args…` against `broker` expecting it to fail (exit code 1);
/// returns its stdout and stderr together.
fn run_fails(broker: &Broker, name: &str, args: &[&str]) -> String {
    let mut child = Command::new(tool(name))
        .args(["--bootstrap-server", &broker.bootstrap()])
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{name}: cannot start: {e}"));
    let deadline = Instant::now() + LIMIT;
    // The JVM writes little: the pipes cannot fill before it exits.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the tool") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} did not exit within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut pipe = pipe;
        std::io::Read::read_to_string(&mut pipe, &mut out).expect("read the tool's output");
    }
    assert_eq!(
        status.code(),
        Some(1),
        "{name} {args:?} should fail:\n{out}"
    );
    out
}

/// The rows of a whitespace-separated table (header first).
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect()
}

/// The value after `key` on its `key value` line of `kafka-metadata-quorum
/// describe --status`.
fn status_field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
}

#[test]
fn kafka_tools_against_one_broker() {
    let broker = Broker::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
    let tmp = tempfile::tempdir().expect("tempdir");

    // ---------------------------------------------------- broker-api-versions
    let out = run(&broker, "kafka-broker-api-versions", &[]);
    assert!(
        out.starts_with(&format!(
            "{} (id: 1 rack: null isFenced: false) -> (\n",
            broker.bootstrap()
        )),
        "{out}"
    );
    for line in [
        "\tProduce(0): 0 to 13 [usable: 13],",
        "\tFetch(1): 4 to 18 [usable: 18],",
        "\tApiVersions(18): 0 to 4 [usable: 4],",
        "\tDescribeQuorum(55): 0 to 2 [usable: 2],",
        "\tListTransactions(66): 0 to 2 [usable: 2],",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }

    // ------------------------------------------------------------ kafka-topics
    let out = run(
        &broker,
        "kafka-topics",
        &[
            "--create",
            "--topic",
            "tools-a",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
            "--config",
            "retention.bytes=123456",
            "--config",
            "cleanup.policy=compact",
        ],
    );
    assert_eq!(out, "Created topic tools-a.\n");
    let out = run(&broker, "kafka-topics", &["--list"]);
    assert!(out.lines().any(|l| l == "tools-a"), "{out}");
    for (args, error) in [
        (
            &["--create", "--topic", "tools-a", "--partitions", "1"][..],
            "Topic 'tools-a' already exists.",
        ),
        (
            &["--describe", "--topic", "tools-none"][..],
            "Topic 'tools-none' does not exist as expected",
        ),
    ] {
        let out = run_fails(&broker, "kafka-topics", args);
        assert!(
            out.lines()
                .any(|l| l == format!("Error while executing topic command : {error}")),
            "{args:?}:\n{out}"
        );
    }
    let describe = |broker: &Broker| {
        run(
            broker,
            "kafka-topics",
            &["--describe", "--topic", "tools-a"],
        )
    };
    let out = describe(&broker);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("Topic: tools-a\tTopicId: "), "{out}");
    assert!(
        lines[0].ends_with(
            "\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: cleanup.policy=compact,retention.bytes=123456"
        ),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    for (i, l) in lines[1..].iter().enumerate() {
        assert_eq!(
            l.trim_end(),
            format!("\tTopic: tools-a\tPartition: {i}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr:")
        );
    }
    let out = run(
        &broker,
        "kafka-topics",
        &["--alter", "--topic", "tools-a", "--partitions", "5"],
    );
    assert_eq!(out, "");
    let out = describe(&broker);
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.contains("\tPartitionCount: 5\t")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 6, "{out}");

    // ----------------------------------------------------------- kafka-configs
    // Outputs are Kafka 4.1.2's, byte for byte, for keys whose synonyms we
    // report as Kafka does (FINDINGS.md lists the keys that still differ,
    // retention.ms among them).
    let out = run(
        &broker,
        "kafka-configs",
        &[
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "tools-a",
        ],
    );
    assert_eq!(
        out,
        "Dynamic configs for topic tools-a are:\n\
         \x20 cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n\
         \x20 retention.bytes=123456 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.bytes=123456, DEFAULT_CONFIG:log.retention.bytes=-1}\n"
    );
    let out = run(
        &broker,
        "kafka-configs",
        &[
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "tools-a",
            "--add-config",
            "max.message.bytes=2000000,retention.bytes=1000000",
            "--delete-config",
            "cleanup.policy",
        ],
    );
    assert_eq!(out, "Completed updating config for topic tools-a.\n");
    let out = run(
        &broker,
        "kafka-configs",
        &[
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "tools-a",
        ],
    );
    assert_eq!(
        out,
        "Dynamic configs for topic tools-a are:\n\
         \x20 max.message.bytes=2000000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:max.message.bytes=2000000, DEFAULT_CONFIG:message.max.bytes=1048588}\n\
         \x20 retention.bytes=1000000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.bytes=1000000, DEFAULT_CONFIG:log.retention.bytes=-1}\n"
    );
    let default_brokers = ["--entity-type", "brokers", "--entity-default"];
    let out = run(
        &broker,
        "kafka-configs",
        &[
            &["--alter", "--add-config", "log.cleaner.backoff.ms=20000"][..],
            &default_brokers,
        ]
        .concat(),
    );
    assert_eq!(
        out,
        "Completed updating default config for brokers in the cluster.\n"
    );
    let out = run(
        &broker,
        "kafka-configs",
        &[&["--describe"][..], &default_brokers].concat(),
    );
    assert_eq!(
        out,
        "Default configs for brokers in the cluster are:\n\
         \x20 log.cleaner.backoff.ms=20000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.backoff.ms=20000}\n"
    );
    let broker_1 = ["--entity-type", "brokers", "--entity-name", "1"];
    let out = run(
        &broker,
        "kafka-configs",
        &[
            &["--alter", "--add-config", "log.cleaner.backoff.ms=30000"][..],
            &broker_1,
        ]
        .concat(),
    );
    assert_eq!(out, "Completed updating config for broker 1.\n");
    let out = run(
        &broker,
        "kafka-configs",
        &[&["--describe"][..], &broker_1].concat(),
    );
    assert_eq!(
        out,
        "Dynamic configs for broker 1 are:\n\
         \x20 log.cleaner.backoff.ms=30000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.backoff.ms=30000, \
         DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.backoff.ms=20000, DEFAULT_CONFIG:log.cleaner.backoff.ms=15000}\n"
    );
    let out = run(
        &broker,
        "kafka-configs",
        &[
            &["--alter", "--delete-config", "log.cleaner.backoff.ms"][..],
            &default_brokers,
        ]
        .concat(),
    );
    assert_eq!(
        out,
        "Completed updating default config for brokers in the cluster.\n"
    );
    let out = run(
        &broker,
        "kafka-configs",
        &[&["--describe"][..], &default_brokers].concat(),
    );
    assert_eq!(out, "Default configs for brokers in the cluster are:\n");

    // ------------------------------------ console producer / consumer round trip
    let out = run(
        &broker,
        "kafka-topics",
        &["--create", "--topic", "tools-g", "--partitions", "1"],
    );
    assert_eq!(out, "Created topic tools-g.\n");
    let input = tmp.path().join("records.txt");
    let records: String = (1..=10).map(|i| format!("k{i}:v{i}\n")).collect();
    std::fs::write(&input, &records).expect("write the producer's input");
    let out = run_with(
        &broker,
        "kafka-console-producer",
        &[
            "--topic",
            "tools-g",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ],
        Some(&input),
    );
    assert_eq!(out, "");
    let out = run(
        &broker,
        "kafka-console-consumer",
        &[
            "--topic",
            "tools-g",
            "--from-beginning",
            "--max-messages",
            "10",
            "--property",
            "print.key=true",
            "--property",
            "print.offset=true",
            "--property",
            "key.separator=|",
        ],
    );
    let expected: String = (1..=10)
        .map(|i| format!("Offset:{}|k{i}|v{i}\n", i - 1))
        .collect();
    assert_eq!(out, expected);

    // --------------------------------------------------- kafka-consumer-groups
    // Consume 4 of the 10 records in a group, one per poll, so the offset
    // committed on close is exactly 4.
    let out = run(
        &broker,
        "kafka-console-consumer",
        &[
            "--topic",
            "tools-g",
            "--from-beginning",
            "--max-messages",
            "4",
            "--group",
            "tools-grp",
            "--consumer-property",
            "max.poll.records=1",
        ],
    );
    assert_eq!(out, "v1\nv2\nv3\nv4\n");
    let out = run(&broker, "kafka-consumer-groups", &["--list"]);
    assert!(out.lines().any(|l| l == "tools-grp"), "{out}");
    let group_row = |broker: &Broker| -> Vec<String> {
        let out = run(
            broker,
            "kafka-consumer-groups",
            &["--describe", "--group", "tools-grp"],
        );
        // ("has no active members" goes to stderr.)
        let r = rows(&out);
        let header = r
            .iter()
            .position(|row| row[0] == "GROUP")
            .unwrap_or_else(|| panic!("no table in:\n{out}"));
        assert_eq!(
            r[header],
            [
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "LOG-END-OFFSET",
                "LAG",
                "CONSUMER-ID",
                "HOST",
                "CLIENT-ID"
            ]
        );
        assert_eq!(r.len(), header + 2, "one partition:\n{out}");
        r[header + 1].clone()
    };
    assert_eq!(
        group_row(&broker),
        ["tools-grp", "tools-g", "0", "4", "10", "6", "-", "-", "-"],
        "lag = 10 produced - 4 consumed"
    );
    let out = run(
        &broker,
        "kafka-consumer-groups",
        &["--describe", "--group", "tools-grp", "--state"],
    );
    let r = rows(&out);
    assert!(
        r.iter().any(|row| row[0] == "tools-grp"
            && row.contains(&"Empty".to_string())
            && row.last().map(String::as_str) == Some("0")),
        "{out}"
    );
    let out = run(
        &broker,
        "kafka-consumer-groups",
        &[
            "--group",
            "tools-grp",
            "--reset-offsets",
            "--to-earliest",
            "--topic",
            "tools-g",
            "--execute",
        ],
    );
    assert_eq!(
        rows(&out),
        [
            vec!["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
            vec!["tools-grp", "tools-g", "0", "0"]
        ],
        "{out}"
    );
    assert_eq!(
        group_row(&broker),
        ["tools-grp", "tools-g", "0", "0", "10", "10", "-", "-", "-"]
    );
    let out = run(
        &broker,
        "kafka-consumer-groups",
        &["--delete", "--group", "tools-grp"],
    );
    assert_eq!(
        out.trim(),
        "Deletion of requested consumer groups ('tools-grp') was successful."
    );
    let out = run(&broker, "kafka-consumer-groups", &["--list"]);
    assert!(!out.lines().any(|l| l == "tools-grp"), "{out}");

    // --------------------------------------- kafka-get-offsets / delete-records
    let out = run(&broker, "kafka-get-offsets", &["--topic", "tools-g"]);
    assert_eq!(out, "tools-g:0:10\n");
    let out = run(
        &broker,
        "kafka-get-offsets",
        &["--topic", "tools-g", "--time", "-2"],
    );
    assert_eq!(out, "tools-g:0:0\n");
    let offsets = tmp.path().join("delete.json");
    std::fs::write(
        &offsets,
        r#"{"partitions":[{"topic":"tools-g","partition":0,"offset":3}],"version":1}"#,
    )
    .expect("write the offsets file");
    let out = run(
        &broker,
        "kafka-delete-records",
        &["--offset-json-file", offsets.to_str().expect("utf-8 path")],
    );
    assert_eq!(
        out,
        "Executing records delete operation\n\
         Records delete operation completed:\n\
         partition: tools-g-0\tlow_watermark: 3\n"
    );
    let out = run(
        &broker,
        "kafka-get-offsets",
        &["--topic", "tools-g", "--time", "-2"],
    );
    assert_eq!(out, "tools-g:0:3\n");
    let out = run(
        &broker,
        "kafka-get-offsets",
        &["--topic", "tools-g", "--time", "-1"],
    );
    assert_eq!(out, "tools-g:0:10\n");

    // --------------------------------------------------------- kafka-log-dirs
    let out = run(
        &broker,
        "kafka-log-dirs",
        &["--describe", "--topic-list", "tools-g"],
    );
    let json = out
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in:\n{out}"));
    let data_dir = std::fs::canonicalize(&broker.data_dir).expect("data dir");
    assert!(
        json.starts_with(
            r#"{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"tools-g-0","size":"#
        ),
        "{json}"
    );
    assert!(
        json.ends_with(&format!(
            r#","offsetLag":0,"isFuture":false}}],"error":null,"logDir":"{}"}}]}}],"version":1}}"#,
            data_dir.display()
        )),
        "{json}"
    );
    let size: u64 = json
        .split(r#""size":"#)
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no size in {json}"));
    assert!(size > 0, "{json}");

    // ------------------------------------------------------ kafka-transactions
    transactions::transactions(&broker);

    // ------------------------------------------------- kafka-metadata-quorum
    let out = run(&broker, "kafka-metadata-quorum", &["describe", "--status"]);
    assert_eq!(status_field(&out, "LeaderId:"), "1", "{out}");
    assert_eq!(status_field(&out, "MaxFollowerLag:"), "0", "{out}");
    assert_eq!(status_field(&out, "MaxFollowerLagTimeMs:"), "0", "{out}");
    let hw: i64 = status_field(&out, "HighWatermark:")
        .parse()
        .expect("number");
    assert!(hw > 2, "{out}");
    assert!(
        status_field(&out, "CurrentVoters:")
            .starts_with(r#"[{"id": 1, "endpoints": ["CONTROLLER://127.0.0.1:"#),
        "{out}"
    );
    assert_eq!(status_field(&out, "CurrentObservers:"), "[]", "{out}");
    // Through the controller endpoints (KIP-919), given the Kafka listener.
    let mut cmd = Command::new(tool("kafka-metadata-quorum"));
    cmd.args(["--bootstrap-controller", &broker.bootstrap()])
        .args(["describe", "--replication"])
        .stdin(Stdio::null());
    let out = run_judged(
        &broker,
        &mut cmd,
        LIMIT,
        60,
        "kafka-metadata-quorum --bootstrap-controller",
    );
    let r = rows(&out);
    assert_eq!(r.len(), 2, "{out}");
    assert_eq!(
        (
            r[1][0].as_str(),
            r[1][1].as_str(),
            r[1][3].as_str(),
            r[1][6].as_str()
        ),
        ("1", "AAAAAAAAAAAAAAAAAAAAAA", "0", "Leader"),
        "{out}"
    );

    // -------------------------------------------------- kafka-topics --delete
    let out = run(&broker, "kafka-topics", &["--delete", "--topic", "tools-a"]);
    assert_eq!(out, "");
    let out = run(&broker, "kafka-topics", &["--list"]);
    assert!(!out.lines().any(|l| l == "tools-a"), "{out}");
}
