//! The metadata image: the state that results from applying every metadata
//! record in order. Immutable; applying a record yields a new image, and
//! request handlers read the current one through an `Arc` swap, never a lock.
//!
//! Everything derived from the records is computed while applying them, so
//! every node gets the same image from the same log: replica placement
//! (`image/placement.rs`) and leader elections and ISR changes
//! (`image/elections.rs`). Not here: committing records (the quorum), or
//! acting on leadership (the broker).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::error::MetadataError;
use crate::records::{BrokerEndpoint, MetadataRecord};

mod elections;
mod placement;
mod reassignment;
mod security;

pub use security::{AclImage, ScramCredentialImage, SecurityImage};

/// The `leader` of a partition that has none (offline: its only in-sync
/// replica is fenced; with unclean leader election disabled it stays
/// offline until that replica comes back).
pub const NO_LEADER: i32 = -1;

/// One partition's placement and leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImage {
    /// Partition index.
    pub partition: i32,
    /// Leader node id, or [`NO_LEADER`].
    pub leader: i32,
    /// Leader epoch: grows by one whenever the leader changes.
    pub leader_epoch: i32,
    /// Partition epoch: 0 at creation, grows by one whenever the leader,
    /// the ISR or the replicas change (Kafka's partition epoch, which
    /// `AlterPartition` requests must match).
    pub partition_epoch: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
    /// Replicas an ongoing reassignment adds (already in `replicas`);
    /// empty when no reassignment is under way.
    pub adding_replicas: Vec<i32>,
    /// Replicas an ongoing reassignment removes (still in `replicas`, last);
    /// empty when no reassignment is under way.
    pub removing_replicas: Vec<i32>,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub topic_id: Uuid,
    /// Replication factor.
    pub replication_factor: i16,
    /// Config overrides.
    pub configs: Vec<(String, String)>,
    /// Partitions, indexed by partition number.
    pub partitions: Vec<PartitionImage>,
}

/// A registered broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerImage {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `broker.rack`, if set (rack-aware placement).
    pub rack: Option<String>,
    /// Missed its session; leads nothing until it heartbeats again.
    pub fenced: bool,
    /// Its advertised listeners (`BrokerListeners`); empty when its
    /// registration recorded none, and then `host:port` serves every
    /// listener.
    pub listeners: Vec<BrokerEndpoint>,
}

impl BrokerImage {
    /// Where clients of listener `listener` reach this broker: the
    /// endpoint of that name, None when the broker does not advertise it
    /// (Kafka's LISTENER_NOT_FOUND case), its registered address when its
    /// registration carried no listeners.
    pub fn endpoint(&self, listener: &str) -> Option<(&str, i32)> {
        if self.listeners.is_empty() {
            return Some((&self.host, self.port));
        }
        self.listeners
            .iter()
            .find(|e| e.listener == listener)
            .map(|e| (e.host.as_str(), e.port))
    }
}

/// The whole cluster metadata at one point of the record sequence.
#[derive(Debug, Clone, Default)]
pub struct MetadataImage {
    topics: BTreeMap<String, Arc<TopicImage>>,
    names_by_id: HashMap<Uuid, String>,
    next_producer_id: i64,
    broker_configs: BTreeMap<String, Vec<(String, String)>>,
    brokers: BTreeMap<i32, BrokerImage>,
    cluster_id: Option<String>,
    security: SecurityImage,
    /// Number of records applied.
    pub offset: u64,
}

impl MetadataImage {
    /// Topic by name.
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicImage>> {
        self.topics.get(name)
    }

    /// Topic by id.
    pub fn topic_by_id(&self, id: &Uuid) -> Option<&Arc<TopicImage>> {
        self.names_by_id.get(id).and_then(|n| self.topics.get(n))
    }

    /// One partition by topic name and index, if both exist. Compare a
    /// partition before and after applying a record to see what changed
    /// (leader, ISR, epochs).
    pub fn partition(&self, topic: &str, index: i32) -> Option<&PartitionImage> {
        self.topics
            .get(topic)?
            .partitions
            .get(usize::try_from(index).ok()?)
    }

    /// Every partition led by `node_id`, as (topic, partition).
    pub fn partitions_led_by(
        &self,
        node_id: i32,
    ) -> impl Iterator<Item = (&TopicImage, &PartitionImage)> {
        self.topics.values().flat_map(move |t| {
            t.partitions
                .iter()
                .filter(move |p| p.leader == node_id)
                .map(move |p| (t.as_ref(), p))
        })
    }

