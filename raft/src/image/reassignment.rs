//! Partition reassignments (Kafka's KIP-455 as KRaft records them), decided
//! while applying records so every node derives the same replicas.
//!
//! A reassignment to `target` makes the replicas `target` followed by the
//! current replicas not in it; `adding_replicas` are the new ones (they
//! start out of the ISR and join it through the leader's ordinary
//! `AlterPartition` once caught up) and `removing_replicas` the ones to
//! drop. It completes when every adding replica is in the ISR, inside the
//! `ReassignPartition` record itself when nothing is to be added, else
//! inside the `AlterPartition` that adds the last one: the replicas become
//! `target`, the ISR keeps only target replicas, a leader being removed
//! hands over to the first target replica in the ISR that is live (leader
//! epoch + 1), and the reassignment state is cleared. Cancelling goes back
//! to the original replicas (the replicas less the adding ones).
//!
//! Only one partition epoch bump per record: completion rides on the bump
//! of the record that triggers it. Not here: validating a client's request
//! (the broker answers its errors before committing) and moving the data
//! (new replicas open the partition and fetch from the leader; removed ones
//! delete theirs when they see the image).

use uuid::Uuid;

use super::elections::elect;
use super::{MetadataImage, PartitionImage, NO_LEADER};
use crate::error::MetadataError;

/// `a` less the members of `b`, in `a`'s order.
fn minus(a: &[i32], b: &[i32]) -> Vec<i32> {
    a.iter().copied().filter(|x| !b.contains(x)).collect()
}

impl MetadataImage {
    /// Whether a `ReassignPartition` to `target` would be applied: the
    /// partition exists and `target` is non-empty, without duplicates and
    /// made of registered brokers.
    pub fn reassignment_valid(&self, topic_id: &Uuid, partition: i32, target: &[i32]) -> bool {
        let distinct = target
            .iter()
            .enumerate()
            .all(|(i, r)| !target[..i].contains(r));
        self.partition_by_id(topic_id, partition).is_some()
            && !target.is_empty()
            && distinct
            && target.iter().all(|r| self.brokers.contains_key(r))
    }

    /// Applies a `ReassignPartition` when valid; a no-op otherwise.
    pub(super) fn reassign(&mut self, topic_id: &Uuid, partition: i32, target: &[i32]) {
        if !self.reassignment_valid(topic_id, partition, target) {
            return;
        }
        let Some(p) = self.partition_by_id(topic_id, partition) else {
            return;
        };
        let reassigning = !p.adding_replicas.is_empty() || !p.removing_replicas.is_empty();
        if p.replicas == target && !reassigning {
            return;
        }
        let mut next = p.clone();
        let removing = minus(&p.replicas, target);
        next.adding_replicas = minus(target, &p.replicas);
        next.replicas = target.iter().copied().chain(removing.clone()).collect();
        next.removing_replicas = removing;
        next.isr = next
            .replicas
            .iter()
            .copied()
            .filter(|r| p.isr.contains(r))
            .collect();
        next.partition_epoch += 1;
        self.complete(&mut next);
        if let Some(slot) = self.partition_mut(topic_id, partition) {
            *slot = next;
        }
    }

    /// Completes the partition's reassignment if every adding replica is in
    /// the ISR (epochs: the leader epoch only, see the module docs).
    pub(super) fn maybe_complete_reassignment(&mut self, topic_id: &Uuid, partition: i32) {
        let Some(p) = self.partition_by_id(topic_id, partition) else {
            return;
        };
        let mut next = p.clone();
        if self.complete(&mut next) {
            if let Some(slot) = self.partition_mut(topic_id, partition) {
                *slot = next;
            }
        }
    }

    /// Completes `p`'s reassignment in place when it can; true if it did.
    fn complete(&self, p: &mut PartitionImage) -> bool {
        if p.adding_replicas.is_empty() && p.removing_replicas.is_empty() {
            return false;
        }
        if !p.adding_replicas.iter().all(|r| p.isr.contains(r)) {
            return false;
        }
        let target = minus(&p.replicas, &p.removing_replicas);
        let isr = minus(&target, &minus(&target, &p.isr));
        if isr.is_empty() {
            return false;
        }
        p.replicas = target;
        p.isr = isr;
        p.adding_replicas.clear();
        p.removing_replicas.clear();
        if p.leader != NO_LEADER && !p.replicas.contains(&p.leader) {
            p.leader = elect(p, |r| self.is_live(r));
            p.leader_epoch += 1;
        }
        true
    }

    /// Applies a `CancelReassignment`: back to the original replicas when
    /// a reassignment is under way and one of them is in the ISR; a no-op
    /// otherwise.
    pub(super) fn cancel_reassignment(&mut self, topic_id: &Uuid, partition: i32) {
        let Some(p) = self.partition_by_id(topic_id, partition) else {
            return;
        };
        if p.adding_replicas.is_empty() && p.removing_replicas.is_empty() {
            return;
        }
        let original = minus(&p.replicas, &p.adding_replicas);
        let isr = minus(&original, &minus(&original, &p.isr));
        if isr.is_empty() {
            return;
        }
        let mut next = p.clone();
        next.replicas = original;
        next.isr = isr;
        next.adding_replicas.clear();
        next.removing_replicas.clear();
        if next.leader != NO_LEADER && !next.replicas.contains(&next.leader) {
            next.leader = elect(&next, |r| self.is_live(r));
            next.leader_epoch += 1;
        }
        next.partition_epoch += 1;
        if let Some(slot) = self.partition_mut(topic_id, partition) {
            *slot = next;
        }
    }

    /// Applies a `PartitionReassigning` (snapshot restore), as given.
    pub(super) fn set_reassigning(
        &mut self,
        topic_id: &Uuid,
        partition: i32,
        adding: &[i32],
        removing: &[i32],
    ) -> Result<(), MetadataError> {
        let p = self.partition_mut(topic_id, partition).ok_or_else(|| {
            MetadataError::Invalid(format!("unknown partition {topic_id}-{partition}"))
        })?;
        p.adding_replicas = adding.to_vec();
        p.removing_replicas = removing.to_vec();
        Ok(())
    }
}
