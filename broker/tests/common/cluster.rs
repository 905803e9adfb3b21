//! Helpers for tests that run brokers as processes (clusters): the
//! kill-on-drop guard, spawning a node, its logs and metrics, the TLS
//! fixtures, and the properties and waits those tests share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use super::{answers_kafka, batch, free_port, produce, topic_name, Client};

/// Broker processes, killed when dropped (a failing assertion included).
pub struct Nodes(pub Vec<std::process::Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts the broker binary with `--data-dir <node>/data` and each of
/// `props` as `-o key=value`, logging to `<node>/broker.log`.
pub fn spawn_broker(node: &std::path::Path, props: &[String]) -> std::process::Child {
    std::fs::create_dir_all(node).expect("node dir");
    let log = std::fs::File::create(node.join("broker.log")).expect("log");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_memorystreamer"));
    cmd.arg("--data-dir").arg(node.join("data"));
    for p in props {
        cmd.arg("-o").arg(p);
    }
    cmd.env("RUST_LOG", "info,openraft=warn")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::from(log.try_clone().expect("clone")))
        .stderr(std::process::Stdio::from(log))
        .spawn()
        .expect("spawn a node")
}

/// The logs of nodes `1..=n` under `dir` (`node<i>/broker.log`), for
/// assertion messages.
pub fn node_logs(dir: &std::path::Path, n: usize) -> String {
    (1..=n)
        .map(|i| {
            let path = dir.join(format!("node{i}/broker.log"));
            format!(
                "node {i}:\n{}",
                std::fs::read_to_string(path).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A TLS fixture of the sasl crate (`sasl/tests/fixtures/tls/<name>`).
pub fn tls_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sasl/tests/fixtures/tls")
        .join(name)
}

/// The body of `GET /metrics` at `addr`, if it answers 200.
pub fn scrape(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.1 200").then_some(text)
}

/// The value of the Prometheus sample whose line starts with `series`
/// (name and labels, e.g. `m_total{listener="X"}`) in `text`, 0 when absent.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `n` free loopback ports.
pub fn free_ports(n: usize) -> Vec<u16> {
    (0..n).map(|_| free_port()).collect()
}

/// `controller.quorum.voters` for nodes `1..` on loopback `ports`.
pub fn quorum_voters(ports: &[u16]) -> String {
    ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",")
}

/// The properties of listener `name` as TLS with required client
/// certificates: the TLS fixture `keystore` (key and chain), `ca.pem`
/// as truststore.
pub fn mtls_listener(name: &str, keystore: &str) -> Vec<String> {
    let l = name.to_ascii_lowercase();
    vec![
        format!("listener.name.{l}.ssl.keystore.type=PEM"),
        format!(
            "listener.name.{l}.ssl.keystore.location={}",
            tls_fixture(keystore).display()
        ),
        format!("listener.name.{l}.ssl.truststore.type=PEM"),
        format!(
            "listener.name.{l}.ssl.truststore.location={}",
            tls_fixture("ca.pem").display()
        ),
        format!("listener.name.{l}.ssl.client.auth=required"),
    ]
}

/// Metadata v12 of `topic` (and the brokers) as the node at `port`
/// answers it.
pub fn metadata_of(port: u16, topic: &str) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
        )
        .with_name(Some(topic_name(topic)))]))
        .with_allow_auto_topic_creation(false);
    Client::connect_to(port).call(ApiKey::Metadata, 12, &req)
}

/// Creates `topic` with one partition, `replicas` replicas and
/// `min.insync.replicas=min_isr` through the node at `port`; panics unless
/// it is created.
pub fn create_replicated_topic(port: u16, topic: &str, replicas: i16, min_isr: i16) {
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name(topic))
            .with_num_partitions(1)
            .with_replication_factor(replicas)
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("min.insync.replicas"))
                .with_value(Some(StrBytes::from(min_isr.to_string())))]),
    ]);
    let created: CreateTopicsResponse =
        Client::connect_to(port).call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
}

/// Polls until every node at `client` ports answers Kafka and lists `n`
/// brokers; panics with `logs()` after `within`.
pub fn wait_for_brokers(client: &[u16], n: usize, within: Duration, logs: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while !client
        .iter()
        .all(|p| answers_kafka(*p) && metadata_of(*p, "none").brokers.len() == n)
    {
        assert!(
            Instant::now() < deadline,
            "cluster did not form:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Produces `value` to partition 0 of `topic` on its leader (found
/// through the node at `bootstrap`) until the leader acknowledges it (its
/// acks=all answer is 0) or `deadline` passes; true when acknowledged.
pub fn produce_until_acked(bootstrap: u16, topic: &str, value: &str, deadline: Instant) -> bool {
    loop {
        let m = metadata_of(bootstrap, topic);
        let leader = m.topics[0].partitions[0].leader_id.0;
        let port = m
            .brokers
            .iter()
            .find(|b| b.node_id.0 == leader)
            .and_then(|b| u16::try_from(b.port).ok());
        if let Some(port) = port {
            let r = produce(
                &mut Client::connect_to(port),
                topic,
                batch(&[value], -1, -1, Compression::None),
            );
            if r.error_code == 0 {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
