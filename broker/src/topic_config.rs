//! Topic-level configuration overrides, by Kafka's names.
//!
//! Every key Kafka defines for topics is accepted and stored (so that tools
//! creating topics with configs keep working); the ones listed in
//! [`TopicConfig`] are enforced today, the rest are stored only — `TODO.md`
//! says which. Values are validated: a bad value is `INVALID_CONFIG` naming
//! the key and the reason; an unknown key is `INVALID_CONFIG` too, as in Kafka.

use std::time::Duration;

use crate::error::BrokerError;

/// Kafka's config value types, as DescribeConfigs (v3+) reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// true/false
    Boolean = 1,
    /// text
    String = 2,
    /// 32-bit integer
    Int = 3,
    /// 64-bit integer
    Long = 5,
    /// floating point
    Double = 6,
    /// comma-separated list
    List = 7,
}

/// One topic config Kafka defines: name, Kafka's default, type, and the
/// broker key whose value is the default here (Kafka's
/// `ServerTopicConfigSynonyms`, named as the synonym in DescribeConfigs).
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    /// Kafka's name.
    pub name: &'static str,
    /// Kafka's default value.
    pub default: &'static str,
    /// Value type.
    pub kind: ConfigType,
    /// Broker-level key supplying the default, if any.
    pub broker_key: Option<&'static str>,
    /// One-line documentation.
    pub doc: &'static str,
}

const MAX_LONG: &str = "9223372036854775807";

macro_rules! def {
    ($name:expr, $default:expr, $kind:ident, $broker:expr, $doc:expr) => {
        ConfigDef {
            name: $name,
            default: $default,
            kind: ConfigType::$kind,
            broker_key: $broker,
            doc: $doc,
        }
    };
}

