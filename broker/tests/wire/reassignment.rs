//! AlterPartitionReassignments / ListPartitionReassignments on one broker
//! (node 1): every error Kafka answers per partition, a no-op target, and
//! an empty list when nothing moves. Moving data between nodes is judged
//! on three nodes by `compat-tests/tests/reassignment.rs`.

use kafka_protocol::messages::*;

use crate::common::*;

fn alter(
    allow_rf_change: bool,
    parts: &[(&str, i32, Option<Vec<i32>>)],
) -> AlterPartitionReassignmentsRequest {
    use alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic};
    let mut topics: Vec<ReassignableTopic> = Vec::new();
    for (topic, index, replicas) in parts {
        let p = ReassignablePartition::default()
            .with_partition_index(*index)
            .with_replicas(
                replicas
                    .as_ref()
                    .map(|r| r.iter().map(|b| BrokerId(*b)).collect()),
            );
        match topics.iter_mut().find(|t| t.name.0.as_str() == *topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                ReassignableTopic::default()
                    .with_name(topic_name(topic))
                    .with_partitions(vec![p]),
            ),
        }
    }
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_allow_replication_factor_change(allow_rf_change)
        .with_topics(topics)
}

/// (topic, partition, error code) of every answer, in order.
fn codes(r: &AlterPartitionReassignmentsResponse) -> Vec<(String, i32, i16)> {
    r.responses
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.0.to_string(), p.partition_index, p.error_code))
        })
        .collect()
}

#[test]
fn reassignment_errors_are_kafkas() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    create_topic(&mut c, "r", 2);
    let req = alter(
        true,
        &[
            ("r", 0, Some(vec![1])),    // already the replicas: nothing to do
            ("r", 1, Some(vec![])),     // empty
            ("r", 1, Some(vec![1, 1])), // twice the same broker
            ("r", 1, Some(vec![9])),    // not a registered broker
            ("r", 5, Some(vec![1])),    // no such partition
            ("r", 0, None),             // cancel with nothing in progress
            ("nope", 0, Some(vec![1])), // no such topic
        ],
    );
    let r: AlterPartitionReassignmentsResponse =
        c.call(ApiKey::AlterPartitionReassignments, 1, &req);
    assert_eq!(r.error_code, 0);
    assert_eq!(
        codes(&r)
            .into_iter()
            .map(|(_, _, code)| code)
            .collect::<Vec<_>>(),
        vec![0, 39, 39, 39, 3, 85, 3]
    );
    assert!(r.allow_replication_factor_change);

    // v1 with allow_replication_factor_change=false refuses a count change.
    let req = alter(false, &[("r", 0, Some(vec![1, 2]))]);
    let r: AlterPartitionReassignmentsResponse =
        c.call(ApiKey::AlterPartitionReassignments, 1, &req);
    assert_eq!(codes(&r)[0].2, 39, "broker 2 is checked first");
    assert!(!r.allow_replication_factor_change, "echoed");
    let req = alter(false, &[("r", 0, Some(vec![1]))]);
    let r: AlterPartitionReassignmentsResponse =
        c.call(ApiKey::AlterPartitionReassignments, 1, &req);
    assert_eq!(codes(&r)[0].2, 0, "same count is allowed");

    // Nothing is in progress: both the full list and a named one are empty.
    let r: ListPartitionReassignmentsResponse = c.call(
        ApiKey::ListPartitionReassignments,
        0,
        &ListPartitionReassignmentsRequest::default().with_timeout_ms(30_000),
    );
    assert_eq!((r.error_code, r.topics.len()), (0, 0));
    let r: ListPartitionReassignmentsResponse = c.call(
        ApiKey::ListPartitionReassignments,
        0,
        &ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(Some(vec![
                list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                    .with_name(topic_name("r"))
                    .with_partition_indexes(vec![0, 1, 7]),
            ])),
    );
    assert_eq!((r.error_code, r.topics.len()), (0, 0));
    let md: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name("r"))),
        ])),
    );
    let replicas: Vec<Vec<i32>> = md.topics[0]
        .partitions
        .iter()
        .map(|p| p.replica_nodes.iter().map(|b| b.0).collect())
        .collect();
    assert_eq!(replicas, vec![vec![1], vec![1]], "nothing moved");
}
