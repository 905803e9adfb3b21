//! The config repository: the component that owns this node's broker
//! configuration — the static one (file, environment, flags) and the
//! effective one (with committed dynamic broker configs applied) — and
//! derives from it and the metadata image everything else asks about
//! configs: the settings of a topic's partitions (log, produce checks,
//! compaction), a topic config's value and source, a broker key's value
//! in effect, source and synonyms for DescribeConfigs, and validated
//! changes (as metadata records) for AlterConfigs and
//! IncrementalAlterConfigs.
//!
//! It is NOT where changes are committed (the `Broker` commits the records
//! it returns through the metadata quorum, then hands the committed image
//! back with [`ConfigRepository::apply_dynamic`]) nor where keys are defined
//! (`super::registry`, `super::keys`, `super::topic`). It takes the
//! metadata image as an argument and never imports the broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use memorystreamer_log::{CompactionConfig, LogConfig};
use memorystreamer_raft::{MetadataImage, MetadataRecord, TopicImage};

use super::registry::{ConfigDef, TOPIC_CONFIGS};
use super::settings::{PartitionSettings, MAX_DECOMPRESSED_BYTES};
use super::topic::{self, TopicConfig};
use super::{keys, BrokerConfig, LogFormat};
use crate::error::BrokerError;

/// Where a config value comes from, numbered as DescribeConfigs sends it.
pub mod source {
    /// A topic's override.
    pub const TOPIC: i8 = 1;
    /// A dynamic config of this broker.
    pub const DYNAMIC_BROKER: i8 = 2;
    /// A dynamic cluster-wide default.
    pub const DYNAMIC_DEFAULT: i8 = 3;
    /// The static configuration (file, environment, flags).
    pub const STATIC_BROKER: i8 = 4;
    /// Kafka's (or MemoryStreamer's) default.
    pub const DEFAULT: i8 = 5;
}

/// This node's broker configuration, static and effective.
pub struct ConfigRepository {
    /// The static configuration.
    config: BrokerConfig,
    /// The static configuration with dynamic broker configs applied.
    effective: ArcSwap<BrokerConfig>,
    /// The computed values of a broker with no settings at all, described
    /// as the default synonyms.
    defaults: BTreeMap<&'static str, String>,
}

impl ConfigRepository {
    /// A repository whose effective configuration is `config` until
    /// dynamic configs are applied.
    pub fn new(config: BrokerConfig) -> Self {
        let defaults = BrokerConfig::from_properties(&BTreeMap::new(), LogFormat::Text)
            .map(|d| computed_values(&d).into_iter().collect())
            .unwrap_or_default();
        ConfigRepository {
            effective: ArcSwap::from_pointee(config.clone()),
            config,
            defaults,
        }
    }

    /// The static configuration (file, environment, flags).
    pub fn static_config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The configuration in effect now: static settings with dynamic broker
    /// configs applied (cheap: no lock, no allocation).
    pub fn effective(&self) -> Guard<Arc<BrokerConfig>> {
        self.effective.load()
    }

    /// Applies committed dynamic broker configs (cluster default and this
    /// node's) to the effective configuration; an invalid set is reported
    /// and the previous configuration kept.
    pub fn apply_dynamic(&self, image: &MetadataImage) -> Result<(), BrokerError> {
        let node = self.config.node_id.to_string();
        let c = self
            .config
            .with_dynamic(image.broker_configs(""), image.broker_configs(&node))?;
        self.effective.store(Arc::new(c));
        Ok(())
    }

    /// True when the dynamic broker configs this node applies differ
    /// between two images.
    pub fn dynamic_changed(&self, old: &MetadataImage, new: &MetadataImage) -> bool {
        let node = self.config.node_id.to_string();
        new.broker_configs("") != old.broker_configs("")
            || new.broker_configs(&node) != old.broker_configs(&node)
    }

    /// Dynamic broker configs of `resource` (`""`: cluster default, else
    /// a node id).
    pub fn dynamic_broker_configs(
        &self,
        image: &MetadataImage,
        resource: &str,
    ) -> Vec<(String, String)> {
        image.broker_configs(resource).to_vec()
    }

