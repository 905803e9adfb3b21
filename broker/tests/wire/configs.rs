//! The config APIs: DescribeConfigs, AlterConfigs and
//! IncrementalAlterConfigs on topics (defaults, sources, synonyms,
//! durability) and on the broker (dynamic defaults and per-broker values).
//!
//! Not the config key table or its validation (`tests/broker_configs.rs`).

use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

use crate::common::*;
use crate::support::{config_value, describe_topic};

#[test]
fn describe_and_alter_topic_configs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let incremental = |ops: Vec<(&str, i8, Option<&str>)>, validate_only: bool| {
        IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![
                incremental_alter_configs_request::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str("cfg"))
                    .with_configs(
                        ops.into_iter()
                            .map(|(k, op, v)| {
                                incremental_alter_configs_request::AlterableConfig::default()
                                    .with_name(StrBytes::from_string(k.to_string()))
                                    .with_config_operation(op)
                                    .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                            })
                            .collect(),
                    ),
            ])
    };
    {
        let b = TestBroker::start(&[("log.dirs", &data), ("message.max.bytes", "5000")]);
        let mut c = b.connect();
        create_topic(&mut c, "cfg", 1);
        // Every Kafka topic key is described, with defaults and sources.
        let r = describe_topic(&mut c, "cfg", None);
        assert_eq!(r.results[0].error_code, 0);
        assert!(r.results[0].configs.len() >= 30);
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("604800000".into(), 5)),
            "Kafka default (log.retention.hours not set)"
        );
        assert_eq!(
            config_value(&r, "max.message.bytes"),
            Some(("5000".into(), 4)),
            "from the broker setting"
        );
        assert!(r.results[0]
            .configs
            .iter()
            .all(|c| c.documentation.is_some()));
        // Synonyms as Kafka 4.1 lists them: the broker key behind the
        // default, none where there is none or it has a null default (this
        // assertion required a synonym for every key before).
        let synonyms = |key: &str| -> Vec<(String, i8)> {
            r.results[0]
                .configs
                .iter()
                .find(|c| c.name.as_str() == key)
                .map(|c| {
                    c.synonyms
                        .iter()
                        .map(|s| (s.name.to_string(), s.source))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            synonyms("max.message.bytes"),
            vec![("message.max.bytes".into(), 4)]
        );
        assert_eq!(
            synonyms("file.delete.delay.ms"),
            vec![("log.segment.delete.delay.ms".into(), 5)]
        );
        assert_eq!(synonyms("preallocate"), vec![("log.preallocate".into(), 5)]);
        assert_eq!(
            synonyms("message.timestamp.after.max.ms"),
            vec![("log.message.timestamp.after.max.ms".into(), 5)]
        );
        for key in [
            "retention.ms",
            "segment.ms",
            "flush.ms",
            "segment.jitter.ms",
        ] {
            assert_eq!(synonyms(key), vec![], "{key}: null broker default");
        }
        assert_eq!(synonyms("leader.replication.throttled.replicas"), vec![]);
        let r = describe_topic(&mut c, "cfg", Some(vec!["cleanup.policy", "no.such.key"]));
        assert_eq!(r.results[0].configs.len(), 1, "only known requested keys");

        // SET and APPEND, then SUBTRACT and DELETE.
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(
                vec![
                    ("max.message.bytes", 0, Some("100")),
                    ("cleanup.policy", 2, Some("compact")),
                ],
                false,
            ),
        );
        assert_eq!(
            r.responses[0].error_code, 0,
            "{:?}",
            r.responses[0].error_message
        );
        let r = describe_topic(&mut c, "cfg", None);
        assert_eq!(
            config_value(&r, "cleanup.policy"),
            Some(("delete,compact".into(), 1))
        );
        assert_eq!(
            config_value(&r, "max.message.bytes"),
            Some(("100".into(), 1))
        );
        // The new limit takes effect at once.
        let big = "y".repeat(300);
        assert_eq!(
            produce(&mut c, "cfg", batch(&[&big], -1, -1, Compression::None)).error_code,
            10
        );
        // Bad values and APPEND on a non-list key are INVALID_CONFIG naming the key.
        for ops in [
            vec![("segment.bytes", 0, Some("tiny"))],
            vec![("retention.ms", 2, Some("5"))],
            vec![("bogus.key", 0, Some("1"))],
        ] {
            let r: IncrementalAlterConfigsResponse =
                c.call(ApiKey::IncrementalAlterConfigs, 1, &incremental(ops, false));
            assert_eq!(r.responses[0].error_code, 40);
        }
        // validate_only changes nothing.
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(vec![("retention.ms", 0, Some("1000"))], true),
        );
        assert_eq!(r.responses[0].error_code, 0);
        assert_eq!(
            config_value(&describe_topic(&mut c, "cfg", None), "retention.ms").map(|v| v.1),
            Some(5)
        );
        let r: IncrementalAlterConfigsResponse = c.call(
            ApiKey::IncrementalAlterConfigs,
            1,
            &incremental(
                vec![
                    ("cleanup.policy", 3, Some("delete")),
                    ("max.message.bytes", 1, None),
                ],
                false,
            ),
        );
        assert_eq!(r.responses[0].error_code, 0);
        // The size limit is back to the default (no MESSAGE_TOO_LARGE); the
        // topic is compact-only now, so the keyless record is INVALID_RECORD.
        assert_eq!(
            produce(&mut c, "cfg", batch(&[&big], -1, -1, Compression::None)).error_code,
            87
        );
    }
    // Durable across a restart.
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    let r = describe_topic(&mut c, "cfg", None);
    assert_eq!(
        config_value(&r, "cleanup.policy"),
        Some(("compact".into(), 1))
    );
    // Legacy AlterConfigs replaces every override.
    let req = AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("cfg"))
            .with_configs(vec![alter_configs_request::AlterableConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("3600000")))]),
    ]);
    let r: AlterConfigsResponse = c.call(ApiKey::AlterConfigs, 2, &req);
    assert_eq!(r.responses[0].error_code, 0);
    let r = describe_topic(&mut c, "cfg", None);
    assert_eq!(
        config_value(&r, "retention.ms"),
        Some(("3600000".into(), 1))
    );
    assert_eq!(
        config_value(&r, "cleanup.policy").map(|v| v.1),
        Some(5),
        "replaced, so back to default"
    );
    // Broker resource: static configs, read-only.
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configuration_keys(None),
    ]);
    let r: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req);
    let n = r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "num.partitions")
        .expect("num.partitions");
    assert_eq!(
        (n.value.as_deref(), n.read_only, n.config_source),
        (Some("1"), true, 5),
        "not set anywhere: Kafka's default"
    );
    let l = r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == "listeners")
        .expect("listeners");
    assert_eq!(
        (l.read_only, l.config_source),
        (false, 4),
        "set at start-up; per-broker dynamic in Kafka, so not read-only"
    );
}

