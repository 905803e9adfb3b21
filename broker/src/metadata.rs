//! The metadata cache: this node's view of the committed metadata image
//! (topics, partitions and their placement, brokers, configs) and the
//! routing questions answered from it (who leads a partition, which brokers
//! are live, which node clients are told is the controller).
//!
//! Request handlers read it without locks: the image is an immutable
//! snapshot behind an `ArcSwap`, replaced as a whole by
//! [`crate::Broker::sync_image`] once local state matches it. This module
//! does not change metadata (that is a commit through the quorum, see
//! `crate::controller`) and does not know which partitions are open here
//! (that is the replica manager, `crate::replica`).

use std::sync::Arc;

use arc_swap::ArcSwap;
use memorystreamer_raft::{MetadataImage, PartitionImage, NO_LEADER};

use crate::config::Listener;
use crate::error::BrokerError;

/// A live broker as clients see it: (node id, host, port).
pub type BrokerAddress = (i32, String, i32);

/// The committed metadata image as this node last applied it.
pub struct MetadataCache {
    node_id: i32,
    /// This node's advertised listeners: its addresses before its own
    /// registration is in the image.
    advertised: Vec<Listener>,
    image: ArcSwap<MetadataImage>,
}

impl MetadataCache {
    /// An empty cache for node `node_id`, advertised at `advertised`.
    pub fn new(node_id: i32, advertised: Vec<Listener>) -> Self {
        MetadataCache {
            node_id,
            advertised,
            image: ArcSwap::from_pointee(MetadataImage::default()),
        }
    }

