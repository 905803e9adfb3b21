//! The controller side of metadata changes: what a topic, partition or
//! placement change must satisfy before it is committed through the
//! metadata quorum, and how quorum failures map to the broker's errors.
//!
//! These are pure functions of the current [`MetadataImage`] (plus this
//! node's id and limits): they decide nothing by themselves and do no I/O.
//! Committing the records and applying the result is the broker's job
//! (`crate::Broker::commit`); expanding a committed `PartitionsPlaced`
//! record into replicas is the state machine's (`memorystreamer-raft`).

use std::collections::HashMap;
use std::time::Duration;

use std::sync::Arc;

use memorystreamer_raft::quorum::QuorumError;
use memorystreamer_raft::{MetadataImage, MetadataRecord, TopicImage};
use uuid::Uuid;

use crate::config::topic::TopicConfig;
use crate::error::BrokerError;

/// Maps a placement the state machine refused to Kafka's error codes.
pub fn placement_error(e: BrokerError) -> BrokerError {
    match e {
        BrokerError::InvalidRequest(m) if m.contains("replication factor") => {
            BrokerError::InvalidReplicationFactor(m)
        }
        BrokerError::InvalidRequest(m)
            if m.contains("does not exist") || m.contains("replicas") =>
        {
            BrokerError::InvalidReplicaAssignment(m)
        }
        other => other,
    }
}

fn replicas_unsupported(rf: i16) -> BrokerError {
    BrokerError::InvalidReplicationFactor(format!(
        "replication factor {rf}: partitions have a single copy until replication is implemented"
    ))
}

/// Longest a metadata change waits for the quorum (elections included).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Maps a quorum failure to the broker's error.
pub fn quorum_error(e: QuorumError) -> BrokerError {
    match e {
        QuorumError::Rejected(m) => BrokerError::InvalidRequest(m),
        QuorumError::Io(e) => BrokerError::Io(e),
        QuorumError::Metadata(e) => BrokerError::Metadata(e),
        other => BrokerError::Quorum(other.to_string()),
    }
}

/// A topic creation request after defaults were applied.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i16,
    /// Config overrides.
    pub configs: Vec<(String, String)>,
    /// Replicas of each partition as the client assigned them, if it did.
    pub assignments: Option<Vec<Vec<i32>>>,
}

