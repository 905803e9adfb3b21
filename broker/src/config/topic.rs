//! Topic-level configuration overrides, by Kafka's names.
//!
//! Every key Kafka defines for topics (the registry's table,
//! [`super::registry::TOPIC_CONFIGS`]) is accepted and stored (so
//! that tools creating topics with configs keep working); the ones listed in
//! [`TopicConfig`] are enforced today (`effect` in the table), the rest are
//! stored only. Values are validated here: a bad value is `INVALID_CONFIG`
//! naming the key and the reason; an unknown key is `INVALID_CONFIG` too, as
//! in Kafka. It is NOT where a key is defined (the registry) nor where a
//! topic's values are combined with the broker's defaults
//! (`super::ConfigRepository`).

use std::time::Duration;

use crate::error::BrokerError;

pub use super::key_types::KeyType as ConfigType;
pub use super::registry::{
    definition, unknown_topic_key as unknown_key, ConfigDef, REMOVED_TOPIC_CONFIGS, TOPIC_CONFIGS,
};

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
    /// `min.insync.replicas`
    pub min_insync_replicas: Option<i32>,
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
                "min.insync.replicas" => c.min_insync_replicas = Some(num(k, v, 1i32)?),
                "unclean.leader.election.enable" => {
                    if !v.trim().eq_ignore_ascii_case("false") {
                        return Err(BrokerError::InvalidConfig(format!(
                            "{k}: '{v}' is not supported: only false (leaders come from the \
                             in-sync replicas only)"
                        )));
                    }
                }
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
            ("min.insync.replicas", "0"),
            ("unclean.leader.election.enable", "true"),
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
            ("min.insync.replicas", "2"),
            ("unclean.leader.election.enable", "false"),
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