/// Every topic config Kafka 4.1 defines and describes (its `LogConfig`
/// without the internal `internal.segment.bytes` and the tiered-storage keys
/// not built here); accepted and stored, see the module docs for which take
/// effect.
pub const TOPIC_CONFIGS: &[ConfigDef] = &[
    def!(
        "cleanup.policy",
        "delete",
        List,
        Some("log.cleanup.policy"),
        "delete and/or compact old segments"
    ),
    def!(
        "compression.type",
        "producer",
        String,
        Some("compression.type"),
        "final compression of the topic's batches; producer keeps them"
    ),
    def!(
        "compression.gzip.level",
        "-1",
        Int,
        Some("compression.gzip.level"),
        "gzip level (1 to 9, or -1 for the codec's default) when compression.type is gzip"
    ),
    def!(
        "compression.lz4.level",
        "9",
        Int,
        Some("compression.lz4.level"),
        "lz4 level (1 to 17) when compression.type is lz4"
    ),
    def!(
        "compression.zstd.level",
        "3",
        Int,
        Some("compression.zstd.level"),
        "zstd level (-131072 to 22) when compression.type is zstd"
    ),
    def!(
        "delete.retention.ms",
        "86400000",
        Long,
        Some("log.cleaner.delete.retention.ms"),
        "how long tombstones are kept in compacted topics"
    ),
    def!(
        "file.delete.delay.ms",
        "60000",
        Long,
        Some("log.segment.delete.delay.ms"),
        "delay before deleting a file from the file system"
    ),
    def!(
        "flush.messages",
        MAX_LONG,
        Long,
        Some("log.flush.interval.messages"),
        "fsync after this many records"
    ),
    def!(
        "flush.ms",
        MAX_LONG,
        Long,
        Some("log.flush.interval.ms"),
        "fsync at least this often"
    ),
    def!(
        "follower.replication.throttled.replicas",
        "",
        List,
        None,
        "replicas whose follower replication is throttled"
    ),
    def!(
        "index.interval.bytes",
        "4096",
        Int,
        Some("log.index.interval.bytes"),
        "bytes between offset index entries"
    ),
    def!(
        "leader.replication.throttled.replicas",
        "",
        List,
        None,
        "replicas whose leader replication is throttled"
    ),
    def!(
        "local.retention.bytes",
        "-2",
        Long,
        Some("log.local.retention.bytes"),
        "local retention bytes with tiered storage"
    ),
    def!(
        "local.retention.ms",
        "-2",
        Long,
        Some("log.local.retention.ms"),
        "local retention time with tiered storage"
    ),
    def!(
        "max.compaction.lag.ms",
        MAX_LONG,
        Long,
        Some("log.cleaner.max.compaction.lag.ms"),
        "longest time a record stays uncompacted"
    ),
    def!(
        "max.message.bytes",
        "1048588",
        Int,
        Some("message.max.bytes"),
        "largest record batch accepted"
    ),
    def!(
        "message.timestamp.after.max.ms",
        "3600000",
        Long,
        Some("log.message.timestamp.after.max.ms"),
        "how far in the future a record timestamp may be"
    ),
    def!(
        "message.timestamp.before.max.ms",
        MAX_LONG,
        Long,
        Some("log.message.timestamp.before.max.ms"),
        "how far in the past a record timestamp may be"
    ),
    def!(
        "message.timestamp.type",
        "CreateTime",
        String,
        Some("log.message.timestamp.type"),
        "CreateTime or LogAppendTime"
    ),
    def!(
        "min.cleanable.dirty.ratio",
        "0.5",
        Double,
        Some("log.cleaner.min.cleanable.ratio"),
        "dirty ratio that triggers compaction"
    ),
    def!(
        "min.compaction.lag.ms",
        "0",
        Long,
        Some("log.cleaner.min.compaction.lag.ms"),
        "shortest time a record stays uncompacted"
    ),
    def!(
        "min.insync.replicas",
        "1",
        Int,
        Some("min.insync.replicas"),
        "in-sync replicas required for acks=all"
    ),
    def!(
        "preallocate",
        "false",
        Boolean,
        Some("log.preallocate"),
        "preallocate segment files"
    ),
    def!(
        "remote.storage.enable",
        "false",
        Boolean,
        None,
        "tiered storage"
    ),
    def!(
        "retention.bytes",
        "-1",
        Long,
        Some("log.retention.bytes"),
        "largest partition size before old segments are deleted"
    ),
    def!(
        "retention.ms",
        "604800000",
        Long,
        Some("log.retention.ms"),
        "longest time a segment is kept"
    ),
    def!(
        "segment.bytes",
        "1073741824",
        Int,
        Some("log.segment.bytes"),
        "segment file size"
    ),
    def!(
        "segment.index.bytes",
        "10485760",
        Int,
        Some("log.index.size.max.bytes"),
        "maximum offset index size"
    ),
    def!(
        "segment.jitter.ms",
        "0",
        Long,
        Some("log.roll.jitter.ms"),
        "random jitter subtracted from segment.ms"
    ),
    def!(
        "segment.ms",
        "604800000",
        Long,
        Some("log.roll.ms"),
        "longest time before a segment rolls"
    ),
    def!(
        "unclean.leader.election.enable",
        "false",
        Boolean,
        Some("unclean.leader.election.enable"),
        "allow out-of-sync replicas to lead"
    ),
];

/// Topic configs Kafka removed in 4.0: refused in new requests as Kafka 4.1
/// refuses them (unknown), ignored when already stored by an older version.
pub const REMOVED_TOPIC_CONFIGS: &[&str] = &[
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.difference.max.ms",
];

/// The error for a topic config key Kafka does not define (its wording).
pub fn unknown_key(name: &str) -> BrokerError {
    BrokerError::InvalidConfig(format!("Unknown topic config name: {name}"))
}

