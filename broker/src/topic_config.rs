//! Topic-level configuration overrides, by Kafka's names.
//!
//! Every key Kafka defines for topics is accepted and stored (so that tools
//! creating topics with configs keep working); the ones listed in
//! [`TopicConfig`] are enforced today, the rest are stored only — `TODO.md`
//! says which. Values are validated: a bad value is `INVALID_CONFIG` naming
//! the key and the reason; an unknown key is `INVALID_CONFIG` too, as in Kafka.

use std::time::Duration;

use crate::error::BrokerError;

/// Topic config keys Kafka defines (accepted; see module docs).
pub const TOPIC_CONFIG_KEYS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

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
    /// `max.message.bytes`
    pub max_message_bytes: Option<usize>,
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
    /// Validates overrides and extracts the enforced ones.
    pub fn parse(configs: &[(String, String)]) -> Result<Self, BrokerError> {
        let mut c = TopicConfig::default();
        for (k, v) in configs {
            match k.as_str() {
                "segment.bytes" => c.segment_bytes = Some(num(k, v, 14u64)?),
                "segment.ms" => c.segment_ms = Some(Duration::from_millis(num(k, v, 1u64)?)),
                "index.interval.bytes" => c.index_interval_bytes = Some(num(k, v, 0u64)?),
                "flush.messages" => c.flush_messages = Some(num(k, v, 1u64)?),
                "max.message.bytes" => c.max_message_bytes = Some(num(k, v, 0usize)?),
                "retention.ms"
                | "retention.bytes"
                | "local.retention.ms"
                | "local.retention.bytes" => {
                    num(k, v, -2i64)?;
                }
                "cleanup.policy" => {
                    for part in v.split(',') {
                        if !matches!(part.trim(), "delete" | "compact") {
                            return Err(BrokerError::InvalidConfig(format!(
                                "cleanup.policy: '{part}' is not delete or compact"
                            )));
                        }
                    }
                }
                "message.timestamp.type"
                    if !matches!(v.as_str(), "CreateTime" | "LogAppendTime") =>
                {
                    return Err(BrokerError::InvalidConfig(format!(
                        "message.timestamp.type: '{v}' is not CreateTime or LogAppendTime"
                    )));
                }
                "compression.type"
                    if !matches!(
                        v.as_str(),
                        "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
                    ) =>
                {
                    return Err(BrokerError::InvalidConfig(format!(
                        "compression.type: '{v}' is not producer, uncompressed, gzip, snappy, lz4 or zstd"
                    )));
                }
                key if TOPIC_CONFIG_KEYS.contains(&key) => {}
                key => {
                    return Err(BrokerError::InvalidConfig(format!(
                        "unknown topic config '{key}'"
                    )));
                }
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
        ] {
            let e = TopicConfig::parse(&kv(k, v)).expect_err("invalid");
            assert_eq!(e.code(), 40, "{k}={v}");
            assert!(
                e.to_string().contains(k.split('.').next().unwrap_or(k)),
                "{e}"
            );
        }
    }
}
