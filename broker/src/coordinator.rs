//! What the coordinators need from the node they run on, as narrow traits:
//! the group coordinator ([`crate::group`]) and the transaction coordinator
//! ([`crate::txn`]) depend on these, never on `Broker`, the way Kafka's
//! GroupCoordinator and TransactionCoordinator depend on a partition
//! writer, a metadata view and a marker channel.
//!
//! | trait | what it gives | used by |
//! |---|---|---|
//! | [`InternalLog`] | the hosted partitions of an internal topic, to append to and replay | both |
//! | [`MetadataView`] | whether a partition exists in the cluster | group |
//! | [`ProducerIds`] | new producer ids from the metadata quorum | txn |
//! | [`TxnMarkers`] | COMMIT/ABORT markers written to a transaction's partitions | txn |
//!
//! [`GroupHost`] and [`TxnHost`] bundle what each coordinator takes. The
//! broker implements them in `crate::host`; unit tests use the in-memory
//! host in [`memory`] (real partitions in a temporary directory, no quorum,
//! no network). The names of the internal topics and the one
//! [`is_internal`] test live here too, as the leaf every module may import.
//!
//! Coordinators move with leadership: a coordinator serves the keys of an
//! internal partition only while this node leads it and it has been
//! replayed here ([`loading`]); the broker tells both coordinators of every
//! leadership change (`on_leadership_change`).
//!
//! Not here: the coordinators themselves, how records are encoded and
//! replayed (`crate::internal_topic`), routing a client to its coordinator
//! (the broker), and error codes (`crate::error`).
//!
//! A new coordinator (say, a share-group coordinator) takes the traits it
//! needs from here (adding a narrow one if none fits), is owned by the
//! broker, and gets its host impls in `crate::host`.

pub mod loading;
#[cfg(test)]
pub mod memory;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use crate::error::BrokerError;
use crate::replica::partition::Partition;

/// Name of the internal offsets topic (the group coordinator's state).
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Name of the internal transaction state topic (the transaction
/// coordinator's state).
pub const TXN_TOPIC: &str = "__transaction_state";

/// True for Kafka's internal topics (`__consumer_offsets`,
/// `__transaction_state`): marked internal in Metadata and
/// DescribeTopicPartitions, never deleted, resized or written by clients.
pub fn is_internal(topic: &str) -> bool {
    topic == OFFSETS_TOPIC || topic == TXN_TOPIC
}

/// The partitions of an internal topic this node hosts: where a
/// coordinator appends its records before acting on them, and what it
/// replays on start.
pub trait InternalLog: Send + Sync {
    /// Partition `index` of internal `topic` when this node hosts it (as
    /// leader or follower); a coordinator appends to and replays only the
    /// partitions it leads.
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>>;

    /// Every partition of internal `topic` hosted here, by index (those led
    /// here are loaded on start).
    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>>;
}

/// The cluster's metadata as the group coordinator asks it.
pub trait MetadataView: Send + Sync {
    /// True when the cluster has partition `index` of `topic`, wherever it
    /// is hosted (what OffsetCommit and AddPartitionsToTxn accept).
    fn partition_exists(&self, topic: &str, index: i32) -> bool;
}

/// Producer ids, allocated in blocks through the metadata quorum so no id
/// is handed out twice in the cluster, even across restarts.
pub trait ProducerIds: Send + Sync {
    /// A producer id never handed out before.
    fn next_producer_id(&self) -> impl Future<Output = Result<i64, BrokerError>> + Send;
}

/// The channel the transaction coordinator's markers travel through.
pub trait TxnMarkers: Send + Sync {
    /// Writes a COMMIT (`commit`) or ABORT marker of `producer_id` at
    /// `epoch` to every partition in `partitions`: on this node directly,
    /// elsewhere through its leader. Partitions of deleted topics are
    /// skipped. A marker reaching an offsets partition settles the
    /// producer's transactional offset commits there (the group
    /// coordinator's `complete_txn`). Ok once every marker is written.
    fn write_markers(
        &self,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        partitions: &BTreeSet<(String, i32)>,
    ) -> impl Future<Output = Result<(), BrokerError>> + Send;
}

/// Everything the group coordinator takes from its host.
pub trait GroupHost: InternalLog + MetadataView {}

impl<T: InternalLog + MetadataView + ?Sized> GroupHost for T {}

/// Everything the transaction coordinator takes from its host (owned by a
/// background task while markers are written, hence `'static`).
pub trait TxnHost: InternalLog + ProducerIds + TxnMarkers + 'static {}

impl<T: InternalLog + ProducerIds + TxnMarkers + 'static> TxnHost for T {}

/// A shared host is a host (handlers hold the broker in an `Arc`).
impl<T: InternalLog + ?Sized> InternalLog for Arc<T> {
    fn internal_partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        (**self).internal_partition(topic, index)
    }

    fn internal_partitions(&self, topic: &str) -> Vec<Arc<Partition>> {
        (**self).internal_partitions(topic)
    }
}

/// A shared metadata view is a metadata view.
impl<T: MetadataView + ?Sized> MetadataView for Arc<T> {
    fn partition_exists(&self, topic: &str, index: i32) -> bool {
        (**self).partition_exists(topic, index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_topics_are_the_two_coordinator_topics() {
        assert!(is_internal("__consumer_offsets"));
        assert!(is_internal("__transaction_state"));
        assert!(!is_internal("__consumer_offsets_x"));
        assert!(!is_internal("orders"));
    }
}
