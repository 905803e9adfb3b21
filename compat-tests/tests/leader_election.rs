//! Preferred leader election on three nodes (ElectLeaders, key 43, and
//! `auto.leader.rebalance.enable`): after the preferred replica of a
//! partition (its first replica) is killed, restarted and back in the ISR,
//! Apache Kafka's `kafka-leader-election` tool (4.1.2, `java/bin/`) with
//! `--topic/--partition` and with `--all-topic-partitions` makes it lead
//! again; with `leader.imbalance.check.interval.seconds=1` the active
//! controller does so by itself. Leaders and ISRs are read with librdkafka
//! Metadata, polled with a deadline.

use std::time::{Duration, Instant};

use memorystreamer_compat_tests::{kafka_tool, start_cluster, Broker};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

const TOPIC: &str = "elect";
const PARTITIONS: i32 = 3;

/// (leader, replicas, isr) of one partition.
type Part = (i32, Vec<i32>, Vec<i32>);

/// (leader, replicas, isr) of every partition of `TOPIC`, through `via`.
fn partitions(via: &Broker) -> Option<Vec<Part>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", via.bootstrap())
        .create()
        .ok()?;
    let md = consumer
        .fetch_metadata(Some(TOPIC), Duration::from_secs(5))
        .ok()?;
    let t = md.topics().iter().find(|t| t.name() == TOPIC)?;
    if t.error().is_some() || t.partitions().len() != PARTITIONS as usize {
        return None;
    }
    let mut out: Vec<_> = t
        .partitions()
        .iter()
        .map(|p| {
            (
                p.id(),
                (p.leader(), p.replicas().to_vec(), p.isr().to_vec()),
            )
        })
        .collect();
    out.sort_by_key(|(id, _)| *id);
    Some(out.into_iter().map(|(_, v)| v).collect())
}

/// Polls `TOPIC`'s partitions through `via` until `ok`, with a deadline.
fn wait_for(via: &Broker, what: &str, ok: impl Fn(&[Part]) -> bool) -> Vec<Part> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let parts = partitions(via);
        if let Some(p) = parts.as_ref().filter(|p| ok(p)) {
            return p.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {parts:?}\nlog tail:\n{}",
            via.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn full_isr(p: &[Part]) -> bool {
    p.iter()
        .all(|(l, r, i)| *l >= 0 && r.len() == 3 && i.len() == 3)
}

/// Three nodes and `TOPIC` (3 partitions, replication factor 3) with a full
/// ISR.
fn cluster(extra: &[&str]) -> Vec<Broker> {
    let mut args = vec!["-o", "broker.session.timeout.ms=2000"];
    args.extend_from_slice(extra);
    let nodes = start_cluster(3, &args);
    kafka_tool(
        &nodes[0],
        "kafka-topics",
        &[
            "--create",
            "--topic",
            TOPIC,
            "--partitions",
            "3",
            "--replication-factor",
            "3",
        ],
    );
    wait_for(&nodes[0], "ISR 3", full_isr);
    nodes
}

/// Kills the preferred replica of partition `index`, waits until another
/// replica leads it, restarts the node and waits for ISR 3 again. Returns
/// the preferred replica's node id and the index of a survivor.
fn bounce_preferred(nodes: &mut [Broker], index: usize) -> (i32, usize) {
    let parts = wait_for(&nodes[0], "ISR 3", full_isr);
    let preferred = parts[index].1[0];
    let k = (preferred - 1) as usize;
    let survivor = if k == 0 { 1 } else { 0 };
    nodes[k].kill9();
    wait_for(
        &nodes[survivor],
        "leadership to move off the killed node",
        |p| p[index].0 >= 0 && p[index].0 != preferred,
    );
    nodes[k].restart();
    wait_for(&nodes[survivor], "ISR 3 after the restart", full_isr);
    (preferred, survivor)
}

#[test]
fn kafka_leader_election_moves_leadership_back_to_the_preferred_replica() {
    let mut nodes = cluster(&["-o", "auto.leader.rebalance.enable=false"]);
    let (preferred, survivor) = bounce_preferred(&mut nodes, 0);
    let parts = partitions(&nodes[survivor]).expect("metadata");
    assert_ne!(parts[0].0, preferred, "no automatic rebalance: {parts:?}");

    let out = kafka_tool(
        &nodes[survivor],
        "kafka-leader-election",
        &[
            "--election-type",
            "PREFERRED",
            "--topic",
            TOPIC,
            "--partition",
            "0",
        ],
    );
    assert!(
        out.contains("Successfully completed leader election (PREFERRED) for partitions elect-0"),
        "{out}"
    );
    wait_for(
        &nodes[survivor],
        "the preferred replica to lead partition 0",
        |p| p[0].0 == preferred,
    );
    // Asked again, it is already the leader.
    let out = kafka_tool(
        &nodes[survivor],
        "kafka-leader-election",
        &[
            "--election-type",
            "PREFERRED",
            "--topic",
            TOPIC,
            "--partition",
            "0",
        ],
    );
    assert!(
        out.contains("Valid replica already elected for partitions elect-0"),
        "{out}"
    );

    // Every partition at once.
    let (preferred, survivor) = bounce_preferred(&mut nodes, 1);
    let out = kafka_tool(
        &nodes[survivor],
        "kafka-leader-election",
        &["--election-type", "PREFERRED", "--all-topic-partitions"],
    );
    assert!(
        out.contains("Successfully completed leader election (PREFERRED) for partitions")
            && out.contains("elect-1"),
        "{out}"
    );
    let parts = wait_for(&nodes[survivor], "every preferred replica leading", |p| {
        p.iter().all(|(l, r, _)| *l == r[0])
    });
    assert_eq!(parts[1].0, preferred);
    for n in &nodes {
        assert!(!n.log().contains("panicked"), "{}", n.log_tail(60));
    }
}

#[test]
fn auto_leader_rebalance_moves_leadership_back_without_the_tool() {
    let mut nodes = cluster(&["-o", "leader.imbalance.check.interval.seconds=1"]);
    let (preferred, survivor) = bounce_preferred(&mut nodes, 0);
    wait_for(
        &nodes[survivor],
        "the controller to give partition 0 back to its preferred replica",
        |p| p[0].0 == preferred,
    );
    assert!(
        nodes.iter().any(|n| n
            .log()
            .contains("leader rebalance: preferred leaders elected")),
        "the controller's rebalance did it"
    );
}