    /// Every partition that `node_id` is a replica of, as (topic,
    /// partition).
    pub fn partitions_replicated_by(
        &self,
        node_id: i32,
    ) -> impl Iterator<Item = (&TopicImage, &PartitionImage)> {
        self.topics.values().flat_map(move |t| {
            t.partitions
                .iter()
                .filter(move |p| p.replicas.contains(&node_id))
                .map(move |p| (t.as_ref(), p))
        })
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> impl Iterator<Item = &Arc<TopicImage>> {
        self.topics.values()
    }

    /// Dynamic broker configs of `resource` (`""`: cluster default, else a
    /// node id); empty when none were set.
    pub fn broker_configs(&self, resource: &str) -> &[(String, String)] {
        self.broker_configs
            .get(resource)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The cluster id, once committed.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// Registered brokers by node id.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerImage> {
        self.brokers.values()
    }

    /// One registered broker.
    pub fn broker(&self, node_id: i32) -> Option<&BrokerImage> {
        self.brokers.get(&node_id)
    }

    /// Node ids of registered brokers that are not fenced, ascending.
    pub fn live_brokers(&self) -> Vec<i32> {
        self.brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| b.node_id)
            .collect()
    }

    /// Records that rebuild this image from an empty one (a snapshot):
    /// the brokers (with rack and fencing) first, while no partition exists
    /// for their elections to touch, then every topic with its partitions
    /// exactly as they are (leaders, ISRs, both epochs) and configs, the
    /// dynamic broker configs, the cluster id, the producer-id high-water
    /// mark, the ACLs and the SCRAM credentials.
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut out = Vec::new();
        for b in self.brokers.values() {
            out.push(MetadataRecord::BrokerRegistered {
                node_id: b.node_id,
                host: b.host.clone(),
                port: b.port,
                rack: b.rack.clone(),
            });
            if !b.listeners.is_empty() {
                out.push(MetadataRecord::BrokerListeners {
                    node_id: b.node_id,
                    listeners: b.listeners.clone(),
                });
            }
            if b.fenced {
                out.push(MetadataRecord::BrokerFenced { node_id: b.node_id });
            }
        }
        for t in self.topics.values() {
            out.push(MetadataRecord::TopicCreated {
                topic_id: t.topic_id,
                name: t.name.clone(),
                partitions: t.partitions.len() as i32,
                replication_factor: t.replication_factor,
                configs: t.configs.clone(),
            });
            for p in &t.partitions {
                out.push(MetadataRecord::PartitionCreated {
                    topic_id: t.topic_id,
                    partition: p.partition,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    partition_epoch: p.partition_epoch,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                });
                if !p.adding_replicas.is_empty() || !p.removing_replicas.is_empty() {
                    out.push(MetadataRecord::PartitionReassigning {
                        topic_id: t.topic_id,
                        partition: p.partition,
                        adding_replicas: p.adding_replicas.clone(),
                        removing_replicas: p.removing_replicas.clone(),
                    });
                }
            }
        }
        for (resource, configs) in &self.broker_configs {
            out.push(MetadataRecord::BrokerConfigChanged {
                resource: resource.clone(),
                configs: configs.clone(),
            });
        }
        if let Some(id) = &self.cluster_id {
            out.push(MetadataRecord::ClusterIdSet {
                cluster_id: id.clone(),
            });
        }
        if self.next_producer_id > 0 {
            out.push(MetadataRecord::ProducerIdsAllocated {
                next_producer_id: self.next_producer_id,
            });
        }
        self.security.to_records(&mut out);
        out
    }

    /// First producer id not yet allocated.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    /// ACL bindings and SCRAM credentials.
    pub fn security(&self) -> &SecurityImage {
        &self.security
    }

    /// Applies one record, returning the next image. A record that does not
    /// fit the image (a partition of an unknown topic, a duplicate name) is an
    /// error and leaves `self` unchanged.
    pub fn apply(&self, rec: &MetadataRecord) -> Result<MetadataImage, MetadataError> {
        let mut next = self.clone();
        next.apply_in_place(rec)?;
        Ok(next)
    }

    /// Applies a sequence of records, all or nothing.
    pub fn apply_all<'a>(
        &self,
        recs: impl IntoIterator<Item = &'a MetadataRecord>,
    ) -> Result<MetadataImage, MetadataError> {
        let mut next = self.clone();
        for rec in recs {
            next.apply_in_place(rec)?;
        }
        Ok(next)
    }

    /// The topic with `topic_id`, writable (copy-on-write).
    fn topic_mut(&mut self, topic_id: &Uuid) -> Result<&mut TopicImage, MetadataError> {
        let name = self
            .names_by_id
            .get(topic_id)
            .ok_or_else(|| MetadataError::Invalid(format!("unknown topic id {topic_id}")))?;
        let topic = self
            .topics
            .get_mut(name)
            .ok_or_else(|| MetadataError::Invalid(format!("unknown topic {name}")))?;
        Ok(Arc::make_mut(topic))
    }

    fn apply_in_place(&mut self, rec: &MetadataRecord) -> Result<(), MetadataError> {
        match rec {
            MetadataRecord::TopicCreated {
                topic_id,
                name,
                partitions: _,
                replication_factor,
                configs,
            } => {
                if self.topics.contains_key(name) || self.names_by_id.contains_key(topic_id) {
                    return Err(MetadataError::Invalid(format!(
                        "topic {name} already exists"
                    )));
                }
                self.names_by_id.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    Arc::new(TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        replication_factor: *replication_factor,
                        configs: configs.clone(),
                        partitions: Vec::new(),
                    }),
                );
            }
            MetadataRecord::PartitionCreated {
                topic_id,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                replicas,
                isr,
            } => {
                let t = self.topic_mut(topic_id)?;
                let p = PartitionImage {
                    partition: *partition,
                    leader: *leader,
                    leader_epoch: *leader_epoch,
                    partition_epoch: *partition_epoch,
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                    adding_replicas: Vec::new(),
                    removing_replicas: Vec::new(),
                };
                let idx = usize::try_from(*partition).map_err(|_| {
                    MetadataError::Invalid(format!("negative partition {partition}"))
                })?;
                if idx < t.partitions.len() {
                    t.partitions[idx] = p;
                } else if idx == t.partitions.len() {
                    t.partitions.push(p);
                } else {
                    return Err(MetadataError::Invalid(format!(
                        "partition {partition} of {} created out of order",
                        t.name
                    )));
                }
            }
            MetadataRecord::PartitionsPlaced {
                topic_id,
                first,
                count,
                replication_factor,
                assignments,
                fallback,
            } => {
                let placed = self.place(
                    topic_id,
                    *first,
                    *count,
                    *replication_factor,
                    assignments,
                    *fallback,
                )?;
                // The live replicas form the ISR (all of them when placed
                // automatically); with no live broker at all (bootstrap:
                // the fallback node) every replica does.
                let none_live = self.brokers.values().all(|b| b.fenced);
                let live = |r: &i32| none_live || self.is_live(*r);
                let placed: Vec<(Vec<i32>, Vec<i32>)> = placed
                    .into_iter()
                    .map(|replicas| {
                        let isr = replicas.iter().copied().filter(live).collect();
                        (replicas, isr)
                    })
                    .collect();
                let t = self.topic_mut(topic_id)?;
                if usize::try_from(*first).ok() != Some(t.partitions.len()) {
                    return Err(MetadataError::Invalid(format!(
                        "{} has {} partitions, not {first}",
                        t.name,
                        t.partitions.len()
                    )));
                }
                for (i, (replicas, isr)) in placed.into_iter().enumerate() {
                    t.partitions.push(PartitionImage {
                        partition: first + i as i32,
                        leader: isr.first().copied().unwrap_or(NO_LEADER),
                        leader_epoch: 0,
                        partition_epoch: 0,
                        isr,
                        replicas,
                        adding_replicas: Vec::new(),
                        removing_replicas: Vec::new(),
                    });
                }
            }
            MetadataRecord::TopicDeleted { topic_id } => {
                let name = self.names_by_id.remove(topic_id).ok_or_else(|| {
                    MetadataError::Invalid(format!("unknown topic id {topic_id}"))
                })?;
                self.topics.remove(&name);
            }
            MetadataRecord::TopicConfigChanged { topic_id, configs } => {
                self.topic_mut(topic_id)?.configs = configs.clone();
            }
            MetadataRecord::ClusterIdSet { cluster_id } => match &self.cluster_id {
                Some(existing) if existing != cluster_id => {
                    return Err(MetadataError::Invalid(format!(
                        "the cluster id is already {existing}"
                    )));
                }
                _ => self.cluster_id = Some(cluster_id.clone()),
            },
            MetadataRecord::BrokerRegistered {
                node_id,
                host,
                port,
                rack,
            } => {
                let known = self.brokers.contains_key(node_id);
                self.brokers.insert(
                    *node_id,
                    BrokerImage {
                        node_id: *node_id,
                        host: host.clone(),
                        port: *port,
                        rack: rack.clone(),
                        fenced: false,
                        listeners: Vec::new(),
                    },
                );
                if known {
                    self.on_reregistered(*node_id);
                } else {
                    self.on_unfenced(*node_id);
                }
            }
            MetadataRecord::BrokerFenced { node_id }
            | MetadataRecord::BrokerUnfenced { node_id } => {
                let fenced = matches!(rec, MetadataRecord::BrokerFenced { .. });
                let b = self.brokers.get_mut(node_id).ok_or_else(|| {
                    MetadataError::Invalid(format!("broker {node_id} is not registered"))
                })?;
                b.fenced = fenced;
                if fenced {
                    self.on_fenced(*node_id);
                } else {
                    self.on_unfenced(*node_id);
                }
            }
            MetadataRecord::BrokerListeners { node_id, listeners } => {
                let b = self.brokers.get_mut(node_id).ok_or_else(|| {
                    MetadataError::Invalid(format!("broker {node_id} is not registered"))
                })?;
                b.listeners = listeners.clone();
            }
            MetadataRecord::AlterPartition {
                topic_id,
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
            } => self.alter_partition(
                topic_id,
                *partition,
                *leader,
                *leader_epoch,
                *partition_epoch,
                isr,
            ),
            MetadataRecord::ElectPreferredLeader {
                topic_id,
                partition,
            } => self.elect_preferred(topic_id, *partition),
            MetadataRecord::ReassignPartition {
                topic_id,
                partition,
                target,
            } => self.reassign(topic_id, *partition, target),
            MetadataRecord::CancelReassignment {
                topic_id,
                partition,
            } => self.cancel_reassignment(topic_id, *partition),
            MetadataRecord::PartitionReassigning {
                topic_id,
                partition,
                adding_replicas,
                removing_replicas,
            } => self.set_reassigning(topic_id, *partition, adding_replicas, removing_replicas)?,
            MetadataRecord::BrokerConfigChanged { resource, configs } => {
                if configs.is_empty() {
                    self.broker_configs.remove(resource);
                } else {
                    self.broker_configs
                        .insert(resource.clone(), configs.clone());
                }
            }
            MetadataRecord::AclCreated { .. }
            | MetadataRecord::AclRemoved { .. }
            | MetadataRecord::ScramCredentialSet { .. }
            | MetadataRecord::ScramCredentialRemoved { .. } => self.security.apply(rec)?,
            MetadataRecord::ProducerIdsAllocated { next_producer_id } => {
                if *next_producer_id < self.next_producer_id {
                    return Err(MetadataError::Invalid(
                        "producer id allocation went backwards".into(),
                    ));
                }
                self.next_producer_id = *next_producer_id;
            }
        }
        self.offset += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_partitions_and_delete() {
        let id = Uuid::from_u128(7);
        let img = MetadataImage::default();
        let recs = vec![
            MetadataRecord::TopicCreated {
                topic_id: id,
                name: "t".into(),
                partitions: 2,
                replication_factor: 1,
                configs: vec![],
            },
            MetadataRecord::PartitionCreated {
                topic_id: id,
                partition: 0,
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
            },
            MetadataRecord::PartitionCreated {
                topic_id: id,
                partition: 1,
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
            },
        ];
        let img2 = img.apply_all(&recs).expect("apply");
        assert!(img.topic("t").is_none(), "the old image is unchanged");
        let t = img2.topic("t").expect("topic");
        assert_eq!(t.partitions.len(), 2);
        assert_eq!(img2.topic_by_id(&id).map(|t| t.name.as_str()), Some("t"));
        assert!(img2.apply(&recs[0]).is_err(), "duplicate topic rejected");
        let changed = img2
            .apply(&MetadataRecord::TopicConfigChanged {
                topic_id: id,
                configs: vec![("retention.ms".into(), "5".into())],
            })
            .expect("config change");
        assert_eq!(
            changed.topic("t").map(|t| t.configs.clone()),
            Some(vec![("retention.ms".into(), "5".into())])
        );
        assert!(
            img2.topic("t")
                .map(|t| t.configs.is_empty())
                .unwrap_or(false),
            "old image unchanged"
        );
        let img3 = img2
            .apply(&MetadataRecord::TopicDeleted { topic_id: id })
            .expect("delete");
        assert!(img3.topic("t").is_none());
        assert!(img3.topic_by_id(&id).is_none());
        // Out-of-order partition creation is rejected, all or nothing.
        let bad = vec![
            recs[0].clone(),
            MetadataRecord::PartitionCreated {
                topic_id: id,
                partition: 5,
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
                replicas: vec![1],
                isr: vec![1],
            },
        ];
        assert!(img3.apply_all(&bad).is_err());
        assert!(img3.topic("t").is_none());
    }

    #[test]
    fn producer_ids_only_move_forward() {
        let img = MetadataImage::default()
            .apply(&MetadataRecord::ProducerIdsAllocated {
                next_producer_id: 1000,
            })
            .expect("apply");
        assert_eq!(img.next_producer_id(), 1000);
        assert!(img
            .apply(&MetadataRecord::ProducerIdsAllocated {
                next_producer_id: 10
            })
            .is_err());
    }
}
