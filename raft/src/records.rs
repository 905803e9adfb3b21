//! Metadata records: every change to cluster metadata is one of these.
//!
//! In the Raft log and snapshots records are JSON (serde); fields added
//! later default when absent. The compact binary form of the pre-quorum
//! `metadata.log` is `records/codec.rs`'s.
//!
//! Security records (ACLs, SCRAM credentials) carry Kafka's wire codes as
//! plain integers: this crate knows nothing of what they mean; the broker's
//! authorizer and SASL layer interpret them.

use uuid::Uuid;

mod codec;

/// One metadata change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MetadataRecord {
    /// A topic now exists (its partitions follow as `PartitionCreated`).
    TopicCreated {
        /// Topic id (KIP-516).
        topic_id: Uuid,
        /// Topic name.
        name: String,
        /// Number of partitions.
        partitions: i32,
        /// Replication factor.
        replication_factor: i16,
        /// Topic-level config overrides (Kafka names).
        configs: Vec<(String, String)>,
    },
    /// A partition's placement and leadership, set as given (no checks, no
    /// elections): snapshots restore partitions with it.
    PartitionCreated {
        /// Topic the partition belongs to.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// Leader node id, or [`crate::NO_LEADER`].
        leader: i32,
        /// Leader epoch.
        leader_epoch: i32,
        /// Partition epoch (0 when absent: records written before it
        /// existed).
        #[serde(default)]
        partition_epoch: i32,
        /// Replica node ids.
        replicas: Vec<i32>,
        /// In-sync replica node ids.
        isr: Vec<i32>,
    },
    /// Partitions `first..first + count` of a topic are to be created and
    /// placed when this record is applied: on the client's `assignments`
    /// (one replica list per partition; registered brokers, at least one
    /// live each) or, when empty, rack-aware over the brokers live at that
    /// point of the log (`fallback` when none is registered yet; see
    /// `image/placement.rs`). The ISR is the live replicas, the leader the
    /// first of them, both epochs 0. Placement is part of applying the log,
    /// so every node computes the same partitions, from the same view.
    PartitionsPlaced {
        /// Topic the partitions belong to.
        topic_id: Uuid,
        /// First new partition index (the topic's current count).
        first: i32,
        /// How many partitions.
        count: i32,
        /// Replicas per partition.
        replication_factor: i16,
        /// Replica lists given by the client, or empty.
        assignments: Vec<Vec<i32>>,
        /// The node to place on when no broker is registered (bootstrap).
        fallback: i32,
    },
    /// A topic and its partitions are gone.
    TopicDeleted {
        /// Topic id.
        topic_id: Uuid,
    },
    /// A topic's config overrides are now exactly `configs`.
    TopicConfigChanged {
        /// Topic id.
        topic_id: Uuid,
        /// Every override after the change (Kafka names).
        configs: Vec<(String, String)>,
    },
    /// Dynamic broker configs of one resource are now exactly `configs`
    /// (Kafka's ConfigRecord for BROKER resources).
    BrokerConfigChanged {
        /// `""` for the cluster-wide default, else a node id.
        resource: String,
        /// Every dynamic config of the resource after the change.
        configs: Vec<(String, String)>,
    },
    /// A broker (re)registered its Kafka listener; it is unfenced and leads
    /// the offline partitions whose ISR holds it. Registering a registered
    /// broker again (a restart) first moves its leaderships away and takes
    /// it out of ISRs with other members, as `BrokerFenced` does.
    BrokerRegistered {
        /// Node id.
        node_id: i32,
        /// Advertised host for clients.
        host: String,
        /// Advertised port for clients.
        port: i32,
        /// `broker.rack`, if set (None when absent: records written before
        /// it existed).
        #[serde(default)]
        rack: Option<String>,
    },
    /// A broker missed its session or shuts down: it leaves every ISR that
    /// has other members, and each partition it led elects the first live
    /// ISR replica (in replica order), or goes offline
    /// ([`crate::NO_LEADER`]) when there is none.
    BrokerFenced {
        /// Node id.
        node_id: i32,
    },
    /// A fenced broker heartbeated again: it leads the offline partitions
    /// whose ISR holds it.
    BrokerUnfenced {
        /// Node id.
        node_id: i32,
    },
    /// A partition leader asks to change its ISR (Kafka's AlterPartition).
    /// Applied only when the partition exists and is led by `leader` at
    /// exactly `leader_epoch` and `partition_epoch`, and `isr` is non-empty,
    /// holds the leader, has no duplicates, is a subset of the replicas and
    /// adds only live brokers; then the ISR becomes `isr` (in replica
    /// order) and the partition epoch grows by one. Otherwise it changes
    /// nothing and is not an error: the leader sees from the image that its
    /// request lost a race.
    AlterPartition {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// The requesting leader.
        leader: i32,
        /// The leader epoch the request was made in.
        leader_epoch: i32,
        /// The partition epoch the request was made from.
        partition_epoch: i32,
        /// The requested ISR.
        isr: Vec<i32>,
    },
    /// Preferred leader election: the first replica becomes leader if it
    /// is in the ISR, live and not already leading; otherwise a no-op (not
    /// an error).
    ElectPreferredLeader {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
    },
    /// Starts moving a partition to `target` (Kafka's
    /// AlterPartitionReassignments, KIP-455, as KRaft records it): the
    /// replicas become `target` followed by the current replicas not in it
    /// (`removing_replicas`), `adding_replicas` are those of `target` not
    /// yet replicas, and the partition epoch grows by one. A reassignment
    /// under way is replaced, taking the current (full) replica set as the
    /// starting point, so a `target` equal to the current replicas simply
    /// ends it with every replica kept. Applied only when the partition
    /// exists and `target` is non-empty, without duplicates and made of
    /// registered brokers; otherwise a no-op. The reassignment completes
    /// (see `image/reassignment.rs`) as soon as every adding replica is in
    /// the ISR: at once here, or when the `AlterPartition` that adds the
    /// last of them is applied.
    ReassignPartition {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// The replicas wanted, preferred leader first.
        target: Vec<i32>,
    },
    /// Cancels a partition's reassignment: the replicas go back to the
    /// original ones (the replicas less the adding ones), the ISR keeps
    /// only those, a leader outside them is re-elected, and the partition
    /// epoch grows by one. A no-op when no reassignment is under way or no
    /// original replica is in the ISR.
    CancelReassignment {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
    },
    /// A partition's reassignment state, set as given (no checks, no epoch
    /// change): snapshots restore an ongoing reassignment with it right
    /// after the partition's `PartitionCreated`.
    PartitionReassigning {
        /// Topic id.
        topic_id: Uuid,
        /// Partition index.
        partition: i32,
        /// Replicas being added.
        adding_replicas: Vec<i32>,
        /// Replicas being removed.
        removing_replicas: Vec<i32>,
    },
    /// The cluster's id (the first node to commit it wins; every node
    /// adopts it).
    ClusterIdSet {
        /// Kafka-style cluster id.
        cluster_id: String,
    },
    /// Producer ids below `next_producer_id` have been handed out.
    ProducerIdsAllocated {
        /// First producer id not yet allocated.
        next_producer_id: i64,
    },
    /// An ACL binding now exists (Kafka's `AccessControlEntryRecord`).
    AclCreated {
        /// The binding's id (unique; DeleteAcls removes by it).
        id: Uuid,
        /// Kafka's resource type code (topic 2, group 3, cluster 4, ...).
        resource_type: i8,
        /// Resource name or prefix (`*` for every resource of the type).
        resource_name: String,
        /// Kafka's pattern type code (literal 3, prefixed 4).
        pattern_type: i8,
        /// `Type:name`, e.g. `User:alice` or `User:*`.
        principal: String,
        /// Host the binding applies to, `*` for any.
        host: String,
        /// Kafka's operation code (read 3, write 4, ...).
        operation: i8,
        /// Kafka's permission type code (deny 2, allow 3).
        permission_type: i8,
    },
    /// The ACL binding `id` no longer exists
    /// (`RemoveAccessControlEntryRecord`).
    AclRemoved {
        /// The binding's id.
        id: Uuid,
    },
    /// A user's SCRAM credential for one mechanism was set
    /// (`UserScramCredentialRecord`): salted, never the password.
    ScramCredentialSet {
        /// User name.
        name: String,
        /// Kafka's SCRAM mechanism code (SHA-256 1, SHA-512 2).
        mechanism: i8,
        /// Salt.
        salt: Vec<u8>,
        /// `H(ClientKey)` (RFC 5802).
        stored_key: Vec<u8>,
        /// `HMAC(SaltedPassword, "Server Key")` (RFC 5802).
        server_key: Vec<u8>,
        /// PBKDF2 iterations.
        iterations: i32,
    },
    /// A user's SCRAM credential for one mechanism was removed
    /// (`RemoveUserScramCredentialRecord`).
    ScramCredentialRemoved {
        /// User name.
        name: String,
        /// Kafka's SCRAM mechanism code.
        mechanism: i8,
    },
    /// The endpoints a registered broker advertises, one per listener
    /// (the endpoints of Kafka's `RegisterBrokerRecord`). Committed with
    /// the `BrokerRegistered` it follows, which clears the previous
    /// incarnation's list: a broker whose registration has none (records
    /// written before listeners were recorded) is reached at its
    /// registered host and port on every listener.
    BrokerListeners {
        /// Node id (a registered broker).
        node_id: i32,
        /// Every advertised listener, in `advertised.listeners` order.
        listeners: Vec<BrokerEndpoint>,
    },
}

/// One advertised listener of a broker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerEndpoint {
    /// The listener name (`PLAINTEXT`, `SASL_SSL`, `INTERNAL`, ...).
    pub listener: String,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}
