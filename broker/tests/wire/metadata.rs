//! Metadata: null and empty topic lists, and topic auto-creation (allowed
//! by the request and by the broker setting).

use kafka_protocol::messages::*;

use crate::common::*;

#[test]
fn metadata_null_empty_and_auto_create() {
    let b = TestBroker::start(&[("num.partitions", "2")]);
    let mut c = b.connect();
    create_topic(&mut c, "existing", 1);
    let all: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    );
    let names: Vec<(String, bool)> = all
        .topics
        .iter()
        .map(|t| {
            (
                t.name.as_ref().map(|n| n.to_string()).unwrap_or_default(),
                t.is_internal,
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![
            ("__consumer_offsets".to_string(), true),
            ("existing".to_string(), false)
        ],
        "null topics = all topics, internal ones flagged"
    );
    let none: MetadataResponse = c.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(Some(vec![])),
    );
    assert!(none.topics.is_empty());
    let ask = |name: &str, auto: bool| {
        MetadataRequest::default()
            .with_allow_auto_topic_creation(auto)
            .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
            )
            .with_name(Some(topic_name(name)))]))
    };
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &ask("nope", false));
    assert_eq!(
        r.topics[0].error_code, 3,
        "no auto-creation when the request forbids it"
    );
    let r: MetadataResponse = c.call(ApiKey::Metadata, 12, &ask("auto", true));
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[0].partitions.len(), 2, "num.partitions applies");
    assert!(!r.topics[0].topic_id.is_nil());

    let b2 = TestBroker::start(&[("auto.create.topics.enable", "false")]);
    let mut c2 = b2.connect();
    let r: MetadataResponse = c2.call(ApiKey::Metadata, 12, &ask("auto", true));
    assert_eq!(
        r.topics[0].error_code, 3,
        "broker setting forbids auto-creation"
    );
}