    /// A validated replacement of the dynamic broker configs of `resource`
    /// (`""` for the cluster default, or this node's id), as the record to
    /// commit: Kafka's rules (shared by AlterConfigs and
    /// IncrementalAlterConfigs), then the whole resulting configuration must
    /// parse, then the record must apply to `image`.
    pub fn broker_config_change(
        &self,
        image: &MetadataImage,
        resource: &str,
        configs: Vec<(String, String)>,
    ) -> Result<MetadataRecord, BrokerError> {
        let node = self.config.node_id.to_string();
        if !(resource.is_empty() || resource == node) {
            return Err(BrokerError::InvalidRequest(format!(
                "unknown broker '{resource}' (this is node {node})"
            )));
        }
        keys::validate_dynamic(&configs, resource.is_empty())?;
        let (default, per_broker) = if resource.is_empty() {
            (configs.clone(), image.broker_configs(&node).to_vec())
        } else {
            (image.broker_configs("").to_vec(), configs.clone())
        };
        self.config.with_dynamic(&default, &per_broker)?;
        let rec = MetadataRecord::BrokerConfigChanged {
            resource: resource.to_string(),
            configs,
        };
        image.apply(&rec)?;
        Ok(rec)
    }

    /// A validated replacement of a topic's config overrides, as the record
    /// to commit.
    pub fn topic_config_change(
        &self,
        image: &MetadataImage,
        name: &str,
        configs: Vec<(String, String)>,
    ) -> Result<MetadataRecord, BrokerError> {
        TopicConfig::parse(&configs)?;
        let topic = image
            .topic(name)
            .ok_or(BrokerError::UnknownTopicOrPartition)?;
        let rec = MetadataRecord::TopicConfigChanged {
            topic_id: topic.topic_id,
            configs,
        };
        image.apply(&rec)?;
        Ok(rec)
    }

    /// The log settings of a topic's partitions: its overrides, else the
    /// effective broker defaults.
    pub fn log_config(&self, topic_config: &TopicConfig) -> LogConfig {
        let eff = self.effective();
        let d = &eff.log;
        LogConfig {
            segment_bytes: topic_config.segment_bytes.unwrap_or(d.segment_bytes),
            segment_ms: Some(topic_config.segment_ms.unwrap_or(d.segment_ms)),
            index_interval_bytes: topic_config
                .index_interval_bytes
                .unwrap_or(d.index_interval_bytes),
            index_max_bytes: d.index_max_bytes,
            flush_messages: topic_config.flush_messages.or(d.flush_messages),
            flush_ms: topic_config.flush_ms.or(d.flush_ms),
        }
    }

    /// The settings a partition enforces on produce: the topic's overrides,
    /// else the broker's defaults.
    pub fn partition_settings(&self, tc: &TopicConfig) -> PartitionSettings {
        let eff = self.effective();
        let d = &eff.log;
        PartitionSettings {
            max_message_bytes: tc.max_message_bytes.unwrap_or(eff.message_max_bytes),
            compacted: self.cleanup_policy(tc).1,
            log_append_time: tc.log_append_time.unwrap_or_else(|| {
                topic::parse_timestamp_type(&d.message_timestamp_type).unwrap_or(false)
            }),
            compression: tc
                .compression
                .unwrap_or_else(|| topic::parse_compression(&d.compression_type).unwrap_or(None)),
            min_insync_replicas: tc
                .min_insync_replicas
                .unwrap_or(eff.replication.min_insync_replicas),
        }
    }

    /// A topic's effective `cleanup.policy` as (delete, compact).
    pub fn cleanup_policy(&self, tc: &TopicConfig) -> (bool, bool) {
        tc.cleanup_policy.unwrap_or_else(|| {
            topic::parse_cleanup_policy(&self.effective().log.cleanup_policy)
                .unwrap_or((true, false))
        })
    }