fn broker_resource_ops(
    c: &mut Client,
    resource: &str,
    ops: Vec<(&str, i8, Option<&str>)>,
) -> IncrementalAlterConfigsResponse {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_string(resource.to_string()))
            .with_configs(
                ops.into_iter()
                    .map(|(k, op, v)| {
                        incremental_alter_configs_request::AlterableConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_config_operation(op)
                            .with_value(v.map(|v| StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            ),
    ]);
    c.call(ApiKey::IncrementalAlterConfigs, 1, &req)
}

fn describe_broker(c: &mut Client, resource: &str) -> DescribeConfigsResponse {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_string(resource.to_string()))
                .with_configuration_keys(None),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

/// Dynamic broker configs: the cluster default (resource "", what
/// `kafka-configs --entity-default` sends) and the per-broker resource,
/// Kafka's precedence and sources, synonyms, static keys refused, durable.
#[test]
fn dynamic_broker_configs_layer_and_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    {
        let b = TestBroker::start(&[("log.dirs", &data), ("log.retention.hours", "24")]);
        let mut c = b.connect();
        create_topic(&mut c, "dyn", 1);
        let r = describe_broker(&mut c, "1");
        assert_eq!(
            config_value(&r, "log.retention.ms"),
            Some(("".into(), 5)),
            "log.retention.hours is not log.retention.ms: Kafka's null value, default source"
        );
        let r = describe_topic(&mut c, "dyn", Some(vec!["retention.ms"]));
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("86400000".into(), 4)),
            "a static broker setting reached through a synonym"
        );
        // Cluster-wide default.
        let r = broker_resource_ops(&mut c, "", vec![("log.retention.ms", 0, Some("5000000"))]);
        assert_eq!(
            r.responses[0].error_code, 0,
            "{:?}",
            r.responses[0].error_message
        );
        let r = describe_broker(&mut c, "");
        assert_eq!(
            config_value(&r, "log.retention.ms"),
            Some(("5000000".into(), 3))
        );
        assert_eq!(r.results[0].configs.len(), 1, "only the dynamic defaults");
        let r = describe_topic(&mut c, "dyn", Some(vec!["retention.ms"]));
        assert_eq!(
            config_value(&r, "retention.ms"),
            Some(("5000000".into(), 3))
        );
        // Per-broker wins over the cluster default; synonyms list both.
        let r = broker_resource_ops(&mut c, "1", vec![("log.retention.ms", 0, Some("6000000"))]);
        assert_eq!(r.responses[0].error_code, 0);
        let r = describe_broker(&mut c, "1");
        let e = r.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == "log.retention.ms")
            .expect("log.retention.ms");
        assert_eq!(
            (e.value.as_deref(), e.config_source, e.read_only),
            (Some("6000000"), 2, false)
        );
        let sources: Vec<i8> = e.synonyms.iter().map(|s| s.source).collect();
        // No default synonym: Kafka's default of log.retention.ms is null.
        assert_eq!(sources, vec![2, 3]);
        // Static keys, bad values, unknown keys and other brokers are refused
        // (the first two with Kafka's INVALID_REQUEST).
        for (resource, key, value, code) in [
            ("1", "num.partitions", "3", 42),
            ("1", "log.retention.ms", "soon", 42),
            ("1", "no.such.key", "1", 40),
            ("7", "log.retention.ms", "1", 42),
        ] {
            let r = broker_resource_ops(&mut c, resource, vec![(key, 0, Some(value))]);
            assert_eq!(r.responses[0].error_code, code, "{resource} {key}={value}");
        }
        // A dynamic message.max.bytes takes effect on the next produce.
        let r = broker_resource_ops(&mut c, "", vec![("message.max.bytes", 0, Some("100"))]);
        assert_eq!(r.responses[0].error_code, 0);
        let big = "x".repeat(500);
        assert_eq!(
            produce(&mut c, "dyn", batch(&[&big], -1, -1, Compression::None)).error_code,
            10
        );
        let r = broker_resource_ops(&mut c, "", vec![("message.max.bytes", 1, None)]);
        assert_eq!(r.responses[0].error_code, 0);
        assert_eq!(
            produce(&mut c, "dyn", batch(&[&big], -1, -1, Compression::None)).error_code,
            0
        );
    }
    let b = TestBroker::start(&[("log.dirs", &data), ("log.retention.hours", "24")]);
    let mut c = b.connect();
    let r = describe_broker(&mut c, "1");
    assert_eq!(
        config_value(&r, "log.retention.ms"),
        Some(("6000000".into(), 2))
    );
    let r = describe_broker(&mut c, "");
    assert_eq!(
        config_value(&r, "log.retention.ms"),
        Some(("5000000".into(), 3))
    );
}
