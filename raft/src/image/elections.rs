//! Leader elections and ISR changes, decided while applying records (Kafka
//! KRaft semantics with `unclean.leader.election.enable=false`).
//!
//! Every rule here runs inside [`MetadataImage::apply`], so it is
//! serialized by the Raft log and every node derives the same leaders,
//! ISRs and epochs; no controller thread decides anything. The rules:
//!
//! * fencing a broker (`BrokerFenced`, also used for controlled shutdown)
//!   removes it from every ISR that has other members and moves the
//!   leadership it held to the first replica (in replica order) that is in
//!   the ISR and live, or to [`NO_LEADER`] (offline) when there is none; the
//!   last ISR member stays in the ISR (it has every committed record);
//! * a broker becoming live (`BrokerUnfenced`, `BrokerRegistered`) brings
//!   back every offline partition whose ISR holds it: the first live ISR
//!   replica in replica order leads (that broker itself, since an offline
//!   partition's ISR is its one last member);
//! * re-registering a registered broker (a restart) is a fence followed by
//!   an unfence;
//! * `AlterPartition` (a leader's ISR change) and `ElectPreferredLeader`
//!   apply only when valid against the current image, and are otherwise
//!   no-ops, never errors (a stale request is a normal race).
//!
//! `leader_epoch` grows by one when a record changes the leader (also when
//! a restart moves it away and back); `partition_epoch` by one when it
//! changes anything of the partition.
//!
//! Not here: where new partitions go (`placement.rs`), and anything about
//! moving data between replicas (the broker's replication does that).

use std::sync::Arc;

use uuid::Uuid;

use super::{MetadataImage, PartitionImage, NO_LEADER};

/// One step of a broker liveness change, applied to one partition.
#[derive(Clone, Copy)]
enum Step {
    /// The node is fenced (or restarting): out of ISRs, leads nothing.
    Fence(i32),
    /// The node is live: leads the offline partitions it can.
    Unfence(i32),
}

/// The first replica, in replica order, in the ISR that `ok` accepts, or
/// [`NO_LEADER`].
pub(super) fn elect(p: &PartitionImage, ok: impl Fn(i32) -> bool) -> i32 {
    p.replicas
        .iter()
        .copied()
        .find(|r| p.isr.contains(r) && ok(*r))
        .unwrap_or(NO_LEADER)
}

impl MetadataImage {
    /// Whether `node_id` is registered and not fenced.
    pub fn is_live(&self, node_id: i32) -> bool {
        self.brokers.get(&node_id).is_some_and(|b| !b.fenced)
    }

    /// Applies `steps` to one partition; true when the leader changed at
    /// any step. Epochs are left to the caller.
    fn step_partition(&self, p: &mut PartitionImage, steps: &[Step]) -> bool {
        let mut leader_moved = false;
        for step in steps {
            let before = p.leader;
            match *step {
                Step::Fence(n) => {
                    if p.isr.len() > 1 {
                        p.isr.retain(|r| *r != n);
                    }
                    if p.leader == n {
                        p.leader = elect(p, |r| r != n && self.is_live(r));
                    }
                }
                Step::Unfence(n) => {
                    if p.leader == NO_LEADER && p.isr.contains(&n) {
                        p.leader = elect(p, |r| self.is_live(r));
                    }
                }
            }
            leader_moved |= p.leader != before;
        }
        leader_moved
    }

    /// Applies `steps` to every partition, bumping each changed one's
    /// epochs once (copy-on-write: untouched topics stay shared).
    fn run_steps(&mut self, steps: &[Step]) {
        let mut changed = Vec::new();
        for (name, t) in &self.topics {
            let mut parts = Vec::new();
            for p in &t.partitions {
                let mut next = p.clone();
                let leader_moved = self.step_partition(&mut next, steps);
                if leader_moved || next.isr != p.isr {
                    if leader_moved {
                        next.leader_epoch += 1;
                    }
                    next.partition_epoch += 1;
                    parts.push(next);
                }
            }
            if !parts.is_empty() {
                changed.push((name.clone(), parts));
            }
        }
        for (name, parts) in changed {
            if let Some(t) = self.topics.get_mut(&name) {
                let t = Arc::make_mut(t);
                for p in parts {
                    if let Some(slot) = usize::try_from(p.partition)
                        .ok()
                        .and_then(|i| t.partitions.get_mut(i))
                    {
                        *slot = p;
                    }
                }
            }
        }
    }

