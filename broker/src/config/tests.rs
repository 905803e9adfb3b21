//! Unit tests of configuration parsing: precedence, defaults, errors.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::*;

#[test]
fn properties_and_precedence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.properties");
    std::fs::write(
        &file,
        "# comment\nnode.id=3\nlog.dirs=/tmp/x,/tmp/y\nlisteners=PLAINTEXT://0.0.0.0:19092\n\
         num.partitions = 4\nauto.create.topics.enable=false\nsome.unknown.key=1\n",
    )
    .expect("write");
    let args = Args::parse_from([
        "memorystreamer",
        "--config",
        file.to_str().expect("utf8"),
        "--node-id",
        "7",
        "-o",
        "message.max.bytes=2048",
    ]);
    let cfg = BrokerConfig::from_args(&args).expect("config");
    assert_eq!(cfg.node_id, 7, "flag wins over file");
    assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
    assert_eq!(cfg.num_partitions, 4);
    assert!(!cfg.auto_create_topics);
    assert_eq!(cfg.message_max_bytes, 2048);
    assert_eq!(cfg.listeners[0].port, 19092);
    assert_eq!(cfg.advertised_listeners[0].host, "127.0.0.1");
}

#[test]
fn defaults_and_errors() {
    let cfg = BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text).expect("defaults");
    assert_eq!(
        cfg.listeners[0],
        Listener::parse("PLAINTEXT://127.0.0.1:9092").expect("parse")
    );
    assert_eq!(cfg.data_dir, PathBuf::from("data"));
    assert!(Listener::parse("127.0.0.1:9092").is_err());
    assert!(Listener::parse("TLS://127.0.0.1:9093").is_err());
    assert!(Listener::parse("PLAINTEXT://h:99999").is_err());
    let mut p = BTreeMap::new();
    p.insert("num.partitions".to_string(), "abc".to_string());
    assert!(BrokerConfig::from_properties(&p, LogFormat::Text).is_err());
    assert!(parse_properties("novalue").is_err());
}

#[test]
fn continued_lines_join_as_in_java_properties() {
    let text = "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\\n\
                \x20   username=\"admin\" \\\n\
                \x20   user_alice=\"alice-secret\";\n\
                path=C:\\\\\nnext=1\n";
    let p = parse_properties(text).expect("properties");
    assert_eq!(
        p["listener.name.sasl_ssl.plain.sasl.jaas.config"],
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" \
         user_alice=\"alice-secret\";"
    );
    // An escaped backslash at the end does not continue the line.
    assert_eq!(p["path"], "C:\\\\");
    assert_eq!(p["next"], "1");
    // A continuation on the last line ends the value.
    assert_eq!(parse_properties("a=1 \\").expect("properties")["a"], "1");
}

#[test]
fn transaction_settings() {
    let d = BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text).expect("defaults");
    assert_eq!(
        (
            d.txn.state_log_partitions,
            d.txn.max_timeout_ms,
            d.txn.transactional_id_expiration_ms,
            d.txn.producer_id_expiration_ms
        ),
        (50, 900_000, 604_800_000, 86_400_000)
    );
    assert_eq!(d.txn.abort_check_interval, Duration::from_secs(10));
    for key in [
        "transaction.state.log.num.partitions",
        "transaction.max.timeout.ms",
        "transactional.id.expiration.ms",
        "producer.id.expiration.ms",
    ] {
        let mut p = BTreeMap::new();
        p.insert(key.to_string(), "0".to_string());
        let e = BrokerConfig::from_properties(&p, LogFormat::Text)
            .expect_err("zero refused")
            .to_string();
        assert!(e.contains(key), "{e}");
    }
}

#[test]
fn quorum_voters_and_controller_listener() {
    let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // No voters: a one-voter quorum of this node on an ephemeral port.
    let c = BrokerConfig::from_properties(&props(&[("node.id", "4")]), LogFormat::Text)
        .expect("single");
    assert_eq!(c.controller_listener, "127.0.0.1:0");
    assert_eq!(c.quorum_voters.keys().copied().collect::<Vec<_>>(), vec![4]);
    let v = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293";
    let c = BrokerConfig::from_properties(
        &props(&[("node.id", "2"), ("controller.quorum.voters", v)]),
        LogFormat::Text,
    )
    .expect("voters");
    assert_eq!(
        c.controller_listener, "127.0.0.1:9193",
        "defaults to own entry"
    );
    assert_eq!(c.quorum_voters.len(), 3);
    let ok = props(&[
        ("node.id", "2"),
        ("controller.quorum.voters", v),
        ("controller.listener", "0.0.0.0:9193"),
    ]);
    assert!(BrokerConfig::from_properties(&ok, LogFormat::Text).is_ok());
    for bad in [
        vec![("node.id", "5"), ("controller.quorum.voters", v)],
        vec![("node.id", "1"), ("controller.quorum.voters", "1@nohost")],
        vec![
            ("node.id", "1"),
            ("controller.quorum.voters", "x@127.0.0.1:1"),
        ],
        vec![
            ("node.id", "1"),
            ("controller.quorum.voters", "1@127.0.0.1:1,1@127.0.0.1:2"),
        ],
        vec![
            ("node.id", "2"),
            ("controller.quorum.voters", v),
            ("controller.listener", "127.0.0.1:9093"),
        ],
    ] {
        let e = BrokerConfig::from_properties(&props(&bad), LogFormat::Text)
            .expect_err("invalid quorum settings");
        assert!(e.to_string().contains("controller"), "{e}");
    }
}