    /// A topic's effective compaction settings.
    pub fn compaction_config(&self, tc: &TopicConfig) -> CompactionConfig {
        let eff = self.effective();
        let d = &eff.log;
        CompactionConfig {
            delete_retention_ms: tc.delete_retention_ms.unwrap_or(d.delete_retention_ms),
            min_compaction_lag_ms: tc.min_compaction_lag_ms.unwrap_or(d.min_compaction_lag_ms),
            max_compaction_lag_ms: tc.max_compaction_lag_ms.unwrap_or(d.max_compaction_lag_ms),
            min_cleanable_dirty_ratio: tc
                .min_cleanable_dirty_ratio
                .unwrap_or(d.min_cleanable_ratio),
            // Kafka's map spends 24 bytes per entry (16-byte digest + offset).
            max_map_entries: (d.cleaner_dedupe_buffer_size / 24).max(1) as usize,
            max_decompressed_bytes: MAX_DECOMPRESSED_BYTES,
            io_max_bytes_per_second: d.cleaner_io_max_bytes_per_second,
        }
    }

    /// A topic's configs as DescribeConfigs reports them: every key Kafka
    /// defines with its effective value and whether it is an override.
    pub fn topic_config_values(
        &self,
        image: &MetadataImage,
        topic: &TopicImage,
    ) -> Vec<(&'static ConfigDef, String, bool)> {
        TOPIC_CONFIGS
            .iter()
            .map(|d| match topic.configs.iter().find(|(k, _)| k == d.name) {
                Some((_, v)) => (d, v.clone(), true),
                None => (d, self.topic_config_default(image, d), false),
            })
            .collect()
    }

    /// The value a topic config has when not overridden: the value in
    /// effect of the broker key it falls back to (`retention.ms` ←
    /// `log.retention.ms`, computed from `log.retention.hours` when only
    /// that is set), else Kafka's default.
    pub fn topic_config_default(&self, image: &MetadataImage, d: &ConfigDef) -> String {
        let Some(bk) = d.broker_key else {
            return d.default.to_string();
        };
        let eff = self.effective();
        if let Some((_, v)) = computed_values(&eff).into_iter().find(|(k, _)| *k == bk) {
            // Topic configs print doubles as Rust does (0.5), as before.
            return match bk {
                "log.cleaner.min.cleanable.ratio" => eff.log.min_cleanable_ratio.to_string(),
                _ => v,
            };
        }
        // A broker key MemoryStreamer does not read: as set (dynamic
        // per-broker, cluster default, static), else Kafka's default.
        self.broker_key_setting(image, bk)
            .unwrap_or_else(|| d.default.to_string())
    }

