//! Preferred leader elections: ElectLeaders (PREFERRED) and the active
//! controller's automatic leader rebalance (`auto.leader.rebalance.enable`).
//!
//! A partition's preferred replica is the first of its replica list. An
//! election commits one `ElectPreferredLeader` record per partition; the
//! quorum applies it (the preferred replica leads if it is in the ISR and
//! live, otherwise nothing changes), and the answer per partition is read
//! from the image after the commit. [`plan_preferred`] (which partitions to
//! elect, which need nothing) and [`imbalanced_partitions`] (Kafka's
//! per-broker `leader.imbalance.per.broker.percentage` rule) are pure.
//!
//! Not here: the election rule itself (`memorystreamer_raft` image rules),
//! unclean elections (never done: a leader only comes from the ISR), and
//! the wire format (`api/elect_leaders.rs`).

use std::collections::{BTreeMap, HashSet};

use memorystreamer_raft::{MetadataImage, MetadataRecord};
use tracing::info;
use uuid::Uuid;

use super::Broker;
use crate::error::BrokerError;

/// The answer for one partition of a preferred leader election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionOutcome {
    /// The preferred replica leads now (elected by this request).
    Elected,
    /// The preferred replica already led (ELECTION_NOT_NEEDED).
    NotNeeded,
    /// The preferred replica is not in the ISR or not live
    /// (PREFERRED_LEADER_NOT_AVAILABLE).
    PreferredNotAvailable,
    /// No such topic or partition (UNKNOWN_TOPIC_OR_PARTITION).
    UnknownTopicOrPartition,
}

/// One partition's result: topic name, partition index, outcome.
pub type ElectionResult = (String, i32, ElectionOutcome);

/// What a preferred election of `partitions` (None: every partition) must
/// commit, and the partitions it answers without committing: records for
/// partitions whose preferred replica is not the leader, outcomes for the
/// others (NotNeeded, UnknownTopicOrPartition, or PreferredNotAvailable when
/// the preferred replica cannot lead now). Pending partitions are listed in
/// the returned `pending` list, in request order.
pub fn plan_preferred(
    image: &MetadataImage,
    partitions: Option<&[(String, i32)]>,
) -> (Vec<MetadataRecord>, Vec<(String, i32)>, Vec<ElectionResult>) {
    let wanted: Vec<(String, i32)> = match partitions {
        Some(p) => p.to_vec(),
        None => image
            .topics()
            .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.partition)))
            .collect(),
    };
    let mut records = Vec::new();
    let mut pending = Vec::new();
    let mut answered = Vec::new();
    // A partition named twice is elected (and answered) once.
    let mut seen = HashSet::new();
    for (topic, index) in wanted {
        if !seen.insert((topic.clone(), index)) {
            continue;
        }
        let (Some(t), Some(p)) = (image.topic(&topic), image.partition(&topic, index)) else {
            answered.push((topic, index, ElectionOutcome::UnknownTopicOrPartition));
            continue;
        };
        let preferred = p.replicas.first().copied();
        let outcome = match preferred {
            Some(r) if r == p.leader => Some(ElectionOutcome::NotNeeded),
            Some(r) if p.isr.contains(&r) && image.is_live(r) => None,
            _ => Some(ElectionOutcome::PreferredNotAvailable),
        };
        match outcome {
            Some(o) => answered.push((topic, index, o)),
            None => {
                records.push(MetadataRecord::ElectPreferredLeader {
                    topic_id: t.topic_id,
                    partition: index,
                });
                pending.push((topic, index));
            }
        }
    }
    (records, pending, answered)
}

/// A partition not led by its preferred replica: topic id, partition,
/// whether the preferred replica could lead it now (live, in the ISR).
type NotLed = (Uuid, i32, bool);

/// The partitions the automatic rebalance elects preferred leaders for
/// (Kafka's rule, per broker): of the partitions whose preferred replica is
/// a broker, the share not led by it; when that share is above
/// `percentage` %, every such partition whose preferred replica is live and
/// in the ISR is elected. Sorted by topic id and partition.
pub fn imbalanced_partitions(image: &MetadataImage, percentage: u32) -> Vec<(Uuid, i32)> {
    // Per preferred broker: (partitions it should lead, those it does not).
    let mut per_broker: BTreeMap<i32, (usize, Vec<NotLed>)> = BTreeMap::new();
    for t in image.topics() {
        for p in &t.partitions {
            let Some(&preferred) = p.replicas.first() else {
                continue;
            };
            let entry = per_broker.entry(preferred).or_default();
            entry.0 += 1;
            if p.leader != preferred {
                let eligible = p.isr.contains(&preferred) && image.is_live(preferred);
                entry.1.push((t.topic_id, p.partition, eligible));
            }
        }
    }
    let mut out = Vec::new();
    for (total, not_led) in per_broker.into_values() {
        // ratio > percentage / 100, in integers.
        if total == 0 || not_led.len() * 100 <= total * percentage as usize {
            continue;
        }
        out.extend(
            not_led
                .into_iter()
                .filter(|(_, _, eligible)| *eligible)
                .map(|(id, p, _)| (id, p)),
        );
    }
    out.sort();
    out
}

