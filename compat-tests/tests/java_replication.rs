//! Replication on three nodes judged by the Java clients (issue 15):
//! `ReplicationScenario` in `compat-tests/java/clients` (kafka-clients
//! 4.4.0 and 3.9.2, Maven profiles `kafka-4` and `kafka-3.9`, a fresh
//! cluster each), one step per Maven run, with this test
//! restarting the nodes a step SIGKILLed in between:
//!
//! 1. `failover`: the Admin creates a topic with replication factor 3 and
//!    `min.insync.replicas=2` (3 replicas and ISR 3 per partition), an
//!    idempotent `acks=all` producer writes numbered records while the
//!    leader of partition 0 is killed, a consumer group reads every
//!    acknowledged record back exactly once, in order;
//! 2. the node restarts and `rejoin` waits for ISR 3 everywhere;
//! 3. `coordinatorFailover`: committed offsets survive killing the group's
//!    coordinator (a new member resumes at them: nothing committed re-read,
//!    nothing skipped); the coordinator restarts, `rejoin` again;
//! 4. `electPreferred`: `Admin.electLeaders(PREFERRED)` moves leadership
//!    back to the preferred replicas (ElectLeaders, key 43).
//!
//! Fails (never skips) when Maven, Java or the client jars are missing
//! (`compat-tests/java/clients/setup.sh` resolves them).

use std::time::Duration;

use memorystreamer_compat_tests::{mvn, start_cluster, Broker, JavaRun};

fn pids(nodes: &[Broker]) -> String {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.pid().map(|p| format!("{}:{p}", i + 1)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs `ReplicationScenario#<step>` with the client line of Maven profile
/// `profile` against every node of `nodes`, and checks its report says the
/// step ran and passed.
fn step(nodes: &[Broker], profile: &str, step: &str, topic: &str, state: &std::path::Path) {
    let bootstrap = nodes
        .iter()
        .map(Broker::bootstrap)
        .collect::<Vec<_>>()
        .join(",");
    JavaRun::step(
        profile,
        "ReplicationScenario",
        step,
        Duration::from_secs(420),
    )
    .property("bootstrap", bootstrap)
    .property("pids", pids(nodes))
    .property("topic", topic)
    .property("state", state.display())
    .run(nodes);
}

/// The node id the last step killed (from the state file).
fn killed(state: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(state).expect("the scenario's state file");
    text.lines()
        .find_map(|l| l.strip_prefix("killed="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no killed= in the state file:\n{text}"))
}

/// Maven profiles of the pinned client lines (versions in `pom.xml`).
const PROFILES: &[&str] = &["kafka-4", "kafka-3.9"];

#[test]
fn java_clients_judge_replication_on_three_nodes() {
    mvn();
    for profile in PROFILES {
        scenario(profile);
    }
}

/// The whole scenario on a fresh cluster with the client line of `profile`.
fn scenario(profile: &str) {
    let mut nodes = start_cluster(
        3,
        &[
            "-o",
            "broker.session.timeout.ms=2000",
            "-o",
            "replica.lag.time.max.ms=5000",
            "-o",
            "group.initial.rebalance.delay.ms=0",
            // Leadership stays where failover put it until electLeaders.
            "-o",
            "auto.leader.rebalance.enable=false",
        ],
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("state.properties");
    let topic = "java-replicated";
    let run = |nodes: &[Broker], name: &str| step(nodes, profile, name, topic, &state);
    run(&nodes, "failover");
    let first = killed(&state);
    assert!((1..=3).contains(&first), "killed node {first}");
    nodes[first - 1].restart();
    run(&nodes, "rejoin");
    run(&nodes, "coordinatorFailover");
    let coordinator = killed(&state);
    assert!((1..=3).contains(&coordinator), "killed node {coordinator}");
    nodes[coordinator - 1].restart();
    run(&nodes, "rejoin");
    run(&nodes, "electPreferred");
    for (i, n) in nodes.iter().enumerate() {
        assert!(
            !n.log().contains("panicked"),
            "{profile}: node {} panicked:\n{}",
            i + 1,
            n.log_tail(60)
        );
    }
}