/// The definition of a topic config key.
pub fn definition(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// The enforced subset of a topic's overrides.
#[derive(Debug, Clone, Default)]
pub struct TopicConfig {
    /// `segment.bytes`
    pub segment_bytes: Option<u64>,
    /// `segment.ms`
    pub segment_ms: Option<Duration>,
    /// `index.interval.bytes`
    pub index_interval_bytes: Option<u64>,
    /// `flush.messages`
    pub flush_messages: Option<u64>,
    /// `flush.ms`
    pub flush_ms: Option<Duration>,
    /// `max.message.bytes`
    pub max_message_bytes: Option<usize>,
    /// `retention.ms` (Some(-1) = keep forever)
    pub retention_ms: Option<i64>,
    /// `retention.bytes` (Some(-1) = no size limit)
    pub retention_bytes: Option<i64>,
    /// `cleanup.policy` as (delete, compact)
    pub cleanup_policy: Option<(bool, bool)>,
    /// `delete.retention.ms`
    pub delete_retention_ms: Option<i64>,
    /// `min.compaction.lag.ms`
    pub min_compaction_lag_ms: Option<i64>,
    /// `max.compaction.lag.ms`
    pub max_compaction_lag_ms: Option<i64>,
    /// `min.cleanable.dirty.ratio`
    pub min_cleanable_dirty_ratio: Option<f64>,
    /// `message.timestamp.type` is LogAppendTime
    pub log_append_time: Option<bool>,
    /// `compression.type`: Some(None) = producer, Some(Some(codec)) = recompress
    pub compression: Option<Option<i16>>,
}

/// Parses `cleanup.policy` into (delete, compact).
pub fn parse_cleanup_policy(v: &str) -> Result<(bool, bool), BrokerError> {
    let (mut delete, mut compact) = (false, false);
    for part in v.split(',').map(str::trim) {
        match part {
            "delete" => delete = true,
            "compact" => compact = true,
            _ => {
                return Err(BrokerError::InvalidConfig(format!(
                    "cleanup.policy: '{part}' is not delete or compact"
                )))
            }
        }
    }
    Ok((delete, compact))
}

/// Parses `compression.type`: None for `producer`, else the codec id.
pub fn parse_compression(v: &str) -> Result<Option<i16>, BrokerError> {
    match v {
        "producer" => Ok(None),
        other => memorystreamer_log::codec::from_name(other)
            .filter(|_| other != "none")
            .map(Some)
            .ok_or_else(|| {
                BrokerError::InvalidConfig(format!(
                    "compression.type: '{v}' is not producer, uncompressed, gzip, snappy, lz4 or zstd"
                ))
            }),
    }
}

/// Parses `message.timestamp.type`: true for LogAppendTime.
pub fn parse_timestamp_type(v: &str) -> Result<bool, BrokerError> {
    match v {
        "CreateTime" => Ok(false),
        "LogAppendTime" => Ok(true),
        _ => Err(BrokerError::InvalidConfig(format!(
            "message.timestamp.type: '{v}' is not CreateTime or LogAppendTime"
        ))),
    }
}

fn num<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    key: &str,
    v: &str,
    min: T,
) -> Result<T, BrokerError> {
    let n: T = v
        .trim()
        .parse()
        .map_err(|_| BrokerError::InvalidConfig(format!("{key}: '{v}' is not a valid number")))?;
    if n < min {
        return Err(BrokerError::InvalidConfig(format!(
            "{key}: {v} is below the minimum {min}"
        )));
    }
    Ok(n)
}

impl TopicConfig {
    /// Extracts the enforced overrides from a topic's stored configs,
    /// ignoring keys Kafka removed in 4.0 that an older version stored.
    pub fn parse_stored(configs: &[(String, String)]) -> Result<Self, BrokerError> {
        let kept: Vec<(String, String)> = configs
            .iter()
            .filter(|(k, _)| !REMOVED_TOPIC_CONFIGS.contains(&k.as_str()))
            .cloned()
            .collect();
        Self::parse(&kept)
    }

