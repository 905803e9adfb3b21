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
use crate::config::BrokerConfig;
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

/// Kafka's refusal of a replication factor the live brokers cannot hold
/// (`ReplicationControlManager` wrapping `StripedReplicaPlacer`'s message).
fn too_few_brokers(rf: i16, live: usize) -> BrokerError {
    BrokerError::InvalidReplicationFactor(format!(
        "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} \
         cannot be reached because only {live} broker(s) are registered."
    ))
}

/// The `min.insync.replicas` an internal topic (`transaction_state`:
/// `__transaction_state`, else `__consumer_offsets`) with replication
/// factor `rf` is created with: `transaction.state.log.min.isr` for
/// `__transaction_state`, the broker's `min.insync.replicas` for
/// `__consumer_offsets`, both capped by `rf` (a factor capped by the live
/// brokers must not leave the coordinators unable to write).
pub fn internal_min_insync_replicas(
    config: &BrokerConfig,
    transaction_state: bool,
    rf: i16,
) -> i32 {
    let configured = if transaction_state {
        config.replication.transaction_state_log_min_isr
    } else {
        config.replication.min_insync_replicas
    };
    configured.min(i32::from(rf)).max(1)
}

/// Kafka's refusal of a replication factor of 0 or below -1 (-1 is the
/// default, resolved before this).
fn invalid_rf() -> BrokerError {
    BrokerError::InvalidReplicationFactor(
        "Replication factor must be larger than 0, or -1 to use the default value.".into(),
    )
}

/// The message an admin answer (CreateTopics, CreatePartitions) carries for
/// `e`: Kafka's own text for the placement refusals (which Kafka sends
/// without a prefix), else the error's display.
pub fn admin_error_message(e: &BrokerError) -> String {
    match e {
        BrokerError::InvalidReplicationFactor(m) | BrokerError::InvalidReplicaAssignment(m) => {
            m.clone()
        }
        other => other.to_string(),
    }
}

/// The replication factor an internal topic is created with
/// (`transaction_state`: `__transaction_state`, else
/// `__consumer_offsets`): its configured factor
/// (`transaction.state.log.replication.factor` /
/// `offsets.topic.replication.factor`, Kafka's default 3) capped by
/// the live brokers of `image` at creation, at least 1. Kafka refuses to
/// create the topic until enough brokers registered; capping instead lets a
/// single node (or a smaller cluster) start with Kafka's defaults.
pub fn internal_replication_factor(
    config: &BrokerConfig,
    transaction_state: bool,
    image: &MetadataImage,
) -> i16 {
    let configured = if transaction_state {
        config.replication.transaction_state_log_replication_factor
    } else {
        config.replication.offsets_topic_replication_factor
    };
    let live = i16::try_from(image.live_brokers().len()).unwrap_or(i16::MAX);
    configured.min(live).max(1)
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

/// Kafka's checks of a client's manual assignment
/// (`ReplicationControlManager.validateManualPartitionAssignment`), with
/// its messages: replicas given, every broker registered and listed once
/// (checked in ascending id order, so the message names the least
/// offending broker), every partition with `expected` replicas (the
/// topic's existing partitions, else the first assigned one), and at least
/// one replica on a live broker.
fn check_manual(
    image: &MetadataImage,
    first: i32,
    assignments: &[Vec<i32>],
    mut expected: Option<usize>,
) -> Result<(), BrokerError> {
    let refuse = |m: String| Err(BrokerError::InvalidReplicaAssignment(m));
    for (i, replicas) in assignments.iter().enumerate() {
        let p = first.saturating_add(i32::try_from(i).unwrap_or(i32::MAX));
        if replicas.is_empty() {
            return refuse(
                "The manual partition assignment includes an empty replica list.".into(),
            );
        }
        let mut sorted = replicas.clone();
        sorted.sort_unstable();
        for (k, b) in sorted.iter().enumerate() {
            if image.broker(*b).is_none() {
                return refuse(format!(
                    "The manual partition assignment includes broker {b}, but no such broker is registered."
                ));
            }
            if k > 0 && sorted[k - 1] == *b {
                return refuse(format!(
                    "The manual partition assignment includes the broker {b} more than once."
                ));
            }
        }
        let rf = *expected.get_or_insert(replicas.len());
        if replicas.len() != rf {
            return refuse(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this \
                 is not consistent with previous partitions, which have {rf} replica(s).",
                replicas.len()
            ));
        }
        if replicas
            .iter()
            .all(|b| image.broker(*b).is_none_or(|b| b.fenced))
        {
            return refuse(format!(
                "All brokers specified in the manual partition assignment for partition {p} are \
                 fenced or in controlled shutdown."
            ));
        }
    }
    Ok(())
}

