//! Broker configuration keys over the wire (issue 12, item 6): every key of
//! Apache Kafka's broker table is known, described with Kafka's attributes
//! (read-only, type, sensitivity, documentation saying where it has no
//! effect here); AlterConfigs and IncrementalAlterConfigs on BROKER
//! resources give the same answer for a dynamic, a read-only, a
//! wrong-level, a badly typed and an unknown key (Kafka's codes and
//! messages); a dynamic key with no effect is stored, described with its
//! dynamic source and survives a restart; a server.properties holding every
//! Kafka key draws no unknown-key warning; and `docs/configuration.md` is
//! the one generated from the table.
//!
//! Regenerate the docs page with
//! `UPDATE_DOCS=1 cargo test --release -p memorystreamer-broker --test broker_configs`.

mod common;

use std::sync::{Arc, Mutex};

use common::{Client, TestBroker};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use memorystreamer_broker::config::keys::{self, Dynamic, KeyType};
use memorystreamer_broker::config::{Args, BrokerConfig};

const DYNAMIC_BROKER: i8 = 2;
const DYNAMIC_DEFAULT: i8 = 3;
const DEFAULT: i8 = 5;

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

/// DescribeConfigs v4 of a BROKER resource, with synonyms and documentation.
fn describe_broker(c: &mut Client, resource: &str) -> DescribeConfigsResponse {
    let req = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_include_documentation(true)
        .with_resources(vec![
            describe_configs_request::DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s(resource))
                .with_configuration_keys(None),
        ]);
    c.call(ApiKey::DescribeConfigs, 4, &req)
}

fn entry<'a>(
    r: &'a DescribeConfigsResponse,
    key: &str,
) -> &'a describe_configs_response::DescribeConfigsResourceResult {
    r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .unwrap_or_else(|| panic!("{key} not described"))
}

/// IncrementalAlterConfigs v1 SET of one key: (error code, message).
fn incremental_set(
    c: &mut Client,
    resource: &str,
    key: &str,
    value: &str,
    validate_only: bool,
) -> (i16, Option<String>) {
    let req = IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(s(resource))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s(key))
                        .with_config_operation(0)
                        .with_value(Some(s(value))),
                ]),
        ]);
    let r: IncrementalAlterConfigsResponse = c.call(ApiKey::IncrementalAlterConfigs, 1, &req);
    let x = &r.responses[0];
    (
        x.error_code,
        x.error_message.as_ref().map(|m| m.to_string()),
    )
}

/// AlterConfigs v2 (the legacy, replace-all form) of one key.
fn legacy_set(
    c: &mut Client,
    resource: &str,
    key: &str,
    value: &str,
    validate_only: bool,
) -> (i16, Option<String>) {
    let req = AlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(s(resource))
            .with_configs(vec![alter_configs_request::AlterableConfig::default()
                .with_name(s(key))
                .with_value(Some(s(value)))])]);
    let r: AlterConfigsResponse = c.call(ApiKey::AlterConfigs, 2, &req);
    let x = &r.responses[0];
    (
        x.error_code,
        x.error_message.as_ref().map(|m| m.to_string()),
    )
}

#[test]
fn every_kafka_key_is_described_with_kafkas_attributes() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    let r = describe_broker(&mut c, "1");
    assert_eq!(r.results[0].error_code, 0);
    for k in keys::KAFKA_BROKER_KEYS {
        if k.internal {
            assert!(
                r.results[0]
                    .configs
                    .iter()
                    .all(|c| c.name.as_str() != k.name),
                "{} is internal in Kafka and not described unless set",
                k.name
            );
            continue;
        }
        let e = entry(&r, k.name);
        assert_eq!(
            e.read_only,
            k.dynamic == Dynamic::ReadOnly,
            "{}: read_only",
            k.name
        );
        assert_eq!(e.config_type, k.kind as i8, "{}: type", k.name);
        assert_eq!(e.is_sensitive, k.kind == KeyType::Password, "{}", k.name);
        if e.is_sensitive {
            assert_eq!(e.value, None, "{}: a password is never shown", k.name);
        }
    }
    let bg = entry(&r, "background.threads");
    assert_eq!(
        (
            bg.value.as_deref(),
            bg.config_source,
            bg.read_only,
            bg.config_type
        ),
        (Some("10"), DEFAULT, false, 3)
    );
    let doc = bg.documentation.as_deref().unwrap_or("");
    assert!(
        doc.starts_with("Accepted for compatibility; no effect in MemoryStreamer."),
        "{doc}"
    );
    let relogin = entry(&r, "sasl.kerberos.min.time.before.relogin");
    assert_eq!(
        (
            relogin.value.as_deref(),
            relogin.read_only,
            relogin.config_type
        ),
        (Some("60000"), false, 5)
    );
    // A key with real behaviour has plain docs. Its value is Kafka's: null
    // for log.retention.ms, whose value comes from log.retention.hours
    // (this assertion pinned the effective 604800000 before).
    let retention = entry(&r, "log.retention.ms");
    assert_eq!(
        (
            retention.value.as_deref(),
            retention.config_source,
            retention.synonyms.len()
        ),
        (None, DEFAULT, 0)
    );
    assert!(!retention
        .documentation
        .as_deref()
        .unwrap_or("")
        .contains("no effect"));
    let ssl = entry(&r, "ssl.key.password");
    assert_eq!((ssl.value.as_deref(), ssl.is_sensitive), (None, true));
}