    /// Validates overrides and extracts the enforced ones.
    pub fn parse(configs: &[(String, String)]) -> Result<Self, BrokerError> {
        let mut c = TopicConfig::default();
        for (k, v) in configs {
            match k.as_str() {
                "segment.bytes" => c.segment_bytes = Some(num(k, v, 14u64)?),
                "segment.ms" => c.segment_ms = Some(Duration::from_millis(num(k, v, 1u64)?)),
                "index.interval.bytes" => c.index_interval_bytes = Some(num(k, v, 0u64)?),
                "flush.messages" => c.flush_messages = Some(num(k, v, 1u64)?),
                "flush.ms" => c.flush_ms = Some(Duration::from_millis(num(k, v, 0u64)?)),
                "max.message.bytes" => c.max_message_bytes = Some(num(k, v, 0usize)?),
                "retention.ms" => c.retention_ms = Some(num(k, v, -1i64)?),
                "retention.bytes" => c.retention_bytes = Some(num(k, v, -1i64)?),
                "local.retention.ms" | "local.retention.bytes" => {
                    num(k, v, -2i64)?;
                }
                "cleanup.policy" => c.cleanup_policy = Some(parse_cleanup_policy(v)?),
                "delete.retention.ms" => c.delete_retention_ms = Some(num(k, v, 0i64)?),
                "min.compaction.lag.ms" => c.min_compaction_lag_ms = Some(num(k, v, 0i64)?),
                "max.compaction.lag.ms" => c.max_compaction_lag_ms = Some(num(k, v, 1i64)?),
                "min.cleanable.dirty.ratio" => {
                    let r = num(k, v, 0f64)?;
                    if !(0.0..=1.0).contains(&r) {
                        return Err(BrokerError::InvalidConfig(format!(
                            "{k}: {v} is not between 0 and 1"
                        )));
                    }
                    c.min_cleanable_dirty_ratio = Some(r);
                }
                "message.timestamp.type" => c.log_append_time = Some(parse_timestamp_type(v)?),
                "compression.type" => c.compression = Some(parse_compression(v)?),
                "compression.gzip.level" => {
                    let l = num(k, v, -1i32)?;
                    if l == 0 || l > 9 {
                        return Err(BrokerError::InvalidConfig(format!(
                            "{k}: {v} is not between 1 and 9, or -1"
                        )));
                    }
                }
                "compression.lz4.level" => {
                    if num(k, v, 1i32)? > 17 {
                        return Err(BrokerError::InvalidConfig(format!(
                            "{k}: {v} is above the maximum 17"
                        )));
                    }
                }
                "compression.zstd.level" => {
                    if num(k, v, -131072i32)? > 22 {
                        return Err(BrokerError::InvalidConfig(format!(
                            "{k}: {v} is above the maximum 22"
                        )));
                    }
                }
                key if definition(key).is_some() => {}
                key => return Err(unknown_key(key)),
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_string(), v.to_string())]
    }

    #[test]
    fn parses_and_rejects() {
        let c = TopicConfig::parse(&kv("segment.bytes", "1048576")).expect("valid");
        assert_eq!(c.segment_bytes, Some(1_048_576));
        assert!(TopicConfig::parse(&kv("retention.ms", "86400000")).is_ok());
        for (k, v) in [
            ("segment.bytes", "abc"),
            ("segment.bytes", "3"),
            ("cleanup.policy", "shred"),
            ("no.such.key", "1"),
            ("compression.type", "brotli"),
            ("compression.gzip.level", "0"),
            ("compression.gzip.level", "10"),
            ("compression.lz4.level", "18"),
            ("compression.zstd.level", "23"),
            ("message.format.version", "3.0-IV1"),
        ] {
            let e = TopicConfig::parse(&kv(k, v)).expect_err("invalid");
            assert_eq!(e.code(), 40, "{k}={v}");
            assert!(
                e.to_string().contains(k.split('.').next().unwrap_or(k)),
                "{e}"
            );
        }
        for (k, v) in [
            ("compression.gzip.level", "-1"),
            ("compression.gzip.level", "9"),
            ("compression.lz4.level", "1"),
            ("compression.zstd.level", "-131072"),
        ] {
            assert!(TopicConfig::parse(&kv(k, v)).is_ok(), "{k}={v}");
        }
        // Kafka 4.1 has 33 topic configs; we list all but the two
        // tiered-storage ones (remote.log.*.disable).
        assert_eq!(TOPIC_CONFIGS.len(), 31);
        // A key removed in Kafka 4.0 is refused when new, ignored when stored.
        assert!(TopicConfig::parse_stored(&kv("message.format.version", "3.0-IV1")).is_ok());
    }
}