#[test]
fn registry_minimums_are_checked() {
    for (key, value, want) in [
        ("num.partitions", "0", "num.partitions must be at least 1"),
        (
            "log.segment.bytes",
            "13",
            "log.segment.bytes must be at least 14",
        ),
        (
            "offsets.topic.segment.bytes",
            "1",
            "offsets.topic.segment.bytes must be at least 14",
        ),
    ] {
        let mut p = BTreeMap::new();
        p.insert(key.to_string(), value.to_string());
        let e = BrokerConfig::from_properties(&p, LogFormat::Text)
            .expect_err("below the minimum")
            .to_string();
        assert!(e.contains(want), "{e}");
    }
    let mut p = BTreeMap::new();
    p.insert("log.segment.bytes".to_string(), "14".to_string());
    assert!(BrokerConfig::from_properties(&p, LogFormat::Text).is_ok());
}

#[test]
fn replication_settings() {
    let props = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let d = BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text).expect("defaults");
    assert_eq!(
        d.replication,
        ReplicationConfig::default(),
        "Kafka's defaults"
    );
    assert_eq!(d.replication.lag_time_max, Duration::from_millis(30_000));
    assert_eq!(d.replication.offsets_topic_replication_factor, 3);
    assert_eq!(d.rack, None);
    let c = BrokerConfig::from_properties(
        &props(&[
            ("broker.rack", "eu-1a"),
            ("min.insync.replicas", "2"),
            ("replica.lag.time.max.ms", "1500"),
            ("replica.fetch.max.bytes", "4096"),
            ("replica.fetch.wait.max.ms", "50"),
            ("num.replica.fetchers", "2"),
            ("auto.leader.rebalance.enable", "false"),
            ("leader.imbalance.check.interval.seconds", "5"),
            ("controlled.shutdown.enable", "false"),
        ]),
        LogFormat::Text,
    )
    .expect("config");
    assert_eq!(c.rack.as_deref(), Some("eu-1a"));
    let r = &c.replication;
    assert_eq!(r.min_insync_replicas, 2);
    assert_eq!(r.lag_time_max, Duration::from_millis(1500));
    assert_eq!((r.fetch_max_bytes, r.num_fetchers), (4096, 2));
    assert_eq!(r.fetch_wait_max, Duration::from_millis(50));
    assert!(!r.auto_leader_rebalance && !r.controlled_shutdown);
    assert_eq!(r.leader_imbalance_check_interval, Duration::from_secs(5));
    for bad in [
        ("unclean.leader.election.enable", "true"),
        ("min.insync.replicas", "0"),
        ("default.replication.factor", "0"),
        ("offsets.topic.replication.factor", "0"),
    ] {
        assert!(
            BrokerConfig::from_properties(&props(&[bad]), LogFormat::Text).is_err(),
            "{bad:?}"
        );
    }
    // The topic's min.insync.replicas, else the broker's (a live key).
    let repo = ConfigRepository::new(c);
    let none = topic::TopicConfig::default();
    assert_eq!(repo.partition_settings(&none).min_insync_replicas, 2);
    let three =
        topic::TopicConfig::parse(&[("min.insync.replicas".into(), "3".into())]).expect("valid");
    assert_eq!(repo.partition_settings(&three).min_insync_replicas, 3);
    assert!(registry::is_live("min.insync.replicas"));
}

#[test]
fn kafka_listener_settings_are_honoured() {
    let props = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    // A KRaft server.properties: the controller listener serves the quorum.
    let cfg = BrokerConfig::from_properties(
        &props(&[
            ("listeners", "CLIENT://:19092,CONTROLLER://:19093"),
            (
                "listener.security.protocol.map",
                "CLIENT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            ),
            ("controller.listener.names", "CONTROLLER"),
            ("advertised.listeners", "CLIENT://broker1:19092"),
        ]),
        LogFormat::Text,
    )
    .expect("config");
    let names: Vec<&str> = cfg.listeners.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["CLIENT"]);
    assert_eq!(cfg.advertised_listeners[0].host, "broker1");
    // An advertised listener that is not a listener.
    let err = BrokerConfig::from_properties(
        &props(&[
            ("listeners", "PLAINTEXT://:19092"),
            ("advertised.listeners", "OTHER://h:1"),
            (
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT",
            ),
        ]),
        LogFormat::Text,
    )
    .expect_err("unknown advertised listener");
    assert!(err.to_string().contains("OTHER"), "{err}");
    // A listener the map does not name.
    assert!(BrokerConfig::from_properties(
        &props(&[("listeners", "CLIENT://:19092")]),
        LogFormat::Text
    )
    .is_err());
}

