//! Helpers shared by the raft crate's integration tests.

use memorystreamer_raft::MetadataRecord;
use uuid::Uuid;

/// The records of a one-partition topic `name` with id `id` led by node 1.
pub fn topic(id: Uuid, name: &str) -> Vec<MetadataRecord> {
    vec![
        MetadataRecord::TopicCreated {
            topic_id: id,
            name: name.into(),
            partitions: 1,
            replication_factor: 1,
            configs: vec![],
        },
        MetadataRecord::PartitionCreated {
            topic_id: id,
            partition: 0,
            leader: 1,
            leader_epoch: 0,
            replicas: vec![1],
            isr: vec![1],
        },
    ]
}