    /// The value `key` is set to: per-broker dynamic, cluster-default
    /// dynamic or static, in that precedence.
    fn broker_key_setting(&self, image: &MetadataImage, key: &str) -> Option<String> {
        let node = self.config.node_id.to_string();
        let dynamic = |r: &str| {
            image
                .broker_configs(r)
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        dynamic(&node)
            .or_else(|| dynamic(""))
            .or_else(|| self.config.props.get(key).cloned())
    }

    /// Where the value of broker key `key` comes from: per-broker dynamic,
    /// cluster-default dynamic, static, or Kafka's default.
    pub fn broker_key_source(&self, image: &MetadataImage, key: &str) -> i8 {
        let node = self.config.node_id.to_string();
        let set = |resource: &str| image.broker_configs(resource).iter().any(|(k, _)| k == key);
        if set(&node) {
            source::DYNAMIC_BROKER
        } else if set("") {
            source::DYNAMIC_DEFAULT
        } else if self.config.props.contains_key(key) {
            source::STATIC_BROKER
        } else {
            source::DEFAULT
        }
    }

    /// The source of the broker key a topic config falls back to, as
    /// DescribeConfigs reports it: static when set through a synonym (such
    /// as `log.retention.hours`) so that the value differs from Kafka's
    /// default.
    pub fn topic_fallback_source(&self, image: &MetadataImage, d: &ConfigDef) -> i8 {
        let Some(bk) = d.broker_key else {
            return source::DEFAULT;
        };
        match self.broker_key_source(image, bk) {
            source::DEFAULT if self.topic_config_default(image, d) != d.default => {
                source::STATIC_BROKER
            }
            src => src,
        }
    }

    /// The source a topic config is reported with (DescribeConfigs, and
    /// CreateTopics v5+): the topic's override, else the broker setting that
    /// supplies its default, else Kafka's default.
    pub fn topic_config_source(
        &self,
        image: &MetadataImage,
        d: &ConfigDef,
        overridden: bool,
    ) -> i8 {
        if overridden {
            source::TOPIC
        } else {
            self.topic_fallback_source(image, d)
        }
    }

    /// A broker key's value in effect (computed, else as set, else Kafka's
    /// default), as IncrementalAlterConfigs APPEND/SUBTRACT start from.
    pub fn broker_value(&self, key: &keys::KafkaKey) -> String {
        computed_values(&self.effective())
            .into_iter()
            .find(|(k, _)| *k == key.name)
            .map(|(_, v)| v)
            .or_else(|| self.config.props.get(key.name).cloned())
            .or_else(|| key.default.map(String::from))
            .unwrap_or_default()
    }

    /// The synonyms of broker key `key` in Kafka's precedence (highest
    /// first), as (source, value as set): per-broker dynamic, cluster
    /// default, static, default (none for a key without a Kafka default).
    pub fn broker_synonyms(
        &self,
        image: &MetadataImage,
        key: &keys::KafkaKey,
    ) -> Vec<(i8, String)> {
        let k = key.name;
        let node = self.config.node_id.to_string();
        let dynamic = |r: &str| {
            image
                .broker_configs(r)
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
        };
        let mut synonyms = Vec::new();
        if let Some(x) = dynamic(&node) {
            synonyms.push((source::DYNAMIC_BROKER, x));
        }
        if let Some(x) = dynamic("") {
            synonyms.push((source::DYNAMIC_DEFAULT, x));
        }
        if let Some(x) = static_value(&self.config, k) {
            synonyms.push((source::STATIC_BROKER, x.clone()));
        }
        if let Some(d) = key.default {
            let d = self.defaults.get(k).cloned().unwrap_or(d.to_string());
            synonyms.push((source::DEFAULT, d));
        }
        synonyms
    }

    /// The value DescribeConfigs gives broker key `key` whose synonyms are
    /// `synonyms`: a dynamic value as set (applied or not); for a key whose
    /// Kafka default is null, the value only when set; otherwise the value
    /// in effect.
    pub fn broker_describe_value(&self, key: &str, synonyms: &[(i8, String)]) -> Option<String> {
        match synonyms.first() {
            Some((source::DYNAMIC_BROKER | source::DYNAMIC_DEFAULT, v)) => Some(v.clone()),
            first if NULL_DEFAULT_KEYS.contains(&key) => first.map(|s| s.1.clone()),
            first => computed_values(&self.effective())
                .into_iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v)
                .or_else(|| first.map(|s| s.1.clone())),
        }
    }

    /// True when broker key `key` is set anywhere (dynamic or static).
    pub fn broker_key_is_set(&self, image: &MetadataImage, key: &str) -> bool {
        self.broker_key_setting(image, key).is_some() || static_value(&self.config, key).is_some()
    }
}

/// A double as Java's `Double.toString` prints it, which is how Kafka
/// renders DOUBLE configs: `0.5`, `10.0`, `1.7976931348623157E308`.
fn java_double(d: f64) -> String {
    let a = d.abs();
    if !d.is_finite() || a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = d.to_string();
        if s.contains('.') || !d.is_finite() {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let s = format!("{d:e}");
        let (m, e) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        if m.contains('.') {
            format!("{m}E{e}")
        } else {
            format!("{m}.0E{e}")
        }
    }
}

/// Broker keys whose Kafka default is null because their value in effect
/// comes from another key (`log.retention.ms` from `log.retention.hours`,
/// `log.roll.ms` from `log.roll.hours`, `log.flush.interval.ms` from
/// `log.flush.scheduler.interval.ms`): Kafka describes them with no value
/// unless they are set themselves, and so do we (the fallback still
/// applies). Other keys without a Kafka default (`node.id`, `log.dirs`) are
/// described with the value this broker runs with.
const NULL_DEFAULT_KEYS: &[&str] = &["log.flush.interval.ms", "log.retention.ms", "log.roll.ms"];

