//! Kafka ACLs (issue 16, the handlers' authorization) judged by
//! confluent-kafka: with the StandardAuthorizer on and ACLs naming the topic
//! and the group for another user, a producer fails with
//! TOPIC_AUTHORIZATION_FAILED and a consumer group with
//! GROUP_AUTHORIZATION_FAILED (errors, not hangs); once the admin client
//! created ACLs allowing User:ANONYMOUS, both work.

use memorystreamer_compat_tests::{python_scenario, Broker};

#[test]
fn confluent_kafka_is_denied_then_allowed_by_acls() {
    let broker = Broker::start(&[
        "-o",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "-o",
        "allow.everyone.if.no.acl.found=true",
    ]);
    let out = python_scenario(
        &broker,
        "authorization.py",
        "denied-then-allowed",
        "acl-judged",
    );
    assert!(
        out.contains("producer denied: TOPIC_AUTHORIZATION_FAILED"),
        "{out}"
    );
    assert!(
        out.contains("consumer denied: GROUP_AUTHORIZATION_FAILED"),
        "{out}"
    );
    assert!(out.contains("allowed: produced and consumed"), "{out}");
}
