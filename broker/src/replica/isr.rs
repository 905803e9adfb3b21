//! ISR changes a partition leader asks for: Kafka's `replica.lag.time.max.ms`
//! shrink (a follower that has not caught up for that long leaves) and
//! expansion (a follower that reached the high watermark joins), turned
//! into `AlterPartition` metadata records at the leader epoch and
//! partition epoch of the image they were decided on.
//!
//! The quorum applies such a record only if those epochs are still current
//! (`memorystreamer_raft` image rules), so a stale proposal is a no-op; the
//! leader then sees the image unchanged and proposes again. Until it is
//! committed, a shrink does not move the high watermark and an addition
//! already holds it (the replica state's "maximal ISR"). Not here: the
//! commit itself and the timer (the broker's background task), applying the
//! committed ISR (the image applier calls `Partition::update_isr`).

use std::sync::Arc;

use memorystreamer_raft::{MetadataImage, MetadataRecord};

use super::partition::Partition;
use super::ReplicaManager;

/// One ISR change to propose: the partition, the full ISR asked for (in
/// replica order, this leader included) and the record that asks.
pub struct Proposal {
    /// The partition (its followers' proposal state is set by [`proposals`]).
    pub partition: Arc<Partition>,
    /// The ISR asked for.
    pub isr: Vec<i32>,
    /// The `AlterPartition` record.
    pub record: MetadataRecord,
}

/// The ISR changes the partitions led here want at `now_ms` under
/// `lag_max_ms`, as of `image`. Each proposed follower set is marked on its
/// partition ([`Partition::propose_isr`]).
pub fn proposals(
    replicas: &ReplicaManager,
    image: &MetadataImage,
    me: i32,
    now_ms: i64,
    lag_max_ms: i64,
) -> Vec<Proposal> {
    let mut out = Vec::new();
    for p in replicas.all_partitions() {
        let Some((epoch, followers)) = p.desired_isr(now_ms, lag_max_ms) else {
            continue;
        };
        let Some(current) = image.partition_by_id(&p.topic_id, p.index) else {
            continue;
        };
        if current.leader != me || current.leader_epoch != epoch {
            // The image moved on; the applier will bring the partition along.
            continue;
        }
        let isr: Vec<i32> = current
            .replicas
            .iter()
            .copied()
            .filter(|r| *r == me || followers.contains(r))
            .collect();
        if isr == current.isr {
            continue;
        }
        p.propose_isr(&followers);
        out.push(Proposal {
            record: MetadataRecord::AlterPartition {
                topic_id: p.topic_id,
                partition: p.index,
                leader: me,
                leader_epoch: epoch,
                partition_epoch: current.partition_epoch,
                isr: isr.clone(),
            },
            partition: p,
            isr,
        });
    }
    out
}

/// After the proposals were committed (or not): clears those the image
/// does not show, so they are proposed again.
pub fn settle(proposals: &[Proposal], image: &MetadataImage) {
    for prop in proposals {
        let p = &prop.partition;
        let applied = image
            .partition_by_id(&p.topic_id, p.index)
            .is_some_and(|current| current.isr == prop.isr);
        if !applied {
            p.clear_proposals();
        }
    }
}
