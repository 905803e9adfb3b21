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

#[test]
fn followers_replicate_over_mutual_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (client, internal, controller) = (free_ports(3), free_ports(3), free_ports(3));
    let voters = quorum_voters(&controller);
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
        props.extend(mtls_listener("INTERNAL", "broker.pem"));
        props.extend(mtls_listener("CONTROLLER", "broker.pem"));
        nodes.0.push(spawn_broker(
            &dir.path().join(format!("node{}", i + 1)),
            &props,
        ));
    }
    let logs = || node_logs(dir.path(), 3);

    // Every node registered: each lists the three on its PLAINTEXT port.
    wait_for_brokers(&client, 3, Duration::from_secs(60), logs);
    let ports: Vec<i32> = metadata_of(client[0], "none")
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

    create_replicated_topic(client[0], "secured", 3, 3);
    // The first attempts may come before the followers opened their
    // sessions.
    assert!(
        produce_until_acked(
            client[0],
            "secured",
            "over mtls",
            Instant::now() + Duration::from_secs(60)
        ),
        "acks=all with min.insync.replicas=3 was never acknowledged:\n{}",
        logs()
    );
    let isr = metadata_of(client[0], "secured").topics[0].partitions[0]
        .isr_nodes
        .len();
    assert_eq!(isr, 3, "acknowledged with an ISR of {isr}");
}
