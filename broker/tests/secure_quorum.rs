//! The metadata quorum over mutual TLS with authorization (issue 16):
//! `CONTROLLER:SSL` with required client certificates and the standard
//! authorizer, the brokers' certificate subject in `super.users`.
//!
//! Three voters start; the third presents a certificate with the same
//! subject and host names signed by a CA the others do not trust (and does
//! not trust theirs). Nodes 1 and 2 form the quorum and register; node 3's
//! every attempt is refused (counted by the others' failed-authentication
//! metric for the controller listener), so it never catches up with the
//! quorum and never serves clients. Then the test dials node 1's controller
//! port itself: plain TCP, an untrusted client certificate and a trusted
//! certificate whose principal is not allowed CLUSTER_ACTION are closed
//! unanswered, while the brokers' own certificate gets a heartbeat answer.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use kafka_protocol::messages::*;
use memorystreamer_broker::authorizer::Authorizer;
use memorystreamer_broker::quorum_link::{PeerGate, TlsQuorumTransport};
use memorystreamer_raft::network::{exchange, RpcRequest, RpcResponse};
use memorystreamer_raft::transport::{PlainTcp, QuorumTransport};
use memorystreamer_sasl::tls::{TlsServer, TlsSettings};

/// The brokers' certificate subject as a principal (RFC 2253 order).
const BROKER_PRINCIPAL: &str = "User:CN=localhost,O=MemoryStreamer";

const FAILED: &str = "memorystreamer_failed_authentication_total{listener=\"CONTROLLER\"}";

fn brokers(port: u16) -> Vec<i32> {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![]))
        .with_allow_auto_topic_creation(false);
    let m: MetadataResponse = Client::connect_to(port).call(ApiKey::Metadata, 12, &req);
    let mut ids: Vec<i32> = m.brokers.iter().map(|b| b.node_id.0).collect();
    ids.sort_unstable();
    ids
}

/// A dialing transport presenting `cert` (+ `key`) and trusting `ca.pem`;
/// the gate is never used (it only dials).
fn dialer(cert: &str, key: &str) -> TlsQuorumTransport {
    let read = |f: &str| std::fs::read_to_string(tls_fixture(f)).expect("fixture");
    let props: BTreeMap<String, String> = [
        ("ssl.keystore.type", "PEM".to_string()),
        ("ssl.keystore.certificate.chain", read(cert)),
        ("ssl.keystore.key", read(key)),
        ("ssl.truststore.type", "PEM".to_string()),
        (
            "ssl.truststore.location",
            tls_fixture("ca.pem").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let tls = TlsServer::new(TlsSettings::from_props(&props).expect("settings")).expect("tls");
    TlsQuorumTransport::new(
        Arc::new(tls),
        Arc::from("PROBE"),
        PeerGate::new(
            Some(Arc::new(Authorizer::new(Default::default()))),
            Arc::default(),
        ),
    )
}

/// One heartbeat to `addr` through `transport`.
async fn heartbeat(
    transport: &dyn QuorumTransport,
    addr: &str,
) -> Result<RpcResponse, std::io::Error> {
    let mut conn = None;
    exchange(
        transport,
        &mut conn,
        addr,
        &RpcRequest::Heartbeat { node_id: 99 },
        Duration::from_secs(10),
    )
    .await
    .map_err(|(_, e)| e)
}

#[test]
fn only_trusted_authorized_voters_join_the_quorum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (client, controller, metrics) = (free_ports(3), free_ports(3), free_ports(3));
    let voters = quorum_voters(&controller);
    let mut nodes = Nodes(Vec::new());
    for i in 0..3 {
        let keystore = if i == 2 {
            "broker-rogue.pem"
        } else {
            "broker.pem"
        };
        let mut props = vec![
            format!("node.id={}", i + 1),
            format!(
                "listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
                client[i], controller[i]
            ),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SSL".into(),
            "controller.listener.names=CONTROLLER".into(),
            format!("controller.quorum.voters={voters}"),
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
            format!("super.users={BROKER_PRINCIPAL};User:ANONYMOUS"),
            format!("metrics.addr=127.0.0.1:{}", metrics[i]),
        ];
        props.extend(mtls_listener("CONTROLLER", keystore));
        nodes.0.push(spawn_broker(
            &dir.path().join(format!("node{}", i + 1)),
            &props,
        ));
    }
    let logs = || node_logs(dir.path(), 3);

    // (a) Nodes 1 and 2 form the quorum and register.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(answers_kafka(client[0]) && brokers(client[0]) == [1, 2]) {
        assert!(
            Instant::now() < deadline,
            "nodes 1 and 2 did not form a quorum:\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // (b) Node 3 keeps trying and each of them refuses it.
    let refused =
        |i: usize| scrape(&format!("127.0.0.1:{}", metrics[i])).map_or(0.0, |t| sample(&t, FAILED));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(refused(0) >= 3.0 && refused(1) >= 3.0) {
        assert!(
            Instant::now() < deadline,
            "node 3 was not refused by nodes 1 and 2 ({} and {} refusals):\n{}",
            refused(0),
            refused(1),
            logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // (c) So it never caught up: no client service, not registered.
    assert!(
        !answers_kafka(client[2]),
        "node 3 serves clients:\n{}",
        logs()
    );
    assert_eq!(brokers(client[0]), [1, 2]);
    assert_eq!(brokers(client[1]), [1, 2]);

    // (d) Probes of node 1's controller port.
    let addr = format!("127.0.0.1:{}", controller[0]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let plain = heartbeat(&PlainTcp, &addr).await;
        assert!(plain.is_err(), "plain TCP answered: {plain:?}");
        let untrusted = heartbeat(&dialer("client-untrusted.pem", "client-key.pem"), &addr).await;
        assert!(
            untrusted.is_err(),
            "untrusted certificate answered: {untrusted:?}"
        );
        let alice = heartbeat(&dialer("client-alice.pem", "client-key.pem"), &addr).await;
        assert!(
            alice.is_err(),
            "a principal without CLUSTER_ACTION answered: {alice:?}"
        );
        let broker = heartbeat(&dialer("broker-cert.pem", "broker-key.pem"), &addr).await;
        assert!(
            matches!(broker, Ok(RpcResponse::Heartbeat(_))),
            "the brokers' certificate was not answered: {broker:?}"
        );
    });
    // Each refused probe was counted and logged with its reason.
    let log = std::fs::read_to_string(dir.path().join("node1/broker.log")).expect("log");
    assert!(
        log.contains("User:CN=alice,OU=eng,O=Example,C=US is not allowed CLUSTER_ACTION"),
        "alice's refusal is not logged:\n{log}"
    );
}
