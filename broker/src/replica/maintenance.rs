//! The periodic jobs over the hosted partitions: flushing, retention, idle
//! producer expiry and compaction. `server.rs` schedules them on the
//! blocking pool; the broker decides each topic's settings (from its
//! configuration and the topic's overrides) and passes them in as functions
//! of the topic, so this module knows nothing of configuration.

use memorystreamer_log::CompactionConfig;
use memorystreamer_raft::{MetadataImage, TopicImage};
use tracing::{debug, info, warn};

use super::ReplicaManager;

/// A topic's retention limits: (`retention.ms`, `retention.bytes`), each
/// None when unlimited.
pub type Retention = (Option<i64>, Option<u64>);

impl ReplicaManager {
    /// fsyncs every partition with unflushed records (shutdown).
    pub fn flush_all(&self) {
        for p in self.all_partitions() {
            if let Err(e) = p.flush() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// fsyncs the partitions whose `flush.ms` (topic) or
    /// `log.flush.interval.ms` (broker) has passed with records unflushed.
    pub fn flush_due(&self) {
        for p in self.all_partitions() {
            if let Err(e) = p.flush_if_due() {
                warn!(topic = %p.topic, partition = p.index, error = %e, "flush failed");
            }
        }
    }

    /// Forgets the deduplication state of producers idle for longer than
    /// `expiration_ms` (`producer.id.expiration.ms`).
    pub fn expire_producers(&self, now_ms: i64, expiration_ms: i64) {
        for p in self.all_partitions() {
            let n = p.expire_producers(now_ms, expiration_ms);
            if n > 0 {
                debug!(topic = %p.topic, partition = p.index, producers = n, "expired idle producer ids");
            }
        }
    }

    /// One retention pass over every topic of `image` hosted here;
    /// `retention` gives a topic's limits, or None to skip it (a
    /// compact-only topic, or one whose configs do not parse).
    pub fn apply_retention(
        &self,
        image: &MetadataImage,
        now_ms: i64,
        retention: impl Fn(&TopicImage) -> Option<Retention>,
    ) {
        for topic in image.topics() {
            let Some((ms, bytes)) = retention(topic) else {
                continue;
            };
            if ms.is_none() && bytes.is_none() {
                continue;
            }
            let Some(parts) = self.topic(&topic.name) else {
                continue;
            };
            for p in parts.partitions.iter().flatten() {
                match p.apply_retention(ms, bytes, now_ms) {
                    Ok(0) => {}
                    Ok(n) => {
                        info!(topic = %p.topic, partition = p.index, segments = n, start = p.log_start_offset(), "retention deleted segments")
                    }
                    Err(e) => {
                        warn!(topic = %p.topic, partition = p.index, error = %e, "retention failed")
                    }
                }
            }
        }
    }

    /// One compaction pass over every topic of `image` hosted here for which
    /// `compaction` gives settings (topics whose `cleanup.policy` includes
    /// `compact`). Each partition is cleaned only when its own dirty ratio,
    /// lag or tombstones call for it; appends and fetches continue meanwhile.
    pub fn apply_compaction(
        &self,
        image: &MetadataImage,
        now_ms: i64,
        compaction: impl Fn(&TopicImage) -> Option<CompactionConfig>,
    ) {
        for topic in image.topics() {
            let Some(cfg) = compaction(topic) else {
                continue;
            };
            let Some(parts) = self.topic(&topic.name) else {
                continue;
            };
            for p in parts.partitions.iter().flatten() {
                match p.compact(&cfg, now_ms) {
                    Ok(Some(st)) => {
                        crate::metrics::cleaner_pass(&st);
                        info!(
                            topic = %p.topic,
                            partition = p.index,
                            segments_in = st.segments_in,
                            segments_out = st.segments_out,
                            bytes_in = st.bytes_in,
                            bytes_out = st.bytes_out,
                            records_removed = st.records_removed,
                            tombstones_removed = st.tombstones_removed,
                            clean_offset = st.clean_offset,
                            "compacted partition"
                        );
                    }
                    Ok(None) => {}
                    Err(e) => {
                        crate::metrics::cleaner_error();
                        warn!(topic = %p.topic, partition = p.index, error = %e, "compaction failed; log left as it was")
                    }
                }
            }
        }
    }
}
