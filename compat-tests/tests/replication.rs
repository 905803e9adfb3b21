//! Replication on three nodes (issue 15), judged by confluent-kafka: a topic
//! with replication factor 3 and `min.insync.replicas=2` keeps every
//! acknowledged record of an idempotent `acks=all` producer when the leader
//! of a partition is killed with SIGKILL, or stopped with SIGTERM
//! (controlled shutdown), in the middle of the load; the node comes back,
//! catches up, rejoins the ISR, and the whole sequence reads back without a
//! gap, duplicate or reordering through every node.

use std::process::Command;
use std::time::Duration;

use std::time::Instant;

use memorystreamer_compat_tests::{http_get, python, run_ok, script, start_cluster, Broker};

/// Sum of `memorystreamer_under_replicated_partitions` over `nodes` (each
/// leader counts its own partitions), None while a node does not answer.
fn under_replicated(nodes: &[&Broker]) -> Option<f64> {
    nodes
        .iter()
        .map(|b| {
            http_get(b.metrics_port, "/metrics")?
                .lines()
                .find(|l| l.starts_with("memorystreamer_under_replicated_partitions "))
                .and_then(|l| l.split_whitespace().last())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .sum()
}

/// Polls the cluster's under-replicated count until `ok`, with a deadline.
fn wait_under_replicated(nodes: &[&Broker], what: &str, ok: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = under_replicated(nodes);
        if v.is_some_and(&ok) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: under-replicated partitions {v:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs one step of `replication.py` through `bootstrap` (one node's
/// address, or all of them when a node is taken down during the step).
fn step(broker: &Broker, bootstrap: &str, cmd: &str, extra: &[&str]) -> String {
    let out = run_ok(
        Command::new(python())
            .arg(script("python/replication.py"))
            .arg(cmd)
            .args(["--bootstrap", bootstrap])
            .args(extra),
        Duration::from_secs(300),
        &format!(
            "replication.py {cmd}\nbroker log tail:\n{}",
            broker.log_tail(40)
        ),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("replication.py {cmd}:\n{text}");
    text
}

fn pids(nodes: &[Broker]) -> String {
    nodes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.pid().map(|p| format!("{}:{p}", i + 1)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs the failover scenario with `signal`, restarts the node it took
/// down, waits for a full ISR again and reads everything through each node.
fn failover(signal: &str, topic: &str) {
    let mut nodes = start_cluster(
        3,
        &[
            "-o",
            "broker.session.timeout.ms=2000",
            "-o",
            "replica.lag.time.max.ms=5000",
        ],
    );
    let all = nodes
        .iter()
        .map(Broker::bootstrap)
        .collect::<Vec<_>>()
        .join(",");
    let out = step(
        &nodes[0],
        &all,
        "failover",
        &[
            "--topic",
            topic,
            "--pids",
            &pids(&nodes),
            "--signal",
            signal,
        ],
    );
    assert!(out.contains("failover ok"), "{out}");
    assert!(out.contains("verified:"), "{out}");
    let killed: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("KILLED="))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no KILLED= line in {out}"));
    let idx = killed - 1;
    // The survivors lead every partition with an ISR of two out of three.
    let survivors: Vec<&Broker> = (0..3).filter(|i| *i != idx).map(|i| &nodes[i]).collect();
    wait_under_replicated(&survivors, "with a node down", |v| v >= 3.0);
    if signal == "TERM" {
        assert!(
            nodes[idx]
                .log()
                .contains("controlled shutdown: leadership moved"),
            "SIGTERM moved leadership before exiting:\n{}",
            nodes[idx].log_tail(30)
        );
    }
    nodes[idx].restart();
    let survivor = if idx == 0 { 1 } else { 0 };
    let out = step(
        &nodes[survivor],
        &nodes[survivor].bootstrap(),
        "isr",
        &["--topic", topic, "--size", "3"],
    );
    assert!(out.contains("isr ok"), "{out}");
    let all: Vec<&Broker> = nodes.iter().collect();
    wait_under_replicated(&all, "after the node rejoined", |v| v == 0.0);
    for n in &nodes {
        let out = step(n, &n.bootstrap(), "verify", &["--topic", topic]);
        assert!(out.contains("verify ok"), "{out}");
    }
}

#[test]
fn an_acks_all_idempotent_producer_loses_nothing_when_the_leader_is_killed() {
    failover("KILL", "replicated-kill");
}

#[test]
fn sigterm_moves_leadership_first_and_loses_nothing() {
    failover("TERM", "replicated-term");
}