/// Checks a placement request against this node's image so that the
/// client gets Kafka's error codes and messages: the client's assignment
/// (see `check_manual`; `expected` is the replica count of the topic's
/// existing partitions) or, without one, at least `rf` live brokers.
///
/// The placement itself is not decided here: the committed
/// `PartitionsPlaced` record is expanded by the state machine when the
/// log applies it (over the brokers live at that log position), so every
/// node computes the same replicas and a stale view on the receiving node
/// cannot place on a broker fenced meanwhile.
pub fn check_placement(
    image: &MetadataImage,
    range: std::ops::Range<i32>,
    rf: i16,
    manual: Option<&[Vec<i32>]>,
    expected: Option<usize>,
) -> Result<(), BrokerError> {
    if let Some(a) = manual {
        return check_manual(image, range.start, a, expected);
    }
    if rf < 1 {
        return Err(invalid_rf());
    }
    // None live: before this node's registration is committed (first
    // start), when the state machine places on this node.
    let live = image.live_brokers().len().max(1);
    if rf as usize > live {
        return Err(too_few_brokers(rf, live));
    }
    Ok(())
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
        return Err(invalid_rf());
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
        image,
        0..t.partitions,
        t.replication_factor,
        t.assignments.as_deref(),
        None,
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
                "Attempted to add {} additional partition(s), but only {} assignment(s) were specified.",
                count - current,
                a.len()
            )));
        }
    }
    let expected = topic.partitions.first().map(|p| p.replicas.len());
    check_placement(
        image,
        current..count,
        topic.replication_factor,
        assignments,
        expected,
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

    /// Brokers 1..=n registered, those in `fenced` fenced.
    fn cluster(n: i32, fenced: &[i32]) -> MetadataImage {
        let mut recs: Vec<MetadataRecord> = (1..=n)
            .map(|node_id| MetadataRecord::BrokerRegistered {
                node_id,
                host: "h".into(),
                port: 9092,
                rack: None,
            })
            .collect();
        recs.extend(
            fenced
                .iter()
                .map(|&node_id| MetadataRecord::BrokerFenced { node_id }),
        );
        MetadataImage::default().apply_all(&recs).expect("apply")
    }

    fn message(r: Result<(), BrokerError>) -> String {
        admin_error_message(&r.expect_err("refused"))
    }

    #[test]
    fn replication_factor_up_to_the_live_brokers() {
        let image = cluster(3, &[3]);
        assert!(check_placement(&image, 0..4, 2, None, None).is_ok());
        let e = check_placement(&image, 0..4, 3, None, None).expect_err("too many");
        assert!(matches!(e, BrokerError::InvalidReplicationFactor(_)));
        assert_eq!(
            admin_error_message(&e),
            "Unable to replicate the partition 3 time(s): The target replication factor of 3 \
             cannot be reached because only 2 broker(s) are registered."
        );
        // Before any registration: this node alone.
        assert!(check_placement(&MetadataImage::default(), 0..1, 1, None, None).is_ok());
        assert!(check_placement(&MetadataImage::default(), 0..1, 2, None, None).is_err());
    }

    #[test]
    fn manual_assignments_get_kafkas_messages() {
        let image = cluster(3, &[3]);
        let check = |a: &[Vec<i32>], expected: Option<usize>| {
            check_placement(&image, 2..2 + a.len() as i32, 1, Some(a), expected)
        };
        assert!(check(&[vec![3, 1], vec![2, 3]], None).is_ok());
        assert_eq!(
            message(check(&[vec![]], None)),
            "The manual partition assignment includes an empty replica list."
        );
        assert_eq!(
            message(check(&[vec![9, 1, 7]], None)),
            "The manual partition assignment includes broker 7, but no such broker is registered."
        );
        assert_eq!(
            message(check(&[vec![2, 1, 2]], None)),
            "The manual partition assignment includes the broker 2 more than once."
        );
        assert_eq!(
            message(check(&[vec![1, 2], vec![1]], None)),
            "The manual partition assignment includes a partition with 1 replica(s), but this is \
             not consistent with previous partitions, which have 2 replica(s)."
        );
        assert_eq!(
            message(check(&[vec![1, 2]], Some(1))),
            "The manual partition assignment includes a partition with 2 replica(s), but this is \
             not consistent with previous partitions, which have 1 replica(s)."
        );
        assert_eq!(
            message(check(&[vec![1], vec![3]], None)),
            "All brokers specified in the manual partition assignment for partition 3 are fenced \
             or in controlled shutdown."
        );
    }

    #[test]
    fn internal_topics_are_capped_by_the_live_brokers() {
        let config = BrokerConfig::from_properties(
            &std::collections::BTreeMap::new(),
            crate::config::LogFormat::Text,
        )
        .expect("defaults");
        let txn = true;
        let offsets = false;
        assert_eq!(
            internal_replication_factor(&config, offsets, &cluster(1, &[])),
            1
        );
        assert_eq!(
            internal_replication_factor(&config, txn, &cluster(2, &[])),
            2
        );
        assert_eq!(
            internal_replication_factor(&config, txn, &cluster(5, &[4])),
            3
        );
        assert_eq!(
            internal_replication_factor(&config, txn, &MetadataImage::default()),
            1
        );
        // transaction.state.log.min.isr (2) capped by the factor.
        assert_eq!(internal_min_insync_replicas(&config, txn, 1), 1);
        assert_eq!(internal_min_insync_replicas(&config, txn, 3), 2);
        assert_eq!(internal_min_insync_replicas(&config, offsets, 3), 1);
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        for bad in ["", ".", "..", "a b", "a/b", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
    }
}
