//! FindCoordinator: single (v3) and batched (v4) lookups, group and
//! transaction coordinators, unknown key types.

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
    // An unknown key type is a bad request.
    let req = FindCoordinatorRequest::default()
        .with_key_type(7)
        .with_coordinator_keys(vec![StrBytes::from_static_str("x")]);
    let r: FindCoordinatorResponse = c.call(ApiKey::FindCoordinator, 4, &req);
    assert_eq!(r.coordinators[0].error_code, 42);
}