/// The value a static broker key has in the configuration: its own, or for
/// `broker.id` / `node.id` the other one (Kafka copies one to the other).
fn static_value<'a>(c: &'a BrokerConfig, key: &str) -> Option<&'a String> {
    c.props.get(key).or_else(|| match key {
        "broker.id" => c.props.get("node.id"),
        "node.id" => c.props.get("broker.id"),
        _ => None,
    })
}

/// The keys whose value MemoryStreamer computes (the value in effect, e.g.
/// `log.retention.ms` from `log.retention.hours`), as (Kafka key, value).
/// Every other key is described from where it is set.
pub fn computed_values(c: &BrokerConfig) -> Vec<(&'static str, String)> {
    let list = |ls: &[super::Listener]| {
        ls.iter()
            .map(|l| format!("{}://{}:{}", l.name, l.host, l.port))
            .collect::<Vec<_>>()
            .join(",")
    };
    let max = || i64::MAX.to_string();
    let l = &c.log;
    vec![
        ("node.id", c.node_id.to_string()),
        ("log.dirs", c.data_dir.display().to_string()),
        ("listeners", list(&c.listeners)),
        ("advertised.listeners", list(&c.advertised_listeners)),
        ("num.partitions", c.num_partitions.to_string()),
        (
            "default.replication.factor",
            c.default_replication_factor.to_string(),
        ),
        (
            "auto.create.topics.enable",
            c.auto_create_topics.to_string(),
        ),
        ("message.max.bytes", c.message_max_bytes.to_string()),
        (
            "socket.request.max.bytes",
            c.socket_request_max_bytes.to_string(),
        ),
        ("log.segment.bytes", l.segment_bytes.to_string()),
        ("log.roll.ms", l.segment_ms.as_millis().to_string()),
        (
            "log.index.interval.bytes",
            l.index_interval_bytes.to_string(),
        ),
        ("log.index.size.max.bytes", l.index_max_bytes.to_string()),
        (
            "log.flush.interval.messages",
            l.flush_messages.map_or_else(max, |n| n.to_string()),
        ),
        (
            "log.flush.interval.ms",
            l.flush_ms.map_or_else(max, |d| d.as_millis().to_string()),
        ),
        ("log.retention.ms", l.retention_ms.to_string()),
        ("log.retention.bytes", l.retention_bytes.to_string()),
        (
            "log.retention.check.interval.ms",
            l.retention_check_interval.as_millis().to_string(),
        ),
        ("log.cleanup.policy", l.cleanup_policy.clone()),
        ("log.cleaner.enable", l.cleaner_enable.to_string()),
        (
            "log.cleaner.backoff.ms",
            l.cleaner_backoff.as_millis().to_string(),
        ),
        (
            "log.cleaner.dedupe.buffer.size",
            l.cleaner_dedupe_buffer_size.to_string(),
        ),
        (
            "log.cleaner.io.max.bytes.per.second",
            java_double(l.cleaner_io_max_bytes_per_second.unwrap_or(f64::MAX)),
        ),
        (
            "log.cleaner.delete.retention.ms",
            l.delete_retention_ms.to_string(),
        ),
        (
            "log.cleaner.min.compaction.lag.ms",
            l.min_compaction_lag_ms.to_string(),
        ),
        (
            "log.cleaner.max.compaction.lag.ms",
            l.max_compaction_lag_ms.to_string(),
        ),
        (
            "log.cleaner.min.cleanable.ratio",
            java_double(l.min_cleanable_ratio),
        ),
        (
            "log.message.timestamp.type",
            l.message_timestamp_type.clone(),
        ),
        ("compression.type", l.compression_type.clone()),
        (
            "offsets.topic.num.partitions",
            c.offsets_topic_partitions.to_string(),
        ),
        (
            "group.initial.rebalance.delay.ms",
            c.group.initial_rebalance_delay.as_millis().to_string(),
        ),
        (
            "group.min.session.timeout.ms",
            c.group.min_session_timeout.as_millis().to_string(),
        ),
        (
            "group.max.session.timeout.ms",
            c.group.max_session_timeout.as_millis().to_string(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::java_double;

    #[test]
    fn doubles_render_as_java_does() {
        assert_eq!(java_double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(10.0), "10.0");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
    }
}