#[test]
fn both_config_apis_answer_alike() {
    let b = TestBroker::start(&[]);
    let mut c = b.connect();
    // (resource, key, value, expected code, expected message)
    let cases: &[(&str, &str, &str, i16, Option<&str>)] = &[
        ("1", "sasl.kerberos.min.time.before.relogin", "70000", 0, None),
        ("", "background.threads", "12", 0, None),
        ("1", "background.threads", "12", 0, None),
        (
            "",
            "sasl.kerberos.min.time.before.relogin",
            "70000",
            42,
            Some("Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)"),
        ),
        (
            "1",
            "log.dirs",
            "/elsewhere",
            42,
            Some("Cannot update these configs dynamically: Set(log.dirs)"),
        ),
        (
            "1",
            "num.partitions",
            "3",
            42,
            Some("Cannot update these configs dynamically: Set(num.partitions)"),
        ),
        (
            "1",
            "background.threads",
            "abc",
            42,
            Some("Invalid value abc for configuration background.threads: Not a number of type INT"),
        ),
        (
            "1",
            "ssl.keystore.location",
            "/ks",
            42,
            Some("These security configs can be dynamically updated only per-listener using the listener prefix: HashSet(ssl.keystore.location)"),
        ),
        ("1", "no.such.key", "1", 40, None),
    ];
    for validate_only in [true, false] {
        for &(resource, key, value, code, message) in cases {
            let inc = incremental_set(&mut c, resource, key, value, validate_only);
            let leg = legacy_set(&mut c, resource, key, value, validate_only);
            assert_eq!(inc, leg, "[{resource}] {key}={value}: the two APIs differ");
            assert_eq!(inc.0, code, "[{resource}] {key}={value}: {inc:?}");
            match message {
                Some(m) => assert_eq!(inc.1.as_deref(), Some(m), "[{resource}] {key}={value}"),
                // Kafka sends a null message with success.
                None if code == 0 => assert_eq!(inc.1, None, "[{resource}] {key}={value}"),
                None => {}
            }
        }
    }
    let unknown = incremental_set(&mut c, "1", "no.such.key", "1", true);
    assert!(
        unknown.1.as_deref().unwrap_or("").contains("no.such.key"),
        "{unknown:?}"
    );
}

#[test]
fn dynamic_keys_without_effect_are_stored_described_and_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("d").display().to_string();
    let check = |c: &mut Client| {
        let r = describe_broker(c, "1");
        let bg = entry(&r, "background.threads");
        assert_eq!(
            (bg.value.as_deref(), bg.config_source),
            (Some("12"), DYNAMIC_DEFAULT)
        );
        let relogin = entry(&r, "sasl.kerberos.min.time.before.relogin");
        assert_eq!(
            (relogin.value.as_deref(), relogin.config_source),
            (Some("70000"), DYNAMIC_BROKER)
        );
        let sources: Vec<i8> = relogin.synonyms.iter().map(|s| s.source).collect();
        assert_eq!(sources, vec![DYNAMIC_BROKER, DEFAULT]);
        let r = describe_broker(c, "");
        let bg = entry(&r, "background.threads");
        assert_eq!(
            (bg.value.as_deref(), bg.config_source, bg.read_only),
            (Some("12"), DYNAMIC_DEFAULT, false)
        );
    };
    {
        let b = TestBroker::start(&[("log.dirs", &data)]);
        let mut c = b.connect();
        assert_eq!(
            incremental_set(&mut c, "", "background.threads", "12", false).0,
            0
        );
        assert_eq!(
            legacy_set(
                &mut c,
                "1",
                "sasl.kerberos.min.time.before.relogin",
                "70000",
                false
            )
            .0,
            0
        );
        check(&mut c);
    }
    let b = TestBroker::start(&[("log.dirs", &data)]);
    let mut c = b.connect();
    check(&mut c);
}