    /// The current image (a cheap snapshot: clone of an `Arc`).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.load_full()
    }

    /// Publishes `image` to request handlers.
    pub(crate) fn publish(&self, image: Arc<MetadataImage>) {
        self.image.store(image);
    }

    /// This node's own address on `listener` as clients should see it.
    fn own_address(&self, listener: &str) -> Option<BrokerAddress> {
        self.advertised
            .iter()
            .find(|l| l.name == listener)
            .map(|l| (self.node_id, l.host.clone(), i32::from(l.port)))
    }

    /// Live brokers as clients of listener `listener` reach them:
    /// registered, not fenced and advertising that listener (Kafka's
    /// `getAliveBrokerNodes(listenerName)`). Before this node's
    /// registration is committed, this node only.
    pub fn live_brokers(&self, listener: &str) -> Vec<BrokerAddress> {
        let image = self.image();
        if image.brokers().all(|b| b.fenced) {
            return self.own_address(listener).into_iter().collect();
        }
        image
            .brokers()
            .filter(|b| !b.fenced)
            .filter_map(|b| {
                b.endpoint(listener)
                    .map(|(host, port)| (b.node_id, host.to_string(), port))
            })
            .collect()
    }

    /// The controller id clients are given (Metadata, DescribeCluster's
    /// broker endpoints). As in Kafka's KRaft mode this is a live broker,
    /// not the quorum leader: any broker accepts admin requests and
    /// forwards the metadata change to the quorum leader, so naming this
    /// node, which the client has just reached, never sends a client to a
    /// dead or fenced node. A fenced node names another live broker; -1
    /// when it knows none. `live` is [`MetadataCache::live_brokers`],
    /// which the callers list anyway.
    pub fn controller_id(&self, live: &[BrokerAddress]) -> i32 {
        if live.iter().any(|(id, ..)| *id == self.node_id) {
            return self.node_id;
        }
        live.first().map_or(-1, |(id, ..)| *id)
    }

    /// The active controller (the quorum leader `quorum_leader`) when it is
    /// a live broker, else -1 (DescribeCluster's controller endpoints).
    pub fn active_controller_id(&self, live: &[BrokerAddress], quorum_leader: Option<u64>) -> i32 {
        let Some(leader) = quorum_leader.and_then(|l| i32::try_from(l).ok()) else {
            return -1;
        };
        if live.iter().any(|(id, ..)| *id == leader) {
            leader
        } else {
            -1
        }
    }

    /// The leader of a partition as clients should see it: -1 when it has
    /// none (the image's -1, after an election found no in-sync replica)
    /// or when its broker is fenced. The controller moves leadership off a
    /// fenced broker, so the second case only covers the moment before
    /// that change is applied (and a single replica, which has no one to
    /// move to).
    pub fn effective_leader(image: &MetadataImage, leader: i32) -> i32 {
        if leader < 0 {
            return NO_LEADER;
        }
        match image.broker(leader) {
            Some(b) if b.fenced => NO_LEADER,
            _ => leader,
        }
    }

    /// The rack of broker `node_id` (`broker.rack` as it registered), None
    /// when it has none or is unknown.
    pub fn rack(image: &MetadataImage, node_id: i32) -> Option<String> {
        image.broker(node_id).and_then(|b| b.rack.clone())
    }

    /// The replicas of `p` that are offline as Kafka reports them to a
    /// client of `listener` (Metadata's and DescribeTopicPartitions'
    /// `offline_replicas`): on a fenced or unregistered broker, or one not
    /// advertising that listener, in replica order.
    pub fn offline_replicas(image: &MetadataImage, p: &PartitionImage, listener: &str) -> Vec<i32> {
        p.replicas
            .iter()
            .copied()
            .filter(|r| {
                image
                    .broker(*r)
                    .is_none_or(|b| b.fenced || b.endpoint(listener).is_none())
            })
            .collect()
    }

    /// True when the cluster has partition `index` of `topic`, wherever it
    /// is hosted (what OffsetCommit and AddPartitionsToTxn accept).
    pub fn partition_exists(&self, topic: &str, index: i32) -> bool {
        self.image()
            .topic(topic)
            .is_some_and(|t| usize::try_from(index).is_ok_and(|i| i < t.partitions.len()))
    }

    /// The leader of partition `index` of `topic` in the image (whether or
    /// not it is live), None when the partition does not exist.
    pub fn partition_leader(image: &MetadataImage, topic: &str, index: i32) -> Option<i32> {
        let t = image.topic(topic)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| t.partitions.get(i))
            .map(|p| p.leader)
    }

    /// Address on listener `listener` of the live leader of a partition
    /// (what FindCoordinator answers for the partition holding a group or
    /// transactional id); COORDINATOR_NOT_AVAILABLE when it has none or
    /// does not advertise that listener.
    pub fn leader_address(
        &self,
        topic: &str,
        partition: i32,
        listener: &str,
    ) -> Result<BrokerAddress, BrokerError> {
        let image = self.image();
        let leader = Self::partition_leader(&image, topic, partition)
            .ok_or(BrokerError::CoordinatorNotAvailable)?;
        match image.broker(leader) {
            Some(b) if !b.fenced => b
                .endpoint(listener)
                .map(|(host, port)| (b.node_id, host.to_string(), port))
                .ok_or(BrokerError::CoordinatorNotAvailable),
            _ if leader == self.node_id => self
                .own_address(listener)
                .ok_or(BrokerError::CoordinatorNotAvailable),
            _ => Err(BrokerError::CoordinatorNotAvailable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memorystreamer_raft::MetadataRecord;

    fn listener(port: u16) -> Listener {
        Listener {
            name: "PLAINTEXT".into(),
            protocol: crate::config::SecurityProtocol::Plaintext,
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn before_registration_only_this_node_is_live() {
        let cache = MetadataCache::new(3, vec![listener(9092)]);
        assert_eq!(
            cache.live_brokers("PLAINTEXT"),
            vec![(3, "127.0.0.1".to_string(), 9092)]
        );
        assert_eq!(cache.controller_id(&cache.live_brokers("PLAINTEXT")), 3);
        assert_eq!(
            cache.active_controller_id(&cache.live_brokers("PLAINTEXT"), None),
            -1
        );
        assert_eq!(
            cache.active_controller_id(&cache.live_brokers("PLAINTEXT"), Some(3)),
            3
        );
        assert_eq!(
            cache.active_controller_id(&cache.live_brokers("PLAINTEXT"), Some(4)),
            -1
        );
    }

    #[test]
    fn registered_brokers_are_live_until_fenced() {
        let cache = MetadataCache::new(1, vec![listener(9092)]);
        let image = MetadataImage::default()
            .apply_all(&[
                MetadataRecord::BrokerRegistered {
                    node_id: 1,
                    host: "h1".into(),
                    port: 1,
                    rack: None,
                },
                MetadataRecord::BrokerRegistered {
                    node_id: 2,
                    host: "h2".into(),
                    port: 2,
                    rack: None,
                },
            ])
            .expect("registrations apply");
        cache.publish(Arc::new(image));
        let live = cache.live_brokers("PLAINTEXT");
        assert_eq!(live.len(), 2);
        assert_eq!(cache.controller_id(&live), 1);
        assert_eq!(cache.controller_id(&live[1..]), 2);
        assert_eq!(cache.controller_id(&[]), -1);
        assert!(!cache.partition_exists("t", 0));
        assert!(matches!(
            cache.leader_address("t", 0, "PLAINTEXT"),
            Err(BrokerError::CoordinatorNotAvailable)
        ));
    }
}
