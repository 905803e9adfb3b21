//! Three brokers that log in to each other with SCRAM-SHA-512 (issue 16):
//! the inter-broker listener `INTERNAL` is SASL_PLAINTEXT with only
//! SCRAM-SHA-512 enabled, `sasl.mechanism.inter.broker.protocol` names it
//! and the listener's JAAS entry gives the brokers' `username`/`password`;
//! the metadata quorum runs over mutual TLS (`CONTROLLER:SSL`), and the
//! authorizer is on. So every link between the nodes is authenticated.
//!
//! The brokers' SCRAM user is created through AlterUserScramCredentials
//! once the quorum stands (the image carries it to every node); a record
//! produced with `acks=all` to a topic with `min.insync.replicas=3` is then
//! acknowledged only when both followers fetched it, logged in over SCRAM.
//! Sessions last 1.5 s (`connections.max.reauth.ms`): the followers'
//! long-lived fetch connections re-authenticate in band (KIP-368, counted
//! by the leader's `successful_reauthentication_total`) and none is closed
//! for an expired session; a record produced after several re-logins is
//! acknowledged too.

mod common;

use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use memorystreamer_sasl::ScramMechanism;

const BROKER_PASSWORD: &str = "broker-secret";

#[test]
fn brokers_log_in_to_each_other_with_scram_and_reauthenticate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (client, internal) = (free_ports(3), free_ports(3));
    let (controller, metrics) = (free_ports(3), free_ports(3));
    let voters = quorum_voters(&controller);
    let mut nodes = Nodes(Vec::new());
    for i in 0..3 {
        let mut props = vec![
            format!("node.id={}", i + 1),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{},INTERNAL://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                client[i], internal[i], controller[i]
            ),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:SSL"
                .into(),
            "inter.broker.listener.name=INTERNAL".into(),
            "listener.name.internal.sasl.enabled.mechanisms=SCRAM-SHA-512".into(),
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512".into(),
            format!(
                "listener.name.internal.scram-sha-512.sasl.jaas.config=\
                 org.apache.kafka.common.security.scram.ScramLoginModule required \
                 username=\"broker\" password=\"{BROKER_PASSWORD}\";"
            ),
            "listener.name.internal.scram-sha-512.connections.max.reauth.ms=1500".into(),
            "controller.listener.names=CONTROLLER".into(),
            format!("controller.quorum.voters={voters}"),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                .into(),
            "super.users=User:broker;User:CN=localhost,O=MemoryStreamer;User:ANONYMOUS".into(),
            format!("metrics.addr=127.0.0.1:{}", metrics[i]),
        ];
        props.extend(mtls_listener("CONTROLLER", "broker.pem"));
        nodes.0.push(spawn_broker(
            &dir.path().join(format!("node{}", i + 1)),
            &props,
        ));
    }
    let logs = || node_logs(dir.path(), 3);

    wait_for_brokers(&client, 3, Duration::from_secs(60), logs);

    // The brokers' SCRAM user, as `kafka-configs --add-config
    // 'SCRAM-SHA-512=[password=...]'` would create it.
    let salt = b"sasl-cluster-salt";
    let salted = ScramMechanism::Sha512.salted_password(BROKER_PASSWORD.as_bytes(), salt, 4096);
    let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
            .with_name(StrBytes::from_static_str("broker"))
            .with_mechanism(2)
            .with_iterations(4096)
            .with_salt(bytes::Bytes::from_static(salt))
            .with_salted_password(salted.into()),
    ]);
    let r: AlterUserScramCredentialsResponse =
        Client::connect_to(client[0]).call(ApiKey::AlterUserScramCredentials, 0, &req);
    assert_eq!(r.results[0].error_code, 0, "{r:?}");

    create_replicated_topic(client[0], "scram-links", 3, 3);
    assert!(
        produce_until_acked(
            client[0],
            "scram-links",
            "over scram",
            Instant::now() + Duration::from_secs(60)
        ),
        "acks=all with min.insync.replicas=3 was never acknowledged:\n{}",
        logs()
    );

    // The followers' fetch sessions re-authenticate in band.
    let count = |series: &str| -> f64 {
        metrics
            .iter()
            .filter_map(|m| scrape(&format!("127.0.0.1:{m}")))
            .map(|t| sample(&t, series))
            .sum()
    };
    let reauth = "memorystreamer_successful_reauthentication_total{listener=\"INTERNAL\"}";
    let expired = "memorystreamer_expired_session_closes_total{listener=\"INTERNAL\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(reauth) < 4.0 {
        assert!(
            Instant::now() < deadline,
            "{} re-authentications:\n{}",
            count(reauth),
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(expired), 0.0, "sessions expired:\n{}", logs());
    assert!(
        produce_until_acked(
            client[0],
            "scram-links",
            "after re-authentication",
            Instant::now() + Duration::from_secs(30)
        ),
        "acks=all after re-authentication was never acknowledged:\n{}",
        logs()
    );
}
