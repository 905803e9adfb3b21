//! The broker configuration keys MemoryStreamer knows, and what it does with
//! each: Apache Kafka's table ([`super::kafka_keys`], generated from Kafka's
//! own `ConfigDef`), MemoryStreamer's own keys ([`OWN_KEYS`]), and what each
//! does here ([`effect`], from the registry's table, `super::registry`).
//!
//! It also holds the one validation of dynamic broker config changes that
//! AlterConfigs and IncrementalAlterConfigs share ([`validate_dynamic`]),
//! with Kafka's rules and messages, and the generator of
//! `docs/configuration.md` ([`configuration_markdown`]). It is not the
//! parser of values into [`super::BrokerConfig`] (the parent module) nor the
//! topic-level configs (`crate::topic_config`).

use crate::error::BrokerError;

pub use super::kafka_keys::{KAFKA_BROKER_KEYS, KAFKA_VERSION};

/// Value type of a key, numbered as DescribeConfigs v3+ sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// true/false
    Boolean = 1,
    /// Text.
    String = 2,
    /// 32-bit integer.
    Int = 3,
    /// 16-bit integer.
    Short = 4,
    /// 64-bit integer.
    Long = 5,
    /// Floating point.
    Double = 6,
    /// Comma-separated list.
    List = 7,
    /// A Java class name.
    Class = 8,
    /// A secret: never described with its value.
    Password = 9,
}

impl KeyType {
    /// Kafka's name of the type (as `ConfigDef.Type` prints it).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Boolean => "BOOLEAN",
            KeyType::String => "STRING",
            KeyType::Int => "INT",
            KeyType::Short => "SHORT",
            KeyType::Long => "LONG",
            KeyType::Double => "DOUBLE",
            KeyType::List => "LIST",
            KeyType::Class => "CLASS",
            KeyType::Password => "PASSWORD",
        }
    }
}

/// Kafka's importance of a key (documentation only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// Whether and where Kafka lets a key change at run time
/// (`kafka.server.DynamicBrokerConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// Not dynamic: server.properties and a restart only.
    ReadOnly,
    /// Dynamic, for one broker only (a node id resource, never the
    /// cluster-wide default).
    PerBroker,
    /// Dynamic, per broker or as the cluster-wide default.
    ClusterWide,
    /// Dynamic only with a `listener.name.<listener>.` prefix (SSL settings).
    ListenerOnly,
}

impl Dynamic {
    /// Kafka's name of the mode (`kafka-configs --help` lists these).
    pub fn name(self) -> &'static str {
        match self {
            Dynamic::ReadOnly => "read-only",
            Dynamic::PerBroker => "per-broker",
            Dynamic::ClusterWide => "cluster-wide",
            Dynamic::ListenerOnly => "per-listener",
        }
    }
}

/// One broker configuration key, as Kafka defines it.
#[derive(Debug, Clone, Copy)]
pub struct KafkaKey {
    /// The key.
    pub name: &'static str,
    /// Value type.
    pub kind: KeyType,
    /// Kafka's default as DescribeConfigs prints it; None when there is none.
    pub default: Option<&'static str>,
    /// Kafka's importance.
    pub importance: Importance,
    /// Whether and where it can change at run time.
    pub dynamic: Dynamic,
    /// Kafka defines the key as internal (`ConfigKey.internalConfig`): it
    /// is accepted in the configuration but neither documented nor listed
    /// by DescribeConfigs.
    pub internal: bool,
    /// The first sentence of Kafka's documentation.
    pub doc: &'static str,
}

