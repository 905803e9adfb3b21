//! Three nodes form one cluster (issue 6), judged by confluent-kafka through
//! a single bootstrap node: partitions spread over the nodes, produce and
//! group consumption, the active controller killed under a live admin client
//! (Metadata never names it; the same client creates a topic), a topic
//! created on the survivors, the dead node restarted and metadata identical everywhere.

use std::process::Command;
use std::time::{Duration, Instant};

use memorystreamer_compat_tests::{http_get, python, run_ok, script, start_cluster, Broker};

/// The value of an unlabelled gauge on a node's `/metrics`.
fn gauge(b: &Broker, name: &str) -> Option<f64> {
    http_get(b.metrics_port, "/metrics")?
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}

fn step(broker: &Broker, cmd: &str, extra: &[&str]) -> String {
    let out = run_ok(
        Command::new(python())
            .arg(script("python/cluster.py"))
            .arg(cmd)
            .args(["--bootstrap", &broker.bootstrap()])
            .args(extra),
        Duration::from_secs(240),
        &format!(
            "cluster.py {cmd}\nbroker log tail:\n{}",
            broker.log_tail(30)
        ),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The node whose `/metrics` says it is the active controller (the quorum
/// leader), polled with a deadline among `candidates`.
fn active_controller(nodes: &[Broker], candidates: &[usize]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let active: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| gauge(&nodes[*i], "memorystreamer_controller_active") == Some(1.0))
            .collect();
        if let [one] = active[..] {
            return one;
        }
        assert!(
            Instant::now() < deadline,
            "no single active controller among {candidates:?}: {active:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_nodes_survive_losing_the_controller() {
    let mut nodes = start_cluster(3, &["-o", "broker.session.timeout.ms=3000"]);
    let out = step(&nodes[0], "formed", &[]);
    assert!(out.contains("formed: 3 brokers"), "{out}");
    // Kill the quorum leader under a warmed-up admin client that keeps
    // working: Metadata never names the dead node as controller.
    let leader = active_controller(&nodes, &[0, 1, 2]);
    let survivor = if leader == 0 { 1 } else { 0 };
    let pid = nodes[leader].pid().expect("leader running").to_string();
    let dead = (leader + 1).to_string();
    let out = step(
        &nodes[survivor],
        "kill-with-admin",
        &["--dead", &dead, "--dead-pid", &pid],
    );
    assert!(out.contains("topic created through the old admin"), "{out}");
    nodes[leader].kill9(); // reap the process the script killed
    let out = step(&nodes[survivor], "after-kill", &["--dead", &dead]);
    assert!(out.contains("after kill:"), "{out}");
    // The new quorum leader reports the fenced broker and its offline partitions.
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    let c = &nodes[active_controller(&nodes, &others)];
    assert_eq!(gauge(c, "memorystreamer_fenced_brokers"), Some(1.0));
    assert!(
        gauge(c, "memorystreamer_offline_partitions").unwrap_or(0.0) >= 2.0,
        "the dead node's partitions are offline"
    );
    nodes[leader].restart();
    let all = nodes
        .iter()
        .map(Broker::bootstrap)
        .collect::<Vec<_>>()
        .join(",");
    let out = step(&nodes[survivor], "rejoined", &["--all", &all]);
    assert!(out.contains("identical on 3 nodes"), "{out}");
}