/// Collects what the broker logs while a closure runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_properties_file_with_every_kafka_key_draws_no_unknown_key_warning() {
    use clap::Parser;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.properties");
    // Every key MemoryStreamer does not read, with Kafka's default where
    // there is one (the keys it reads are validated, so they keep theirs).
    let mut text = String::new();
    for k in keys::KAFKA_BROKER_KEYS {
        if keys::effect(k.name) == keys::Effect::None {
            text.push_str(&format!("{}={}\n", k.name, k.default.unwrap_or("")));
        }
    }
    text.push_str("listener.name.plaintext.ssl.keystore.location=/ks\n");
    text.push_str("log.dirs=");
    text.push_str(&dir.path().join("data").display().to_string());
    text.push_str("\nmy.typo.key=1\n");
    std::fs::write(&file, text).expect("write");
    let args = Args::parse_from(["memorystreamer", "--config", file.to_str().expect("utf8")]);
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let cfg = tracing::subscriber::with_default(subscriber, || BrokerConfig::from_args(&args));
    assert!(cfg.is_ok(), "{:?}", cfg.err());
    let log = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf8");
    let warned: Vec<&str> = log.lines().filter(|l| l.contains("unknown")).collect();
    assert_eq!(warned.len(), 1, "only the typo is reported: {warned:#?}");
    assert!(warned[0].contains("my.typo.key"), "{}", warned[0]);
}

#[test]
fn configuration_docs_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/configuration.md");
    let want = keys::configuration_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/configuration.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/configuration.md is out of date: run UPDATE_DOCS=1 cargo test --release -p memorystreamer-broker --test broker_configs"
    );
}

/// The broker resource as Kafka 4.1.2 describes it (compared by the
/// differential harness): internal keys hidden unless set, `broker.id`
/// following `node.id`, null-default keys without a value, no default
/// synonym for keys Kafka has no default for.
#[test]
fn broker_resource_matches_kafka() {
    let b = TestBroker::start(&[
        ("node.id", "1"),
        ("log.retention.hours", "1"),
        ("internal.metadata.log.segment.bytes", "1048576"),
    ]);
    let mut c = b.connect();
    let r = describe_broker(&mut c, "1");
    let hidden = keys::KAFKA_BROKER_KEYS
        .iter()
        .filter(|k| k.internal)
        .count();
    assert!(hidden >= 10, "Kafka 4.1 has ~20 internal broker keys");
    assert!(r.results[0]
        .configs
        .iter()
        .all(|c| c.name.as_str() != "unstable.api.versions.enable"));
    let set = entry(&r, "internal.metadata.log.segment.bytes");
    assert_eq!(
        (set.value.as_deref(), set.config_source),
        (Some("1048576"), 4),
        "an internal key that is set is described, as Kafka does"
    );
    let synonyms = |e: &describe_configs_response::DescribeConfigsResourceResult| {
        e.synonyms
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.value.as_deref().map(String::from),
                    s.source,
                )
            })
            .collect::<Vec<_>>()
    };
    let id = entry(&r, "broker.id");
    assert_eq!((id.value.as_deref(), id.config_source), (Some("1"), 4));
    assert_eq!(
        synonyms(id),
        vec![
            ("broker.id".into(), Some("1".into()), 4),
            ("broker.id".into(), Some("-1".into()), DEFAULT)
        ]
    );
    for k in ["node.id", "log.dirs"] {
        let e = entry(&r, k);
        assert_eq!(e.config_source, 4, "{k}");
        assert_eq!(
            synonyms(e).iter().map(|s| s.2).collect::<Vec<_>>(),
            vec![4],
            "{k}: no default synonym (Kafka has no default)"
        );
    }
    for k in ["log.flush.interval.ms", "log.retention.ms", "log.roll.ms"] {
        let e = entry(&r, k);
        assert_eq!(
            (e.value.as_deref(), e.config_source, e.synonyms.len()),
            (None, DEFAULT, 0),
            "{k}: Kafka's default is null"
        );
    }
    // The fallback still applies: a topic's retention.ms comes from
    // log.retention.hours.
    common::create_topic(&mut c, "fallback", 1);
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("fallback"))
            .with_configuration_keys(Some(vec![s("retention.ms")])),
    ]);
    let r: DescribeConfigsResponse = c.call(ApiKey::DescribeConfigs, 4, &req);
    assert_eq!(
        r.results[0].configs[0].value.as_deref(),
        Some("3600000"),
        "log.retention.ms still falls back to log.retention.hours"
    );
}