/// Keys MemoryStreamer has that Kafka does not.
pub const OWN_KEYS: &[KafkaKey] = &[
    KafkaKey {
        name: "controller.listener",
        kind: KeyType::String,
        default: Some("127.0.0.1:0"),
        importance: Importance::High,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "HOST:PORT the metadata-quorum (controller) listener binds; defaults to this node's entry in controller.quorum.voters.",
    },
    KafkaKey {
        name: "metrics.addr",
        kind: KeyType::String,
        default: Some("127.0.0.1:9644"),
        importance: Importance::Medium,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "Address of the Prometheus endpoint (/metrics), or off.",
    },
    KafkaKey {
        name: "metrics.topic.labels",
        kind: KeyType::Boolean,
        default: Some("true"),
        importance: Importance::Low,
        dynamic: Dynamic::ReadOnly,
        internal: false,
        doc: "Label traffic metrics by topic (true), or count every topic under topic=\"_all\" (false) to bound cardinality.",
    },
];

/// What a key does in MemoryStreamer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Accepted and described for compatibility; nothing reads it.
    None,
    /// Read from the static configuration (server.properties, environment,
    /// flags). A dynamic value, where Kafka allows one, is stored and
    /// described but not applied.
    Static,
    /// Read from the configuration and, when changed at run time, applied at
    /// once.
    Live,
}

/// The key called `name`: Kafka's, else MemoryStreamer's own.
pub fn lookup(name: &str) -> Option<&'static KafkaKey> {
    KAFKA_BROKER_KEYS
        .binary_search_by(|k| k.name.cmp(name))
        .ok()
        .map(|i| &KAFKA_BROKER_KEYS[i])
        .or_else(|| OWN_KEYS.iter().find(|k| k.name == name))
}

/// Every key: Kafka's (sorted), then MemoryStreamer's own.
pub fn all() -> impl Iterator<Item = &'static KafkaKey> {
    KAFKA_BROKER_KEYS.iter().chain(OWN_KEYS)
}

/// True for a key a configuration file may hold without a warning: every
/// Kafka key, MemoryStreamer's own, and Kafka's per-listener form
/// `listener.name.<listener>.<key>`.
pub fn is_known(name: &str) -> bool {
    lookup(name).is_some() || name.starts_with("listener.name.")
}

/// True when Kafka lets `name` change at run time (in some form).
pub fn is_dynamic(name: &str) -> bool {
    lookup(name).is_some_and(|k| k.dynamic != Dynamic::ReadOnly)
}

/// What `name` does in MemoryStreamer (the registry's table says).
pub fn effect(name: &str) -> Effect {
    super::registry::effect(name)
}

/// The documentation DescribeConfigs returns for `key`: Kafka's, prefixed
/// with what MemoryStreamer does with it where that differs.
pub fn documentation(key: &KafkaKey) -> String {
    let note = match (effect(key.name), key.dynamic) {
        (Effect::None, _) => "Accepted for compatibility; no effect in MemoryStreamer. ",
        (Effect::Static, Dynamic::ReadOnly) | (Effect::Live, _) => "",
        (Effect::Static, _) => {
            "MemoryStreamer applies this key from server.properties only; a dynamic value is stored and described but not applied. "
        }
    };
    format!("{note}{}", key.doc)
}

/// The error for a key neither Kafka nor MemoryStreamer defines.
pub fn unknown_key(name: &str) -> BrokerError {
    BrokerError::InvalidConfig(format!("Unknown broker config: {name}"))
}

/// Kafka's rendering of a set of keys in its messages (`Set(a, b)`).
fn key_set(prefix: &str, keys: &[&str]) -> String {
    format!("{prefix}({})", keys.join(", "))
}

/// Checks `value` against the type of `key` as Kafka's `ConfigDef.parseType`
/// does; the error is Kafka's message.
pub fn check_type(key: &KafkaKey, value: &str) -> Result<(), String> {
    let v = value.trim();
    let bad = |why: String| {
        Err(format!(
            "Invalid value {value} for configuration {}: {why}",
            key.name
        ))
    };
    let number = |ok: bool, t: KeyType| {
        if ok {
            Ok(())
        } else {
            bad(format!("Not a number of type {}", t.name()))
        }
    };
    match key.kind {
        KeyType::Boolean => {
            if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                bad("Expected value to be either true or false".into())
            }
        }
        KeyType::Int => number(v.parse::<i32>().is_ok(), KeyType::Int),
        KeyType::Short => number(v.parse::<i16>().is_ok(), KeyType::Short),
        KeyType::Long => number(v.parse::<i64>().is_ok(), KeyType::Long),
        KeyType::Double => number(v.parse::<f64>().is_ok(), KeyType::Double),
        KeyType::String | KeyType::List | KeyType::Class | KeyType::Password => Ok(()),
    }
}

