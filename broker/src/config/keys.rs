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
//! topic-level configs (`super::topic`).

use crate::error::BrokerError;

pub use super::kafka_keys::{KAFKA_BROKER_KEYS, KAFKA_VERSION};
pub use super::key_types::{Dynamic, Effect, Importance, KafkaKey, KeyType};
pub use super::registry::{all, effect, is_dynamic, is_known, lookup, OWN_KEYS};

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
/// whether it is dynamic, and what it does in MemoryStreamer; then every
/// topic key with its type, default, the broker key it falls back to and
/// what it does here. Generated from the registry; the `broker_configs`
/// test keeps the file current.
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
         * `unclean.leader.election.enable` (broker key and topic config) accepts only `false`: \
         leaders are elected from the in-sync replicas only. `true` stops the broker at start-up \
         and is refused with INVALID_CONFIG as a topic config.\n\
         * `offsets.topic.replication.factor` and `transaction.state.log.replication.factor` are \
         capped by the live brokers when the internal topic is created (Kafka instead refuses to \
         create it until enough brokers registered), and `transaction.state.log.min.isr` by that \
         factor, so a single node runs with Kafka's defaults.\n\
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
    out.push_str(
        "\n## Topic configuration\n\n\
         Per-topic overrides (CreateTopics configs, `kafka-configs --alter --entity-type topics`, \
         AlterConfigs / IncrementalAlterConfigs on a TOPIC resource). A topic key that is not \
         overridden takes the value in effect of its broker key (Kafka's synonym, described as such \
         by DescribeConfigs), else Kafka's default. `applied, live` keys are enforced and a change \
         applies at once to the topic's partitions; `no effect` keys are validated and stored only. \
         An unknown key, or a key Kafka 4.0 removed, is refused with INVALID_CONFIG.\n\n",
    );
    out.push_str("| Key | Type | Default | Broker key | In MemoryStreamer | Description |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for d in super::registry::TOPIC_CONFIGS {
        let effect = match d.effect {
            Effect::None => "no effect",
            Effect::Static | Effect::Live => "applied, live",
        };
        let default = match d.default {
            "" => "\"\"".to_string(),
            v => format!("`{v}`"),
        };
        let broker = d
            .broker_key
            .map_or("(none)".to_string(), |b| format!("`{b}`"));
        out.push_str(&format!(
            "| `{}` | {} | {default} | {broker} | {effect} | {} |\n",
            d.name,
            d.kind.name(),
            cell(d.doc)
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
