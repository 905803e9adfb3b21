//! The data directory's identity and housekeeping: `meta.properties`
//! (cluster id, node id), the checks that refuse a used directory whose
//! metadata is missing, adopting the cluster's id from the quorum,
//! importing a pre-quorum metadata log, the free-space probe before topic
//! creation, and the names and clean-up of deleted partitions' directories.
//!
//! It is not the partition logs themselves (`memorystreamer-log`, opened by
//! the replica manager) nor the metadata log (`memorystreamer-raft`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use memorystreamer_raft::quorum::{Quorum, QuorumError};
use memorystreamer_raft::{MetadataLog, MetadataRecord};
use tracing::{info, warn};
use uuid::Uuid;

use crate::controller::{quorum_error, COMMIT_TIMEOUT};
use crate::error::BrokerError;

/// Moves a pre-quorum data directory's metadata (the single-voter
/// `metadata.log` of earlier versions) into the quorum once, then renames
/// the file so it is never imported twice.
pub async fn import_legacy_metadata(quorum: &Quorum, meta_dir: &Path) -> Result<(), BrokerError> {
    let legacy = meta_dir.join("metadata.log");
    if !legacy.exists() {
        return Ok(());
    }
    let image = quorum.image();
    if image.topics().next().is_none() && image.next_producer_id() == 0 {
        let (_, records) = MetadataLog::open(&legacy)?;
        if !records.is_empty() {
            info!(
                records = records.len(),
                "importing the pre-quorum metadata log"
            );
            quorum
                .write(records, COMMIT_TIMEOUT)
                .await
                .map_err(quorum_error)?;
        }
    }
    fs::rename(&legacy, meta_dir.join("metadata.log.imported"))?;
    Ok(())
}

/// The cluster id every node shares: the first node's `meta.properties` id
/// is committed to the quorum; the others adopt it (the caller rewrites
/// their `meta.properties`), so clients see one cluster whichever node they
/// ask.
pub async fn adopt_cluster_id(quorum: &Quorum, local: String) -> Result<String, BrokerError> {
    if quorum.image().cluster_id().is_none() {
        match quorum
            .write(
                vec![MetadataRecord::ClusterIdSet {
                    cluster_id: local.clone(),
                }],
                COMMIT_TIMEOUT,
            )
            .await
        {
            Ok(()) | Err(QuorumError::Rejected(_)) => {}
            Err(e) => return Err(quorum_error(e)),
        }
        quorum
            .wait_applied(COMMIT_TIMEOUT)
            .await
            .map_err(quorum_error)?;
    }
    let Some(cluster) = quorum.image().cluster_id().map(str::to_string) else {
        return Ok(local);
    };
    if cluster != local {
        info!(cluster_id = %cluster, previous = %local, "joining the cluster's id");
    }
    Ok(cluster)
}

/// Writes `meta.properties` (tmp file, fsync, rename).
pub fn write_meta_properties(data_dir: &Path, id: &str, node_id: i32) -> Result<(), BrokerError> {
    let path = data_dir.join("meta.properties");
    let tmp = data_dir.join("meta.properties.tmp");
    fs::write(
        &tmp,
        format!(
            "#\n#{}\nversion=1\ncluster.id={id}\nnode.id={node_id}\n",
            "Written by MemoryStreamer"
        ),
    )?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, &path)?;
    Ok(())
}

/// True when `data_dir` holds a partition directory (`<name>-<n>`, the
/// metadata directory aside): it has been used, so its metadata must exist.
pub fn has_partition_dirs(data_dir: &Path) -> Result<bool, BrokerError> {
    for e in fs::read_dir(data_dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == "__cluster_metadata-0" || !e.file_type()?.is_dir() {
            continue;
        }
        if let Some((topic, index)) = name.rsplit_once('-') {
            if !topic.is_empty() && !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Reads the cluster id from `meta.properties` (Kafka's file), None when
/// the directory was never formatted. A node id that differs from the one
/// the directory was formatted with is refused.
pub fn read_meta_properties(data_dir: &Path, node_id: i32) -> Result<Option<String>, BrokerError> {
    let path = data_dir.join("meta.properties");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let props: BTreeMap<String, String> = crate::config::parse_properties(&text)?;
            let id = props.get("cluster.id").cloned().ok_or_else(|| {
                BrokerError::Config(format!("{} has no cluster.id", path.display()))
            })?;
            if let Some(stored) = props.get("node.id") {
                if stored != &node_id.to_string() {
                    return Err(BrokerError::Config(format!(
                        "data directory {} belongs to node.id {stored}, not {node_id}",
                        data_dir.display()
                    )));
                }
            }
            Ok(Some(id))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A Kafka-style cluster id: a random UUID in URL-safe base64, no padding
/// (22 characters).
pub fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = Uuid::new_v4().into_bytes();
    let mut out = String::with_capacity(22);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// Refuses to create topics while the data directory's file system is full
/// (or has less than 64 KiB free): writes and removes a probe file, so the
/// answer is the file system's own `ENOSPC` (KAFKA_STORAGE_ERROR), before
/// anything is committed. A new partition needs no space to open (its files
/// start empty), so without this a topic would be created that cannot take
/// a record.
pub fn check_free_space(data_dir: &Path) -> Result<(), BrokerError> {
    const PROBE_BYTES: usize = 64 * 1024;
    let probe = data_dir.join(".free-space-probe");
    let written = fs::write(&probe, vec![0u8; PROBE_BYTES]);
    let _ = fs::remove_file(&probe);
    written.map_err(|e| {
        warn!(dir = %data_dir.display(), error = %e, "refusing to create a topic: no space in the data directory");
        BrokerError::Io(e)
    })
}

/// Name of the directory a deleted partition's data is moved to before it is
/// removed: `<topic>-<partition>.<topic id>-delete`, with the topic cut short
/// so that the name fits in 255 bytes (as Kafka's `logDeleteDirName` does;
/// a legal topic name can be 249 characters). Start-up removes every entry
/// ending in `-delete` (a partition directory ends in its number).
pub fn delete_dir_name(topic: &str, partition: i32, topic_id: Uuid) -> String {
    let suffix = format!("-{partition}.{}-delete", topic_id.simple());
    let mut keep = topic.len().min(255usize.saturating_sub(suffix.len()));
    while !topic.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &topic[..keep])
}

/// Removes the directories of deleted partitions that a previous run left
/// behind (a crash between the rename and the removal).
pub fn remove_leftover_deletions(data_dir: &Path) {
    let Ok(entries) = fs::read_dir(data_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().ends_with("-delete") {
            if let Err(err) = fs::remove_dir_all(e.path()) {
                warn!(dir = %e.path().display(), error = %err, "could not remove deleted partition");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_id_shape() {
        let id = new_cluster_id();
        assert_eq!(id.len(), 22);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(id, new_cluster_id());
    }

    #[test]
    fn delete_dir_names_fit_in_255_bytes() {
        let id = Uuid::new_v4();
        let short = delete_dir_name("orders", 3, id);
        assert_eq!(short, format!("orders-3.{}-delete", id.simple()));
        let long = "t".repeat(249);
        let name = delete_dir_name(&long, 2_000_000_000, id);
        assert_eq!(name.len(), 255);
        assert!(name.ends_with(&format!("-2000000000.{}-delete", id.simple())));
    }
}
