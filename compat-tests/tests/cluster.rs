//! Three nodes form one cluster (issue 6), judged by confluent-kafka through
//! a single bootstrap node: partitions spread over the nodes, produce and
//! group consumption, the active controller killed and a topic created on
//! the survivors, the dead node restarted and metadata identical everywhere.

use std::process::Command;
use std::time::Duration;

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

#[test]
fn three_nodes_survive_losing_the_controller() {
    let mut nodes = start_cluster(3, &["-o", "broker.session.timeout.ms=3000"]);
    let out = step(&nodes[0], "formed", &[]);
    assert!(out.contains("formed: 3 brokers"), "{out}");
    let controller: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("controller="))
        .and_then(|v| v.trim().parse().ok())
        .expect("controller id printed");
    assert!((1..=3).contains(&controller), "{out}");
    nodes[controller - 1].kill9();
    let survivor = if controller == 1 { 1 } else { 0 };
    let out = step(
        &nodes[survivor],
        "after-kill",
        &["--dead", &controller.to_string()],
    );
    assert!(out.contains("after kill:"), "{out}");
    // The new controller reports the fenced broker and its offline partitions.
    let new_controller: usize = out
        .split("after kill: controller ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .expect("new controller printed");
    let c = &nodes[new_controller - 1];
    assert_eq!(gauge(c, "memorystreamer_controller_active"), Some(1.0));
    assert_eq!(gauge(c, "memorystreamer_fenced_brokers"), Some(1.0));
    assert!(
        gauge(c, "memorystreamer_offline_partitions").unwrap_or(0.0) >= 2.0,
        "the dead node's partitions are offline"
    );
    nodes[controller - 1].restart();
    let all = nodes
        .iter()
        .map(Broker::bootstrap)
        .collect::<Vec<_>>()
        .join(",");
    let out = step(&nodes[survivor], "rejoined", &["--all", &all]);
    assert!(out.contains("identical on 3 nodes"), "{out}");
}