    /// The effects of fencing `node_id` (already marked fenced).
    pub(super) fn on_fenced(&mut self, node_id: i32) {
        self.run_steps(&[Step::Fence(node_id)]);
    }

    /// The effects of `node_id` becoming live (already marked live).
    pub(super) fn on_unfenced(&mut self, node_id: i32) {
        self.run_steps(&[Step::Unfence(node_id)]);
    }

    /// The effects of a registered, live `node_id` registering again: a
    /// fence then an unfence, with one epoch bump per partition.
    pub(super) fn on_reregistered(&mut self, node_id: i32) {
        self.run_steps(&[Step::Fence(node_id), Step::Unfence(node_id)]);
    }

    /// A writable partition (copy-on-write), if it exists.
    pub(super) fn partition_mut(
        &mut self,
        topic_id: &Uuid,
        partition: i32,
    ) -> Option<&mut PartitionImage> {
        let name = self.names_by_id.get(topic_id)?;
        let t = self.topics.get_mut(name)?;
        let idx = usize::try_from(partition).ok()?;
        t.partitions.get(idx)?;
        Arc::make_mut(t).partitions.get_mut(idx)
    }

    /// A partition by topic id, if it exists.
    pub fn partition_by_id(&self, topic_id: &Uuid, partition: i32) -> Option<&PartitionImage> {
        self.topic_by_id(topic_id)?
            .partitions
            .get(usize::try_from(partition).ok()?)
    }

    /// Whether an `AlterPartition` with these fields would be applied (see
    /// [`crate::MetadataRecord::AlterPartition`]).
    pub fn alter_partition_valid(
        &self,
        topic_id: &Uuid,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: &[i32],
    ) -> bool {
        let Some(p) = self.partition_by_id(topic_id, partition) else {
            return false;
        };
        let distinct = isr.iter().enumerate().all(|(i, r)| !isr[..i].contains(r));
        p.leader == leader
            && leader != NO_LEADER
            && p.leader_epoch == leader_epoch
            && p.partition_epoch == partition_epoch
            && isr.contains(&leader)
            && distinct
            && isr.iter().all(|r| p.replicas.contains(r))
            && isr.iter().all(|r| p.isr.contains(r) || self.is_live(*r))
    }

    /// Applies an `AlterPartition` when valid; a no-op otherwise.
    pub(super) fn alter_partition(
        &mut self,
        topic_id: &Uuid,
        partition: i32,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        isr: &[i32],
    ) {
        if !self.alter_partition_valid(
            topic_id,
            partition,
            leader,
            leader_epoch,
            partition_epoch,
            isr,
        ) {
            return;
        }
        if let Some(p) = self.partition_mut(topic_id, partition) {
            p.isr = p
                .replicas
                .iter()
                .copied()
                .filter(|r| isr.contains(r))
                .collect();
            p.partition_epoch += 1;
        }
        self.maybe_complete_reassignment(topic_id, partition);
    }

    /// Applies an `ElectPreferredLeader`: the first replica leads if it is
    /// in the ISR, live and not already the leader; a no-op otherwise.
    pub(super) fn elect_preferred(&mut self, topic_id: &Uuid, partition: i32) {
        let Some(p) = self.partition_by_id(topic_id, partition) else {
            return;
        };
        let Some(&preferred) = p.replicas.first() else {
            return;
        };
        if p.leader == preferred || !p.isr.contains(&preferred) || !self.is_live(preferred) {
            return;
        }
        if let Some(p) = self.partition_mut(topic_id, partition) {
            p.leader = preferred;
            p.leader_epoch += 1;
            p.partition_epoch += 1;
        }
    }
}
