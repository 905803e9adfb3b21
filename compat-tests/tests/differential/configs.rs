//! DescribeConfigs for a topic (defaults and overrides) and for the broker,
//! with synonyms and documentation: every entry's value, read-only flag,
//! source, sensitivity, synonyms and type are compared. Documentation is
//! compared by presence only (the wording is Kafka's to change).

use kafka_protocol::messages::*;
use memorystreamer_compat_tests::differential::wire::{str_bytes, Answer, WireClient};

use super::requests::*;
use super::Side;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;

/// Broker keys whose values name this machine's ports and directories:
/// their value is replaced by `<environment>` (their presence, source and
/// flags are still compared).
const ENVIRONMENT_KEYS: &[&str] = &[
    "listeners",
    "advertised.listeners",
    "log.dirs",
    "log.dir",
    "controller.quorum.voters",
    "metadata.log.dir",
];

fn describe(
    c: &mut WireClient,
    resource_type: i8,
    name: &str,
    keys: Option<&[&str]>,
) -> Answer<DescribeConfigsResponse> {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(str_bytes(name))
                .with_configuration_keys(keys.map(|k| k.iter().map(|s| str_bytes(s)).collect())),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

/// Documentation by presence; environment-specific values by placeholder.
fn normalise(mut a: Answer<DescribeConfigsResponse>) -> Answer<DescribeConfigsResponse> {
    if let Answer::Response(r) = &mut a {
        for result in &mut r.results {
            for entry in &mut result.configs {
                entry.documentation = entry.documentation.as_ref().map(|d| {
                    str_bytes(if d.is_empty() {
                        "<empty>"
                    } else {
                        "<documented>"
                    })
                });
                if ENVIRONMENT_KEYS.contains(&entry.name.as_str()) {
                    entry.value = entry.value.as_ref().map(|_| str_bytes("<environment>"));
                    for s in &mut entry.synonyms {
                        s.value = s.value.as_ref().map(|_| str_bytes("<environment>"));
                    }
                }
            }
        }
    }
    a
}

/// A topic with overrides and one without, described whole and by keys.
pub fn describe_topic_configs(side: &mut Side) {
    let mut c = side.client();
    create_topic(&mut c, "dc-default", 1, &[]);
    create_topic(
        &mut c,
        "dc-custom",
        1,
        &[
            ("retention.ms", "3600000"),
            ("cleanup.policy", "compact"),
            ("max.message.bytes", "2048"),
            ("min.insync.replicas", "1"),
            ("compression.type", "zstd"),
        ],
    );
    let r = normalise(describe(&mut c, TOPIC, "dc-default", None));
    side.rec.answer("default", &r);
    let r = normalise(describe(&mut c, TOPIC, "dc-custom", None));
    side.rec.answer("custom", &r);
    let r = normalise(describe(
        &mut c,
        TOPIC,
        "dc-custom",
        Some(&["retention.ms", "segment.bytes", "no.such.key"]),
    ));
    side.rec.answer("custom_by_keys", &r);
    let r = normalise(describe(&mut c, TOPIC, "dc-unknown", None));
    side.rec.answer("unknown_topic", &r);
    let r = normalise(describe(&mut c, TOPIC, "", None));
    side.rec.answer("empty_name", &r);
}

/// The broker's configuration (all keys, and a few by name), and an
/// unknown broker id.
pub fn describe_broker_configs(side: &mut Side) {
    let mut c = side.client();
    let r = normalise(describe(&mut c, BROKER, "1", None));
    side.rec.answer("all", &r);
    let r = normalise(describe(
        &mut c,
        BROKER,
        "1",
        Some(&[
            "log.retention.hours",
            "num.partitions",
            "offsets.topic.replication.factor",
            "message.max.bytes",
        ]),
    ));
    side.rec.answer("by_keys", &r);
    let r = normalise(describe(&mut c, BROKER, "", Some(&["num.partitions"])));
    side.rec.answer("cluster_default", &r);
    let r = normalise(describe(&mut c, BROKER, "7", Some(&["num.partitions"])));
    side.rec.answer("other_broker", &r);
}
