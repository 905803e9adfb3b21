//! FindCoordinator: single (v3) and batched (v4) lookups, group and
//! transaction coordinators (internal topics created with their replication
//! factor capped by the live brokers), unknown key types.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::common::*;

#[test]
fn find_coordinator_single_and_batched() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let r: FindCoordinatorResponse = c.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g1")),
    );
    assert_eq!(
        (r.error_code, r.node_id.0, r.port),
        (0, 1, i32::from(b.port))
    );
    let req = FindCoordinatorRequest::default().with_coordinator_keys(vec![
        StrBytes::from_static_str("g1"),
        StrBytes::from_static_str("g2"),
    ]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(r.coordinators.len(), 2);
    assert!(r
        .coordinators
        .iter()
        .all(|k| k.error_code == 0 && k.node_id.0 == 1));
    // Transaction coordinators: this node (the topic is created on demand).
    let req = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![StrBytes::from_static_str("tx")]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(
        (r.coordinators[0].error_code, r.coordinators[0].node_id.0),
        (0, 1)
    );
    // The internal topics were created with Kafka's default replication
    // factor (3) capped by the one live broker.
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(
            ["__consumer_offsets", "__transaction_state"]
                .iter()
                .map(|n| {
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(n)))
                })
                .collect(),
        )),
    );
    for t in &r.topics {
        assert_eq!(t.error_code, 0, "{:?}", t.name);
        assert!(t
            .partitions
            .iter()
            .all(|p| p.replica_nodes == vec![BrokerId(1)] && p.error_code == 0));
    }
    // An unknown key type is a bad request.
    let req = FindCoordinatorRequest::default()
        .with_key_type(7)
        .with_coordinator_keys(vec![StrBytes::from_static_str("x")]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(r.coordinators[0].error_code, 42);
}
