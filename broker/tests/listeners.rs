//! A broker with two listeners answers every address with the listener
//! the request came in on (issue 16): Metadata's brokers, DescribeCluster's
//! brokers and FindCoordinator's coordinator name the `EXTERNAL` endpoint
//! to a client connected to `EXTERNAL` and the `PLAINTEXT` endpoint to a
//! client connected to `PLAINTEXT`, as Kafka's per-listener metadata does.
//! Before, every client was given the first advertised listener, which
//! sends clients of a secured listener to the wrong port.

mod common;

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

/// (node id, host, port) of every broker in a Metadata v12 answer, and the
/// leader of partition 0 of `topic`.
fn metadata(c: &mut Client, topic: &str) -> (Vec<(i32, String, i32)>, i32) {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
        )
        .with_name(Some(topic_name(topic)))]))
        .with_allow_auto_topic_creation(false);
    let resp: MetadataResponse = c.call(ApiKey::Metadata, 12, &req);
    let brokers = resp
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.host.to_string(), b.port))
        .collect();
    let t = &resp.topics[0];
    assert_eq!(t.error_code, 0, "{t:?}");
    (brokers, t.partitions[0].leader_id.0)
}

fn coordinator(c: &mut Client, group: &str) -> (i32, String, i32) {
    let req = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![StrBytes::from_string(group.to_string())]);
    let resp: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    let k = &resp.coordinators[0];
    assert_eq!(k.error_code, 0, "{k:?}");
    (k.node_id.0, k.host.to_string(), k.port)
}

fn cluster_brokers(c: &mut Client) -> Vec<(i32, String, i32)> {
    let resp: DescribeClusterResponse = c.call(
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default(),
    );
    assert_eq!(resp.error_code, 0);
    resp.brokers
        .iter()
        .map(|b| (b.broker_id.0, b.host.to_string(), b.port))
        .collect()
}

#[test]
fn every_address_is_the_one_of_the_listener_asked_on() {
    let external = free_port();
    let listeners = format!("PLAINTEXT://127.0.0.1:0,EXTERNAL://127.0.0.1:{external}");
    // EXTERNAL is advertised under another name, as behind a proxy: a
    // client of it must be given that name, not the PLAINTEXT address.
    let advertised = format!("PLAINTEXT://127.0.0.1:0,EXTERNAL://localhost:{external}");
    let b = TestBroker::start(&[
        ("listeners", &listeners),
        ("advertised.listeners", &advertised),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT",
        ),
    ]);
    let mut inside = b.connect();
    let mut outside = Client::connect_to(external);
    assert_eq!(
        create_topic(&mut inside, "per-listener", 1).topics[0].error_code,
        0
    );

    let internal_addr = (1, "127.0.0.1".to_string(), i32::from(b.port));
    let external_addr = (1, "localhost".to_string(), i32::from(external));
    assert_eq!(
        metadata(&mut inside, "per-listener"),
        (vec![internal_addr.clone()], 1)
    );
    assert_eq!(
        metadata(&mut outside, "per-listener"),
        (vec![external_addr.clone()], 1)
    );
    assert_eq!(cluster_brokers(&mut inside), vec![internal_addr.clone()]);
    assert_eq!(cluster_brokers(&mut outside), vec![external_addr.clone()]);
    assert_eq!(coordinator(&mut inside, "g"), internal_addr);
    assert_eq!(coordinator(&mut outside, "g"), external_addr);
}
