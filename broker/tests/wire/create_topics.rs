//! CreateTopics validation (names, counts, replication factor, configs,
//! validate_only), replication factors and manual assignments refused with
//! Kafka's messages, and DeleteTopics freeing a name again.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::common::*;

#[test]
fn create_topics_validation() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    assert_eq!(create_topic(&mut c, "ok", 3).topics[0].error_code, 0);
    assert_eq!(create_topic(&mut c, "ok", 3).topics[0].error_code, 36);
    assert_eq!(create_topic(&mut c, "bad/name", 1).topics[0].error_code, 17);
    assert_eq!(create_topic(&mut c, "zero", 0).topics[0].error_code, 37);
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("rf3"))
            .with_num_partitions(1)
            .with_replication_factor(3),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(r.topics[0].error_code, 38);
    let req = CreateTopicsRequest::default().with_topics(vec![
        create_topics_request::CreatableTopic::default()
            .with_name(topic_name("cfg"))
            .with_num_partitions(1)
            .with_replication_factor(1)
            .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("segment.bytes"))
                .with_value(Some(StrBytes::from_static_str("lots")))]),
    ]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!(r.topics[0].error_code, 40);
    assert!(r.topics[0]
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("segment.bytes"));
    // validate_only writes nothing.
    let req = CreateTopicsRequest::default()
        .with_validate_only(true)
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name("dry"))
            .with_num_partitions(4)
            .with_replication_factor(1)]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    assert_eq!((r.topics[0].error_code, r.topics[0].num_partitions), (0, 4));
    assert_eq!(
        create_topic(&mut c, "dry", 1).topics[0].error_code,
        0,
        "dry run left nothing behind"
    );
    // Delete, then the name is free again.
    let del = DeleteTopicsRequest::default().with_topic_names(vec![topic_name("ok")]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 0);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 3);
    assert_eq!(create_topic(&mut c, "ok", 1).topics[0].error_code, 0);
    // The internal offsets topic can be neither deleted nor re-created.
    let del =
        DeleteTopicsRequest::default().with_topic_names(vec![topic_name("__consumer_offsets")]);
    let r: DeleteTopicsResponse = c.call(ApiKey::DeleteTopics, 5, &del);
    assert_eq!(r.responses[0].error_code, 42, "INVALID_REQUEST");
    assert_eq!(
        create_topic(&mut c, "__consumer_offsets", 1).topics[0].error_code,
        36
    );
}

fn create_with(
    c: &mut Client,
    name: &str,
    rf: i16,
    assignments: &[&[i32]],
) -> create_topics_response::CreatableTopicResult {
    let t = create_topics_request::CreatableTopic::default().with_name(topic_name(name));
    let t = if assignments.is_empty() {
        t.with_num_partitions(1).with_replication_factor(rf)
    } else {
        t.with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(
                assignments
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        create_topics_request::CreatableReplicaAssignment::default()
                            .with_partition_index(i as i32)
                            .with_broker_ids(a.iter().map(|b| BrokerId(*b)).collect())
                    })
                    .collect(),
            )
    };
    let req = CreateTopicsRequest::default().with_topics(vec![t]);
    let r: CreateTopicsResponse = c.call(ApiKey::CreateTopics, 7, &req);
    r.topics.into_iter().next().expect("one result")
}

fn message(r: &create_topics_response::CreatableTopicResult) -> (i16, String) {
    (
        r.error_code,
        r.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

/// One node holds replication factor 1; more is Kafka's
/// INVALID_REPLICATION_FACTOR with its message, -1 is
/// `default.replication.factor`, and manual assignments get Kafka's
/// INVALID_REPLICA_ASSIGNMENT messages.
#[test]
fn replication_factors_and_assignments_on_one_node() {
    let b = TestBroker::start(&[("default.replication.factor", "2")]);
    let mut c = b.connect();
    let ok = create_with(&mut c, "rf1", 1, &[]);
    assert_eq!((ok.error_code, ok.replication_factor), (0, 1));
    assert_eq!(
        message(&create_with(&mut c, "rf3", 3, &[])),
        (
            ResponseError::InvalidReplicationFactor.code(),
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 \
             cannot be reached because only 1 broker(s) are registered."
                .to_string()
        )
    );
    // -1: the broker's default.replication.factor (2 here).
    assert_eq!(
        message(&create_with(&mut c, "rfdefault", -1, &[])),
        (
            ResponseError::InvalidReplicationFactor.code(),
            "Unable to replicate the partition 2 time(s): The target replication factor of 2 \
             cannot be reached because only 1 broker(s) are registered."
                .to_string()
        )
    );
    assert_eq!(
        message(&create_with(&mut c, "rf0", 0, &[])),
        (
            ResponseError::InvalidReplicationFactor.code(),
            "Replication factor must be larger than 0, or -1 to use the default value.".into()
        )
    );
    let refused = [
        (
            &[&[1, 1][..]][..],
            "The manual partition assignment includes the broker 1 more than once.",
        ),
        (
            &[&[1, 7][..]][..],
            "The manual partition assignment includes broker 7, but no such broker is registered.",
        ),
        (
            &[&[1][..], &[][..]][..],
            "The manual partition assignment includes an empty replica list.",
        ),
    ];
    for (assignments, text) in refused {
        assert_eq!(
            message(&create_with(&mut c, "manual", -1, assignments)),
            (ResponseError::InvalidReplicaAssignment.code(), text.into()),
            "{assignments:?}"
        );
    }
    let ok = create_with(&mut c, "manual", -1, &[&[1], &[1]]);
    assert_eq!(
        (ok.error_code, ok.num_partitions, ok.replication_factor),
        (0, 2, 1)
    );
    // Auto-creation with a default factor the brokers cannot hold is
    // "being created" (LEADER_NOT_AVAILABLE), as Kafka answers while its
    // asynchronous creation fails.
    let r: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default()
            .with_allow_auto_topic_creation(true)
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(topic_name("auto")))])),
    );
    assert_eq!(
        r.topics[0].error_code,
        ResponseError::LeaderNotAvailable.code()
    );
}