#[test]
fn inter_broker_listener_is_chosen_as_kafka_chooses_it() {
    let props = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let map = (
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,SECURE:SASL_SSL",
    );
    let listeners = (
        "listeners",
        "SECURE://127.0.0.1:19093,INTERNAL://127.0.0.1:19094",
    );
    let parse = |extra: &[(&str, &str)]| {
        let mut all = vec![map, listeners];
        all.extend_from_slice(extra);
        BrokerConfig::from_properties(&props(&all), LogFormat::Text)
    };
    // Neither key: PLAINTEXT when advertised, else the first listener.
    assert_eq!(parse(&[]).expect("config").inter_broker_listener, "SECURE");
    let cfg = parse(&[("inter.broker.listener.name", "internal")]).expect("config");
    assert_eq!(cfg.inter_broker_listener, "INTERNAL");
    // Only one of the two keys.
    let err = parse(&[
        ("inter.broker.listener.name", "INTERNAL"),
        ("security.inter.broker.protocol", "PLAINTEXT"),
    ])
    .expect_err("both keys");
    assert!(err.to_string().contains("only one"), "{err}");
    // It must be advertised.
    let err = parse(&[("security.inter.broker.protocol", "PLAINTEXT")]).expect_err("absent");
    assert!(
        err.to_string().contains("not an advertised listener"),
        "{err}"
    );
    // A cluster may use a SASL inter-broker listener (its login is
    // checked with the listener's security, `security::inter_broker_login`).
    let voters = ("controller.quorum.voters", "1@127.0.0.1:1,2@127.0.0.1:2");
    assert_eq!(
        parse(&[voters]).expect("config").inter_broker_listener,
        "SECURE"
    );
    let cfg = parse(&[voters, ("inter.broker.listener.name", "INTERNAL")]).expect("config");
    assert_eq!(cfg.inter_broker_listener, "INTERNAL");
}

#[test]
fn the_authorizers_keys_are_known_but_not_kafka_broker_keys() {
    for key in ["super.users", "allow.everyone.if.no.acl.found"] {
        assert!(keys::is_known(key), "{key} draws an unknown-key warning");
        assert!(keys::lookup(key).is_none(), "{key} is not DescribeConfigs'");
    }
    assert!(!keys::is_known("super.user"));
}

#[test]
fn controller_listener_security_comes_from_the_protocol_map() {
    use crate::config::listener::SecurityProtocol;
    let props = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let base = [
        ("listeners", "PLAINTEXT://:19092,CONTROLLER://:19093"),
        ("controller.listener.names", "CONTROLLER"),
        ("controller.quorum.voters", "1@127.0.0.1:19093"),
        ("node.id", "1"),
    ];
    // No map entry for it: PLAINTEXT, as Kafka's controller default.
    let c = BrokerConfig::from_properties(&props(&base), LogFormat::Text).expect("config");
    assert_eq!(c.controller_security.name, "CONTROLLER");
    assert_eq!(c.controller_security.protocol, SecurityProtocol::Plaintext);
    assert_eq!(c.controller_security.port, 19093);
    // Mapped to SSL: mutual TLS between voters.
    let mut ssl = base.to_vec();
    ssl.push((
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,CONTROLLER:SSL",
    ));
    let c = BrokerConfig::from_properties(&props(&ssl), LogFormat::Text).expect("config");
    assert_eq!(c.controller_security.protocol, SecurityProtocol::Ssl);
    assert_eq!(
        c.listeners.len(),
        1,
        "the controller listener serves no clients"
    );
    // SASL on the quorum is refused, naming the listener and the key.
    let mut sasl = base.to_vec();
    sasl.push((
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_SSL",
    ));
    let err =
        BrokerConfig::from_properties(&props(&sasl), LogFormat::Text).expect_err("SASL controller");
    let msg = err.to_string();
    assert!(
        msg.contains("CONTROLLER") && msg.contains("listener.security.protocol.map"),
        "{msg}"
    );
    // Without controller.listener.names the listener is CONTROLLER.
    let c = BrokerConfig::from_properties(
        &props(&[("listeners", "PLAINTEXT://:19092")]),
        LogFormat::Text,
    )
    .expect("config");
    assert_eq!(c.controller_security.name, "CONTROLLER");
    assert_eq!(c.controller_security.protocol, SecurityProtocol::Plaintext);
}
