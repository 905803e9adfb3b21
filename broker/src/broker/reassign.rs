//! Partition reassignments (AlterPartitionReassignments, KIP-455): checks a
//! client's targets as Kafka does and commits `ReassignPartition` /
//! `CancelReassignment` records.
//!
//! The move itself follows from the image: the quorum applies the records
//! (`memorystreamer_raft` reassignment rules: the replicas grow to target ∪
//! current, new replicas join the ISR through the leader's ordinary ISR
//! expansion, and the reassignment completes when they all did), and the
//! image applier opens the partition on new replicas and retires it on
//! removed ones ([`Broker::sync_image`]). Not here: the wire format
//! (`api/alter_partition_reassignments.rs`,
//! `api/list_partition_reassignments.rs`).

use memorystreamer_raft::{MetadataImage, MetadataRecord};
use tracing::{info, warn};

use super::Broker;
use crate::error::BrokerError;

/// One partition's reassignment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReassignRequest {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The replicas wanted (preferred leader first), or None to cancel the
    /// reassignment under way.
    pub target: Option<Vec<i32>>,
}

/// The record committing `req` against `image`, None when there is
/// nothing to change (the target is already the replica set), or the error
/// Kafka answers: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT
/// (empty, duplicate or unregistered brokers), INVALID_REPLICATION_FACTOR
/// (a replica count change while `allow_rf_change` is false),
/// NO_REASSIGNMENT_IN_PROGRESS (cancelling nothing).
pub fn plan_reassignment(
    image: &MetadataImage,
    req: &ReassignRequest,
    allow_rf_change: bool,
) -> Result<Option<MetadataRecord>, BrokerError> {
    let topic = image
        .topic(&req.topic)
        .ok_or(BrokerError::UnknownTopicOrPartition)?;
    let p = usize::try_from(req.partition)
        .ok()
        .and_then(|i| topic.partitions.get(i))
        .ok_or(BrokerError::UnknownTopicOrPartition)?;
    let reassigning = !p.adding_replicas.is_empty() || !p.removing_replicas.is_empty();
    let original: Vec<i32> = p
        .replicas
        .iter()
        .copied()
        .filter(|r| !p.adding_replicas.contains(r))
        .collect();
    let Some(target) = &req.target else {
        if !reassigning {
            return Err(BrokerError::NoReassignmentInProgress);
        }
        if !original.iter().any(|r| p.isr.contains(r)) {
            return Err(BrokerError::InvalidReplicaAssignment(format!(
                "cannot cancel the reassignment of {}-{}: none of the original replicas {original:?} is in sync",
                req.topic, req.partition
            )));
        }
        return Ok(Some(MetadataRecord::CancelReassignment {
            topic_id: topic.topic_id,
            partition: req.partition,
        }));
    };
    if target.is_empty() {
        return Err(BrokerError::InvalidReplicaAssignment(
            "The manual partition assignment includes an empty replica list.".into(),
        ));
    }
    for (i, r) in target.iter().enumerate() {
        if target[..i].contains(r) {
            return Err(BrokerError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes the broker {r} more than once."
            )));
        }
        if image.broker(*r).is_none() {
            return Err(BrokerError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes broker {r}, but no such broker is registered."
            )));
        }
    }
    if !allow_rf_change && target.len() != original.len() {
        return Err(BrokerError::InvalidReplicationFactor(format!(
            "The replication factor is changed from {} to {} but allowReplicationFactorChange is false",
            original.len(),
            target.len()
        )));
    }
    if !reassigning && p.replicas == *target {
        return Ok(None);
    }
    Ok(Some(MetadataRecord::ReassignPartition {
        topic_id: topic.topic_id,
        partition: req.partition,
        target: target.clone(),
    }))
}

impl Broker {
    /// Starts, replaces or cancels the reassignments of `requests`, one
    /// result per request in order: each is checked
    /// ([`plan_reassignment`]) and the valid ones are committed together
    /// (a commit failure answers each of them REQUEST_TIMED_OUT, as Kafka
    /// does when the controller does not answer in time). Returns once committed; the move
    /// then runs in the background until the new replicas are in sync.
    pub async fn reassign(
        &self,
        requests: &[ReassignRequest],
        allow_rf_change: bool,
    ) -> Vec<Result<(), BrokerError>> {
        let _writes = self.metadata_writes.lock().await;
        let image = self.metadata();
        let mut records = Vec::new();
        let mut committed = Vec::new();
        let mut results: Vec<Result<(), BrokerError>> = Vec::with_capacity(requests.len());
        for (i, req) in requests.iter().enumerate() {
            match plan_reassignment(&image, req, allow_rf_change) {
                Ok(Some(rec)) => {
                    info!(topic = %req.topic, partition = req.partition, target = ?req.target, "reassigning partition");
                    records.push(rec);
                    committed.push(i);
                    results.push(Ok(()));
                }
                Ok(None) => results.push(Ok(())),
                Err(e) => results.push(Err(e)),
            }
        }
        if records.is_empty() {
            return results;
        }
        if let Err(e) = self.commit(records).await {
            warn!(error = %e, "reassignment not committed");
            for i in committed {
                results[i] = Err(BrokerError::RequestTimedOut);
            }
        }
        results
    }
}
