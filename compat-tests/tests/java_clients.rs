//! The Java clients as judges: the Maven project in `compat-tests/java/clients`
//! (JUnit 5: Admin, the default producer with every codec, consumer groups with
//! range / cooperative-sticky / static membership, read_committed and
//! transactions with sendOffsetsToTransaction, a Kafka Streams
//! exactly_once_v2 word count, and `group.protocol=consumer` failing clearly)
//! runs against a fresh broker once per pinned client line (Maven profiles
//! `kafka-4` = kafka-clients/kafka-streams 4.4.0, `kafka-3.9` = 3.9.2).
//!
//! Maven runs offline: `compat-tests/java/clients/setup.sh` (called by
//! `scripts/test.sh`) resolves every dependency first.

use std::time::Duration;

use memorystreamer_compat_tests::{mvn, Broker, JavaRun};

/// Maven profiles of the pinned client lines (versions in `pom.xml`).
const PROFILES: &[&str] = &["kafka-4", "kafka-3.9"];

/// The JUnit classes every run must report (a run that silently ran fewer fails).
const CLASSES: &[&str] = &[
    "ClientVersionTest",
    "AdminTest",
    "ProducerCodecsTest",
    "ConsumerGroupsTest",
    "TransactionsTest",
    "StreamsWordCountTest",
    "ConsumerGroupProtocolTest",
];

#[test]
fn java_clients_judge_the_broker() {
    mvn();
    for profile in PROFILES {
        // A fresh broker per client line. AdminTest pins this static override.
        let broker = Broker::start(&["-o", "group.initial.rebalance.delay.ms=0"]);
        JavaRun::classes(profile, CLASSES, Duration::from_secs(480))
            .property("bootstrap", broker.bootstrap())
            .run(std::slice::from_ref(&broker));
        assert!(
            !broker.log().contains("panicked"),
            "{profile}: the broker panicked:\n{}",
            broker.log_tail(80)
        );
        eprintln!("java clients ({profile}): {} classes passed", CLASSES.len());
    }
}