/// Checks a topic name the way Kafka does: 1–249 characters of
/// `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), BrokerError> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(BrokerError::InvalidTopic(format!(
            "topic name '{name}' is illegal"
        )));
    }
    if name.len() > 249 {
        return Err(BrokerError::InvalidTopic(
            "topic name is longer than 249 characters".into(),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(BrokerError::InvalidTopic(format!(
            "topic name '{name}' contains '{c}'; legal characters are ASCII alphanumerics, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Checks a placement request against this node's image so that the
/// client gets Kafka's error codes: the client's assignment (every
/// broker registered, `rf` distinct replicas each) or enough live
/// brokers for `rf`. Replication factors above 1 are refused until
/// replication exists: a second copy that is never written would be a
/// lie about durability.
///
/// The placement itself is not decided here: the committed
/// `PartitionsPlaced` record is expanded by the state machine when the
/// log applies it (round-robin over the brokers live at that log
/// position), so every node computes the same replicas and a stale view
/// on the receiving node cannot place on a broker fenced meanwhile.
pub fn check_placement(
    node_id: i32,
    image: &MetadataImage,
    range: std::ops::Range<i32>,
    rf: i16,
    manual: Option<&[Vec<i32>]>,
) -> Result<Vec<Vec<i32>>, BrokerError> {
    if let Some(a) = manual {
        for (i, replicas) in a.iter().enumerate() {
            let p = range.start + i as i32;
            if replicas.is_empty() || replicas.len() as i16 != rf {
                return Err(BrokerError::InvalidReplicaAssignment(format!(
                    "partition {p} must have {rf} replica(s)"
                )));
            }
            if let Some(b) = replicas.iter().find(|b| image.broker(**b).is_none()) {
                return Err(BrokerError::InvalidReplicaAssignment(format!(
                    "broker {b} of partition {p} does not exist"
                )));
            }
            let mut seen = replicas.clone();
            seen.sort_unstable();
            seen.dedup();
            if seen.len() != replicas.len() {
                return Err(BrokerError::InvalidReplicaAssignment(format!(
                    "partition {p} lists a broker twice"
                )));
            }
        }
        if rf > 1 {
            return Err(replicas_unsupported(rf));
        }
        return Ok(a.to_vec());
    }
    let mut live = image.live_brokers();
    if live.is_empty() {
        // Before this node's registration is committed (first start).
        live.push(node_id);
    }
    if rf as usize > live.len() {
        return Err(BrokerError::InvalidReplicationFactor(format!(
            "replication factor: {rf} larger than available brokers: {}",
            live.len()
        )));
    }
    if rf > 1 {
        return Err(replicas_unsupported(rf));
    }
    let n = live.len();
    Ok(range
        .map(|p| {
            (0..rf as usize)
                .map(|i| live[(p as usize + i) % n])
                .collect()
        })
        .collect())
}

/// Refuses a placement that would put more partitions on a broker than
/// its process can open (see [`crate::limits`]), before anything is
/// committed: a committed partition that cannot be opened would stop
/// every later start. The partitions added on this node are checked
/// against what is really still free here (open segments counted);
/// every broker's total against this node's limits (brokers are
/// assumed to share them).
pub fn check_capacity(
    node_id: i32,
    now: &MetadataImage,
    next: &MetadataImage,
) -> Result<(), BrokerError> {
    fn hosted(image: &MetadataImage) -> HashMap<i32, u64> {
        let mut hosted: HashMap<i32, u64> = HashMap::new();
        for t in image.topics() {
            for p in &t.partitions {
                for r in &p.replicas {
                    *hosted.entry(*r).or_default() += 1;
                }
            }
        }
        hosted
    }
    let refuse = |node: i32, n: u64, room: u64, what: &str| {
        BrokerError::PolicyViolation(format!(
            "broker {node} would {what} {n} partitions, more than the {room} its open-file \
             limit and vm.max_map_count allow ({} files and {} maps per partition); \
             raise `ulimit -n` or add brokers",
            crate::limits::FDS_PER_PARTITION,
            crate::limits::MAPS_PER_PARTITION
        ))
    };
    let (before, after) = (hosted(now), hosted(next));
    let me = node_id;
    let added = after
        .get(&me)
        .copied()
        .unwrap_or(0)
        .saturating_sub(before.get(&me).copied().unwrap_or(0));
    let free = crate::limits::free_partition_slots();
    if added > free {
        return Err(refuse(me, added, free, "open another"));
    }
    let capacity = crate::limits::partition_capacity();
    match after.into_iter().max_by_key(|(_, n)| *n) {
        Some((node, n)) if n > capacity => Err(refuse(node, n, capacity, "host")),
        _ => Ok(()),
    }
}

/// Checks a topic creation request on its own (name, counts, configs),
/// before the image is consulted.
pub fn check_new_topic(t: &NewTopic) -> Result<(), BrokerError> {
    validate_topic_name(&t.name)?;
    if t.partitions < 1 {
        return Err(BrokerError::InvalidPartitions(format!(
            "number of partitions must be at least 1, got {}",
            t.partitions
        )));
    }
    if t.partitions > crate::limits::MAX_PARTITIONS_PER_REQUEST {
        return Err(BrokerError::PolicyViolation(format!(
            "excessively large number of partitions per request: {} (the limit is {})",
            t.partitions,
            crate::limits::MAX_PARTITIONS_PER_REQUEST
        )));
    }
    if t.replication_factor < 1 {
        return Err(BrokerError::InvalidReplicationFactor(format!(
            "replication factor must be at least 1, got {}",
            t.replication_factor
        )));
    }
    TopicConfig::parse(&t.configs)?;
    Ok(())
}

/// The records that create topic `t` in `image` (a fresh topic id; the
/// placement is expanded by the state machine), and the topic as it will
/// look once they apply. `node_id` is this node (the placement fallback
/// before any broker is registered).
pub fn plan_create_topic(
    node_id: i32,
    image: &MetadataImage,
    t: &NewTopic,
) -> Result<(Vec<MetadataRecord>, Arc<TopicImage>), BrokerError> {
    if image.topic(&t.name).is_some() {
        return Err(BrokerError::TopicAlreadyExists(t.name.clone()));
    }
    check_placement(
        node_id,
        image,
        0..t.partitions,
        t.replication_factor,
        t.assignments.as_deref(),
    )?;
    let topic_id = Uuid::new_v4();
    let records = vec![
        MetadataRecord::TopicCreated {
            topic_id,
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            configs: t.configs.clone(),
        },
        MetadataRecord::PartitionsPlaced {
            topic_id,
            first: 0,
            count: t.partitions,
            replication_factor: t.replication_factor,
            assignments: t.assignments.clone().unwrap_or_default(),
            fallback: node_id,
        },
    ];
    let next = image.apply_all(&records)?;
    check_capacity(node_id, image, &next)?;
    let created = next
        .topic(&t.name)
        .cloned()
        .ok_or_else(|| BrokerError::InvalidRequest("topic vanished while being created".into()))?;
    Ok((records, created))
}

/// The records that grow topic `name` of `image` to `count` partitions
/// (`assignments`: one replica list per new partition, if the client gave
/// them).
pub fn plan_create_partitions(
    node_id: i32,
    image: &MetadataImage,
    name: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Result<Vec<MetadataRecord>, BrokerError> {
    let topic = image
        .topic(name)
        .ok_or(BrokerError::UnknownTopicOrPartition)?;
    let current = topic.partitions.len() as i32;
    if count <= current {
        return Err(BrokerError::InvalidPartitions(format!(
            "topic currently has {current} partitions, which is higher than or equal to the requested {count}"
        )));
    }
    if count - current > crate::limits::MAX_PARTITIONS_PER_REQUEST {
        return Err(BrokerError::PolicyViolation(format!(
            "excessively large number of partitions per request: {} (the limit is {})",
            count - current,
            crate::limits::MAX_PARTITIONS_PER_REQUEST
        )));
    }
    if let Some(a) = assignments {
        if a.len() as i32 != count - current {
            return Err(BrokerError::InvalidReplicaAssignment(format!(
                "{} assignments given for {} new partitions",
                a.len(),
                count - current
            )));
        }
    }
    check_placement(
        node_id,
        image,
        current..count,
        topic.replication_factor,
        assignments,
    )?;
    let records = vec![MetadataRecord::PartitionsPlaced {
        topic_id: topic.topic_id,
        first: current,
        count: count - current,
        replication_factor: topic.replication_factor,
        assignments: assignments.map(<[Vec<i32>]>::to_vec).unwrap_or_default(),
        fallback: node_id,
    }];
    let next = image.apply_all(&records)?;
    check_capacity(node_id, image, &next)?;
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }
}