impl Broker {
    /// Elects the preferred replica (the first in the replica list) leader
    /// of `partitions` (None: every partition of every topic), as
    /// ElectLeaders with election type PREFERRED does. Returns one result
    /// per requested partition (for None, every partition, NotNeeded ones
    /// included: the caller filters as Kafka does).
    pub async fn elect_preferred_leaders(
        &self,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<ElectionResult>, BrokerError> {
        let _writes = self.metadata_writes.lock().await;
        let (records, pending, mut results) = plan_preferred(&self.metadata(), partitions);
        if !records.is_empty() {
            self.commit(records).await?;
        }
        let image = self.metadata();
        for (topic, index) in pending {
            let elected = image
                .partition(&topic, index)
                .is_some_and(|p| p.replicas.first() == Some(&p.leader));
            let outcome = if elected {
                info!(topic = %topic, partition = index, "preferred leader elected");
                ElectionOutcome::Elected
            } else {
                ElectionOutcome::PreferredNotAvailable
            };
            results.push((topic, index, outcome));
        }
        Ok(results)
    }

    /// One round of the automatic leader rebalance: on the active
    /// controller only, when `auto.leader.rebalance.enable` is set, elects
    /// the preferred leaders [`imbalanced_partitions`] picks. Returns how
    /// many partitions it asked to move.
    pub async fn rebalance_leaders(&self) -> Result<usize, BrokerError> {
        let r = &self.config.replication;
        if !r.auto_leader_rebalance || !self.quorum().is_leader() {
            return Ok(0);
        }
        let _writes = self.metadata_writes.lock().await;
        let picked =
            imbalanced_partitions(&self.metadata(), r.leader_imbalance_per_broker_percentage);
        if picked.is_empty() {
            return Ok(0);
        }
        let records: Vec<MetadataRecord> = picked
            .iter()
            .map(
                |(topic_id, partition)| MetadataRecord::ElectPreferredLeader {
                    topic_id: *topic_id,
                    partition: *partition,
                },
            )
            .collect();
        self.commit(records).await?;
        info!(
            partitions = picked.len(),
            "leader rebalance: preferred leaders elected"
        );
        Ok(picked.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Uuid = Uuid::from_u128(0xa);
    const B: Uuid = Uuid::from_u128(0xb);

    fn reg(id: i32) -> MetadataRecord {
        MetadataRecord::BrokerRegistered {
            node_id: id,
            host: "h".into(),
            port: 9000 + id,
            rack: None,
        }
    }

    /// Brokers 1..=3 and topic `name` with one partition per replica list.
    fn topic(id: Uuid, name: &str, assignments: Vec<Vec<i32>>) -> Vec<MetadataRecord> {
        vec![
            MetadataRecord::TopicCreated {
                topic_id: id,
                name: name.into(),
                partitions: assignments.len() as i32,
                replication_factor: assignments[0].len() as i16,
                configs: vec![],
            },
            MetadataRecord::PartitionsPlaced {
                topic_id: id,
                first: 0,
                count: assignments.len() as i32,
                replication_factor: assignments[0].len() as i16,
                assignments,
                fallback: 1,
            },
        ]
    }

    fn image(records: &[MetadataRecord]) -> MetadataImage {
        let mut img = MetadataImage::default();
        for r in records {
            img = img.apply(r).expect("record applies");
        }
        img
    }

    fn cluster() -> Vec<MetadataRecord> {
        let mut recs = vec![reg(1), reg(2), reg(3)];
        recs.extend(topic(
            A,
            "a",
            vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2], vec![1, 3, 2]],
        ));
        recs
    }

    /// Broker 1 restarted: fenced (its partitions move away), then back
    /// (unfenced) and in the ISR again.
    fn after_restart_of_1() -> MetadataImage {
        let mut recs = cluster();
        recs.push(MetadataRecord::BrokerFenced { node_id: 1 });
        recs.push(MetadataRecord::BrokerUnfenced { node_id: 1 });
        let img = image(&recs);
        // The new leaders put 1 back into their ISRs.
        let mut more = Vec::new();
        for p in &img.topic("a").expect("topic").partitions {
            more.push(MetadataRecord::AlterPartition {
                topic_id: A,
                partition: p.partition,
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                isr: vec![1, 2, 3],
            });
        }
        recs.extend(more);
        image(&recs)
    }

    #[test]
    fn a_restarted_preferred_replica_is_elected_and_led_partitions_need_nothing() {
        let img = after_restart_of_1();
        assert_ne!(
            img.partition("a", 0).expect("p0").leader,
            1,
            "leadership moved away"
        );
        let (records, pending, answered) = plan_preferred(&img, None);
        assert_eq!(
            records,
            vec![
                MetadataRecord::ElectPreferredLeader {
                    topic_id: A,
                    partition: 0
                },
                MetadataRecord::ElectPreferredLeader {
                    topic_id: A,
                    partition: 3
                },
            ]
        );
        assert_eq!(pending, vec![("a".to_string(), 0), ("a".to_string(), 3)]);
        assert_eq!(
            answered,
            vec![
                ("a".to_string(), 1, ElectionOutcome::NotNeeded),
                ("a".to_string(), 2, ElectionOutcome::NotNeeded),
            ]
        );
        let after = img.apply_all(records.iter()).expect("applies");
        assert_eq!(after.partition("a", 0).expect("p0").leader, 1);
        assert_eq!(after.partition("a", 3).expect("p3").leader, 1);
    }

    #[test]
    fn a_fenced_preferred_replica_is_not_available_and_unknown_partitions_are_named() {
        let mut recs = cluster();
        recs.push(MetadataRecord::BrokerFenced { node_id: 1 });
        let img = image(&recs);
        let asked = vec![
            ("a".to_string(), 0),
            ("a".to_string(), 9),
            ("nope".to_string(), 0),
            ("a".to_string(), 1),
        ];
        let (records, pending, answered) = plan_preferred(&img, Some(&asked));
        assert!(records.is_empty() && pending.is_empty());
        assert_eq!(
            answered,
            vec![
                ("a".to_string(), 0, ElectionOutcome::PreferredNotAvailable),
                ("a".to_string(), 9, ElectionOutcome::UnknownTopicOrPartition),
                (
                    "nope".to_string(),
                    0,
                    ElectionOutcome::UnknownTopicOrPartition
                ),
                ("a".to_string(), 1, ElectionOutcome::NotNeeded),
            ]
        );
    }

    #[test]
    fn a_partition_named_twice_is_elected_once() {
        let img = after_restart_of_1();
        let asked = vec![("a".to_string(), 0), ("a".to_string(), 0)];
        let (records, pending, answered) = plan_preferred(&img, Some(&asked));
        assert_eq!(records.len(), 1);
        assert_eq!(pending, vec![("a".to_string(), 0)]);
        assert!(answered.is_empty());
    }

    #[test]
    fn imbalance_above_the_percentage_elects_the_eligible_partitions() {
        let img = after_restart_of_1();
        // Broker 1 should lead partitions 0 and 3 and leads neither: 100 %.
        assert_eq!(imbalanced_partitions(&img, 10), vec![(A, 0), (A, 3)]);
        assert_eq!(imbalanced_partitions(&img, 99), vec![(A, 0), (A, 3)]);
        // Exactly at the percentage is not above it.
        assert!(imbalanced_partitions(&img, 100).is_empty());
    }

    #[test]
    fn imbalance_at_or_below_the_percentage_moves_nothing() {
        // Broker 1 is the preferred replica of all four partitions of b.
        let mut recs = vec![reg(1), reg(2), reg(3)];
        recs.extend(topic(
            B,
            "b",
            vec![vec![1, 2, 3], vec![1, 3, 2], vec![1, 2, 3], vec![1, 3, 2]],
        ));
        recs.push(MetadataRecord::BrokerFenced { node_id: 1 });
        recs.push(MetadataRecord::BrokerUnfenced { node_id: 1 });
        let img = image(&recs);
        // Everything moved off 1 and 1 is not in any ISR: 100 % imbalance,
        // but no partition is eligible.
        assert!(imbalanced_partitions(&img, 10).is_empty());
        // Put 1 back into the ISR and make it lead three of four: 25 %.
        let mut more = Vec::new();
        for p in &img.topic("b").expect("topic").partitions {
            more.push(MetadataRecord::AlterPartition {
                topic_id: B,
                partition: p.partition,
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                isr: vec![1, 2, 3],
            });
        }
        for i in 0..3 {
            more.push(MetadataRecord::ElectPreferredLeader {
                topic_id: B,
                partition: i,
            });
        }
        let img = img.apply_all(more.iter()).expect("applies");
        assert_ne!(img.partition("b", 3).expect("p3").leader, 1);
        assert!(
            imbalanced_partitions(&img, 25).is_empty(),
            "25 % is not above 25 %"
        );
        assert_eq!(imbalanced_partitions(&img, 24), vec![(B, 3)]);
    }
}
