//! Three brokers whose every link is TLS with required client certificates
//! (issue 16): the metadata quorum's voters talk over mTLS on the
//! `CONTROLLER` listener (`CONTROLLER:SSL`), and followers fetch from their
//! leader over mTLS, each broker presenting its own keystore as its client certificate, on
//! the `INTERNAL` endpoint the leader registered. A record produced with
//! `acks=all` to a topic with `min.insync.replicas=3` is acknowledged only
//! once both followers fetched it, so the acknowledgement is the proof;
//! the `INTERNAL` port refusing a plaintext ApiVersions shows the links
//! could not have been plaintext. Clients use the `PLAINTEXT` listener and
//! are given its addresses only.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

/// Metadata v12 of `topic` (and the brokers) as node `port` answers it.
fn metadata(port: u16, topic: &str) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
        )
        .with_name(Some(topic_name(topic)))]))
        .with_allow_auto_topic_creation(false);
    Client::connect_to(port).call(ApiKey::Metadata, 12, &req)
}

#[test]
fn followers_replicate_over_mutual_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let internal: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let controller: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let voters = controller
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let keystore = tls_fixture("broker.pem").display().to_string();
    let truststore = tls_fixture("ca.pem").display().to_string();
    let mut nodes = Nodes(Vec::new());
    for i in 0..3 {
        let mut props = vec![
            format!("node.id={}", i + 1),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{},INTERNAL://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                client[i], internal[i], controller[i]
            ),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SSL,CONTROLLER:SSL"
                .into(),
            "inter.broker.listener.name=INTERNAL".into(),
            "controller.listener.names=CONTROLLER".into(),
            format!("controller.quorum.voters={voters}"),
            "metrics.addr=off".into(),
        ];
        for l in ["internal", "controller"] {
            props.extend([
                format!("listener.name.{l}.ssl.keystore.type=PEM"),
                format!("listener.name.{l}.ssl.keystore.location={keystore}"),
                format!("listener.name.{l}.ssl.truststore.type=PEM"),
                format!("listener.name.{l}.ssl.truststore.location={truststore}"),
                format!("listener.name.{l}.ssl.client.auth=required"),
            ]);
        }
        nodes.0.push(spawn_broker(
            &dir.path().join(format!("node{}", i + 1)),
            &props,
        ));
    }
    let logs = || node_logs(dir.path(), 3);

    // Every node registered: each lists the three on its PLAINTEXT port.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let registered = client
            .iter()
            .all(|p| answers_kafka(*p) && metadata(*p, "none").brokers.len() == 3);
        if registered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cluster did not form:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ports: Vec<i32> = metadata(client[0], "none")
        .brokers
        .iter()
        .map(|b| b.port)
        .collect();
    assert!(
        ports
            .iter()
            .all(|p| client.iter().any(|c| i32::from(*c) == *p)),
        "clients are given the PLAINTEXT ports only: {ports:?}"
    );
    // The inter-broker port speaks TLS only (the controller port's
    // refusals are probed in secure_quorum.rs).
    assert!(!answers_kafka(internal[0]));

    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("secured"))
            .with_num_partitions(1)
            .with_replication_factor(3)
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("min.insync.replicas"))
                .with_value(Some(StrBytes::from_static_str("3")))]),
    ]);
    let created: CreateTopicsResponse =
        Client::connect_to(client[0]).call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");

    // Produce acks=all to the leader until it acknowledges (the first
    // attempts may come before the followers opened their sessions).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = metadata(client[0], "secured");
        let leader = m.topics[0].partitions[0].leader_id.0;
        let port = m
            .brokers
            .iter()
            .find(|b| b.node_id.0 == leader)
            .map(|b| b.port);
        if let Some(port) = port.and_then(|p| u16::try_from(p).ok()) {
            let mut c = Client::connect_to(port);
            let r = produce(
                &mut c,
                "secured",
                batch(&["over mtls"], -1, -1, Compression::None),
            );
            if r.error_code == 0 {
                let m = metadata(client[0], "secured");
                let isr: Vec<i32> = m.topics[0].partitions[0]
                    .isr_nodes
                    .iter()
                    .map(|b| b.0)
                    .collect();
                assert_eq!(isr.len(), 3, "acknowledged with ISR {isr:?}");
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "acks=all with min.insync.replicas=3 was never acknowledged:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
