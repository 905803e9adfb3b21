//! CreateTopics validation (names, counts, replication factor, configs,
//! validate_only), and DeleteTopics freeing a name again.

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

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