/// Validates a change of dynamic broker configs (the whole new set of one
/// resource) as Kafka 4.x does for both AlterConfigs and
/// IncrementalAlterConfigs, in Kafka's order: keys that are not dynamic,
/// SSL keys without a listener prefix, value types, then per-broker keys at
/// the cluster-wide default (`cluster_default`). Kafka answers all of these
/// with INVALID_REQUEST and the messages used here. A key neither Kafka nor
/// MemoryStreamer defines is INVALID_CONFIG (Kafka stores such keys for
/// plugins; MemoryStreamer has none, so a typo would be stored silently).
pub fn validate_dynamic(
    configs: &[(String, String)],
    cluster_default: bool,
) -> Result<(), BrokerError> {
    let mut known = Vec::with_capacity(configs.len());
    for (name, value) in configs {
        match lookup(name) {
            Some(k) => known.push((k, value.as_str())),
            None => return Err(unknown_key(name)),
        }
    }
    let with = |d: Dynamic| -> Vec<&str> {
        known
            .iter()
            .filter(|(k, _)| k.dynamic == d)
            .map(|(k, _)| k.name)
            .collect()
    };
    let read_only = with(Dynamic::ReadOnly);
    if !read_only.is_empty() {
        return Err(BrokerError::ConfigChangeRefused(format!(
            "Cannot update these configs dynamically: {}",
            key_set("Set", &read_only)
        )));
    }
    let listener_only = with(Dynamic::ListenerOnly);
    if !listener_only.is_empty() {
        return Err(BrokerError::ConfigChangeRefused(format!(
            "These security configs can be dynamically updated only per-listener using the listener prefix: {}",
            key_set("HashSet", &listener_only)
        )));
    }
    for (k, v) in &known {
        check_type(k, v).map_err(BrokerError::ConfigChangeRefused)?;
    }
    let per_broker = with(Dynamic::PerBroker);
    if cluster_default && !per_broker.is_empty() {
        return Err(BrokerError::ConfigChangeRefused(format!(
            "Cannot update these configs at default cluster level, broker id must be specified: {}",
            key_set("Set", &per_broker)
        )));
    }
    Ok(())
}

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `docs/configuration.md`: every broker key with its type, Kafka's default,
/// whether it is dynamic, and what it does in MemoryStreamer. Generated;
/// the `broker_configs` test keeps the file current.
pub fn configuration_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Broker configuration\n\n");
    out.push_str(
        "<!-- Generated from broker/src/config/keys.rs and registry.rs by\n     \
         UPDATE_DOCS=1 cargo test --release -p memorystreamer-broker --test broker_configs\n     \
         Do not edit by hand. -->\n\n",
    );
    out.push_str(&format!(
        "MemoryStreamer knows every broker key of Apache Kafka {KAFKA_VERSION} (the table is generated from \
         Kafka's own definitions by `scripts/kafka-config-keys/generate.sh`), plus a few of its own. \
         Set them in a `server.properties` file (`--config`), with `--override KEY=VALUE`, or, where \
         the key is dynamic, at run time with `kafka-configs --alter --entity-type brokers` \
         (AlterConfigs / IncrementalAlterConfigs on a BROKER resource).\n\n"
    ));
    out.push_str(
        "* **In MemoryStreamer**: `applied` keys are read from the configuration; `applied, live` \
         keys also take effect at once when changed at run time; `no effect` keys are accepted, \
         stored and described (DescribeConfigs) for compatibility but change nothing.\n\
         * **Dynamic**: as in Kafka. `per-broker` keys can be set for one node id only; \
         `cluster-wide` keys also for the cluster default (`--entity-default`); `per-listener` keys \
         only with a `listener.name.<name>.` prefix; `read-only` keys only in the configuration \
         (changing them at run time is refused with INVALID_REQUEST, as Kafka does). A dynamic \
         change of a key that is not `live` here is stored durably and described back with its \
         dynamic source, but not applied.\n\
         * A key neither Kafka nor MemoryStreamer defines is reported at start-up and refused at \
         run time with INVALID_CONFIG (Kafka stores unknown dynamic keys for plugins).\n\
         * `PASSWORD` keys are described with a null value and `is_sensitive`, as Kafka does.\n\
         * Keys Kafka defines as internal are accepted but, as in Kafka, neither listed here nor \
         described by DescribeConfigs unless set.\n\n",
    );
    out.push_str("| Key | Type | Default | Dynamic | In MemoryStreamer | Description |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for k in all().filter(|k| !k.internal) {
        let effect = match effect(k.name) {
            Effect::None => "no effect",
            Effect::Static => "applied",
            Effect::Live => "applied, live",
        };
        let default = match k.default {
            None => "(none)".to_string(),
            Some("") => "\"\"".to_string(),
            Some(d) => format!("`{}`", d.replace('|', "\\|")),
        };
        let own = if OWN_KEYS.iter().any(|o| o.name == k.name) {
            " (MemoryStreamer only)"
        } else {
            ""
        };
        out.push_str(&format!(
            "| `{}`{own} | {} | {default} | {} | {effect} | {} |\n",
            k.name,
            k.kind.name(),
            k.dynamic.name(),
            cell(k.doc)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lists_agree_with_it() {
        assert!(KAFKA_BROKER_KEYS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(KAFKA_BROKER_KEYS.len() > 300);
        for k in super::super::registry::BROKER_KEYS {
            assert!(
                lookup(k.name).is_some(),
                "{} is neither Kafka's nor our own",
                k.name
            );
            if k.effect == Effect::Live {
                assert!(
                    is_dynamic(k.name),
                    "{} is live here but not dynamic in Kafka",
                    k.name
                );
            }
        }
        for k in OWN_KEYS {
            assert!(
                KAFKA_BROKER_KEYS.iter().all(|x| x.name != k.name),
                "{} is Kafka's",
                k.name
            );
        }
    }

    #[test]
    fn kafka_validation_order_and_messages() {
        let c = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let msg = |pairs: &[(&str, &str)], default: bool| {
            validate_dynamic(&c(pairs), default)
                .map_err(|e| (e.code(), e.to_string()))
                .err()
        };
        assert_eq!(msg(&[("background.threads", "12")], true), None);
        assert_eq!(
            msg(&[("sasl.kerberos.min.time.before.relogin", "70000")], false),
            None
        );
        assert_eq!(
            msg(&[("sasl.kerberos.min.time.before.relogin", "70000")], true),
            Some((42, "Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)".into()))
        );
        assert_eq!(
            msg(&[("log.dirs", "/x")], false),
            Some((
                42,
                "Cannot update these configs dynamically: Set(log.dirs)".into()
            ))
        );
        assert_eq!(
            msg(&[("background.threads", "abc")], false),
            Some((
                42,
                "Invalid value abc for configuration background.threads: Not a number of type INT"
                    .into()
            ))
        );
        assert_eq!(
            msg(&[("ssl.keystore.location", "/ks")], false),
            Some((42, "These security configs can be dynamically updated only per-listener using the listener prefix: HashSet(ssl.keystore.location)".into()))
        );
        assert_eq!(msg(&[("no.such.key", "1")], false).map(|m| m.0), Some(40));
    }
}
