//! Which partitions of its internal topic a coordinator has loaded, at
//! which leader epoch: the bookkeeping behind "coordinators move with
//! leadership", shared by the group and the transaction coordinator.
//!
//! A coordinator serves the keys of a partition only while it leads that
//! partition and has replayed it. Leadership arrives as
//! (partition, leader?, leader epoch) notifications; each partition here
//! is absent (NOT_COORDINATOR), loading at an epoch
//! (COORDINATOR_LOAD_IN_PROGRESS) or loaded at an epoch (served). A load
//! is begun, replayed without the coordinator's lock, and finished only if
//! no newer notification superseded it, as Kafka's coordinators load a
//! partition per leader epoch.
//!
//! Not here: the replay itself (`crate::internal_topic`), what a
//! coordinator keeps per partition, or error codes (the coordinators turn
//! [`LoadStatus`] into their own error enums).

use std::collections::BTreeMap;

/// Where one partition stands on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStatus {
    /// Not led here (or not yet told so): NOT_COORDINATOR.
    NotHere,
    /// Being replayed: COORDINATOR_LOAD_IN_PROGRESS.
    Loading,
    /// Replayed; its keys are served here.
    Loaded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    epoch: i32,
    loaded: bool,
}

/// The partitions a coordinator loaded or is loading, by index (pure
/// bookkeeping; the caller holds its lock around every call).
#[derive(Debug, Default)]
pub struct PartitionLoads {
    slots: BTreeMap<i32, Slot>,
}

impl PartitionLoads {
    /// Where `partition` stands.
    pub fn status(&self, partition: i32) -> LoadStatus {
        match self.slots.get(&partition) {
            None => LoadStatus::NotHere,
            Some(s) if s.loaded => LoadStatus::Loaded,
            Some(_) => LoadStatus::Loading,
        }
    }

    /// This node became (or still is) leader of `partition` at `epoch`:
    /// true when the caller must replay it now (it is marked loading).
    /// False when it is loaded or loading at this epoch or a newer one
    /// (a repeated or stale notification).
    pub fn begin(&mut self, partition: i32, epoch: i32) -> bool {
        if self.slots.get(&partition).is_some_and(|s| s.epoch >= epoch) {
            return false;
        }
        self.slots.insert(
            partition,
            Slot {
                epoch,
                loaded: false,
            },
        );
        true
    }

    /// The replay begun at `epoch` ended: true (and the partition is
    /// loaded) when nothing superseded it since; false when the partition
    /// was unloaded or a newer epoch's load began (the replay is dropped).
    pub fn finish(&mut self, partition: i32, epoch: i32) -> bool {
        match self.slots.get_mut(&partition) {
            Some(s) if s.epoch == epoch && !s.loaded => {
                s.loaded = true;
                true
            }
            _ => false,
        }
    }

    /// This node no longer leads `partition` (told at `epoch`): true when
    /// it was loaded or loading at that epoch or an older one (the caller
    /// drops its state); a notification older than the load is ignored.
    pub fn unload(&mut self, partition: i32, epoch: i32) -> bool {
        if self.slots.get(&partition).is_some_and(|s| s.epoch <= epoch) {
            self.slots.remove(&partition);
            return true;
        }
        false
    }

    /// A failed replay: the partition is dropped when still loading at
    /// `epoch`, so a later notification retries.
    pub fn abandon(&mut self, partition: i32, epoch: i32) {
        if self
            .slots
            .get(&partition)
            .is_some_and(|s| s.epoch == epoch && !s.loaded)
        {
            self.slots.remove(&partition);
        }
    }

    /// Every partition loaded or loading, with its epoch.
    pub fn partitions(&self) -> Vec<(i32, i32)> {
        self.slots.iter().map(|(p, s)| (*p, s.epoch)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_served_only_between_a_finished_load_and_its_unload() {
        let mut loads = PartitionLoads::default();
        assert_eq!(loads.status(3), LoadStatus::NotHere);
        assert!(loads.begin(3, 1));
        assert_eq!(loads.status(3), LoadStatus::Loading);
        assert!(!loads.begin(3, 1), "the same epoch does not reload");
        assert!(loads.finish(3, 1));
        assert_eq!(loads.status(3), LoadStatus::Loaded);
        assert!(!loads.begin(3, 1), "loaded at this epoch: nothing to do");
        assert!(!loads.begin(3, 0), "an older epoch is stale");
        assert_eq!(loads.partitions(), vec![(3, 1)]);
        assert!(!loads.unload(3, 0), "an unload older than the load");
        assert!(loads.unload(3, 1));
        assert_eq!(loads.status(3), LoadStatus::NotHere);
        assert!(!loads.unload(3, 1), "already unloaded");
    }

    #[test]
    fn a_newer_epoch_reloads_and_supersedes_a_running_load() {
        let mut loads = PartitionLoads::default();
        assert!(loads.begin(0, 1));
        assert!(loads.begin(0, 2), "a newer epoch starts over");
        assert!(!loads.finish(0, 1), "the older replay is dropped");
        assert_eq!(loads.status(0), LoadStatus::Loading);
        assert!(loads.finish(0, 2));
        assert!(
            loads.begin(0, 3),
            "a loaded partition reloads at a newer epoch"
        );
        assert_eq!(loads.status(0), LoadStatus::Loading);
        assert!(loads.unload(0, 3));
        assert!(!loads.finish(0, 3), "unloaded while loading");
        assert_eq!(loads.status(0), LoadStatus::NotHere);
        assert!(loads.begin(0, 4));
        loads.abandon(0, 4);
        assert_eq!(
            loads.status(0),
            LoadStatus::NotHere,
            "a failed load retries"
        );
    }
}
