//! Replica placement for new partitions, decided while applying
//! `PartitionsPlaced` so every node derives the same replica lists.
//!
//! The automatic placement follows Kafka's
//! `AdminUtils.assignReplicasToBrokers`: brokers are ordered rack by rack
//! (one broker of each rack in turn, racks and brokers ascending), the
//! first replica of partition `p` is broker `(p + start) % n` of that order
//! and the followers are shifted from it by an amount that grows every `n`
//! partitions, skipping brokers whose rack already holds a replica until
//! every rack holds one. Without racks this is exactly Kafka's rack-unaware
//! placement: leaders and followers spread evenly over the brokers. Kafka
//! picks `start` and the first shift at random; here both come from the
//! topic id, so the placement is a pure function of the image and the
//! record (and partitions added later continue the same pattern).
//!
//! A broker without a rack counts as rack `""` (Kafka refuses to place
//! rack-aware when only some brokers have a rack; this keeps it simple and
//! never refuses).
//!
//! Not here: what happens to the placed partitions afterwards (leader
//! elections, ISR changes: `elections.rs`).

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::MetadataImage;
use crate::error::MetadataError;

/// The broker order of Kafka's `getRackAlternatedBrokerList`: the first
/// broker of each rack (racks ascending), then the second of each, and so
/// on; brokers ascending within a rack.
pub(crate) fn rack_alternated(brokers: &[(i32, String)]) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in brokers {
        by_rack.entry(rack.as_str()).or_default().push(*id);
    }
    for ids in by_rack.values_mut() {
        ids.sort_unstable();
    }
    let longest = by_rack.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(brokers.len());
    for i in 0..longest {
        for ids in by_rack.values() {
            if let Some(id) = ids.get(i) {
                out.push(*id);
            }
        }
    }
    out
}

/// Index of the `k`-th follower candidate after `first` with `shift`
/// (Kafka's `replicaIndex`); `n` is at least 2.
fn follower_index(first: usize, shift: usize, k: usize, n: usize) -> usize {
    let step = 1 + (shift + k) % (n - 1);
    (first + step) % n
}

/// Replica lists of partitions `first..first + count` over `brokers`
/// (node id and rack, `""` for none), `rf` replicas each, the start and
/// shift taken from `topic_id`. `rf` must be at most the broker count.
pub(crate) fn assign(
    topic_id: &Uuid,
    brokers: &[(i32, String)],
    first: i32,
    count: i32,
    rf: usize,
) -> Result<Vec<Vec<i32>>, MetadataError> {
    let order = rack_alternated(brokers);
    let n = order.len();
    if rf == 0 || rf > n {
        return Err(MetadataError::Invalid(format!(
            "replication factor: {rf} larger than available brokers: {n}"
        )));
    }
    let rack_of: BTreeMap<i32, &str> = brokers.iter().map(|(id, r)| (*id, r.as_str())).collect();
    let racks = rack_of.values().collect::<BTreeSet<_>>().len();
    let seed = topic_id.as_u128();
    let start = (seed % n as u128) as usize;
    let mut shift = ((seed >> 64) % n as u128) as usize;
    let mut out = Vec::with_capacity(count.max(0) as usize);
    for p in first..first.saturating_add(count) {
        let p = p as usize;
        if p > 0 && p.is_multiple_of(n) {
            shift += 1;
        }
        let lead = (p + start) % n;
        let mut replicas = vec![order[lead]];
        let mut used_racks = BTreeSet::from([rack_of.get(&order[lead]).copied().unwrap_or("")]);
        let mut k = 0;
        while replicas.len() < rf {
            // Every candidate comes up within n - 1 steps, so 2n bounds the
            // search; running out means a bug, reported rather than looped.
            if k > 2 * n {
                return Err(MetadataError::Invalid(format!(
                    "cannot place partition {p} with {rf} replicas"
                )));
            }
            let b = order[follower_index(lead, shift * racks, k, n)];
            let rack = rack_of.get(&b).copied().unwrap_or("");
            let rack_ok = !used_racks.contains(rack) || used_racks.len() == racks;
            if rack_ok && !replicas.contains(&b) {
                replicas.push(b);
                used_racks.insert(rack);
            }
            k += 1;
        }
        out.push(replicas);
    }
    Ok(out)
}

impl MetadataImage {
    /// Replica lists for `count` new partitions starting at `first`: the
    /// given assignments (registered brokers, `rf` distinct each) or
    /// [`assign`] over the live brokers (`fallback` when none is
    /// registered). Deterministic in the image, so every node agrees.
    pub(super) fn place(
        &self,
        topic_id: &Uuid,
        first: i32,
        count: i32,
        rf: i16,
        assignments: &[Vec<i32>],
        fallback: i32,
    ) -> Result<Vec<Vec<i32>>, MetadataError> {
        if count < 1 || first < 0 || rf < 1 {
            return Err(MetadataError::Invalid(format!(
                "cannot place {count} partitions from {first} with {rf} replicas"
            )));
        }
        if !assignments.is_empty() {
            if assignments.len() != count as usize {
                return Err(MetadataError::Invalid(format!(
                    "{} assignments for {count} partitions",
                    assignments.len()
                )));
            }
            for (i, replicas) in assignments.iter().enumerate() {
                let mut distinct = replicas.clone();
                distinct.sort_unstable();
                distinct.dedup();
                if replicas.len() != rf as usize || distinct.len() != replicas.len() {
                    return Err(MetadataError::Invalid(format!(
                        "partition {} needs {rf} distinct replicas",
                        first + i as i32
                    )));
                }
                if let Some(b) = replicas.iter().find(|b| !self.brokers.contains_key(b)) {
                    return Err(MetadataError::Invalid(format!(
                        "broker {b} of partition {} does not exist",
                        first + i as i32
                    )));
                }
                if !replicas.iter().any(|b| self.is_live(*b)) {
                    return Err(MetadataError::Invalid(format!(
                        "all brokers of partition {} are fenced",
                        first + i as i32
                    )));
                }
            }
            return Ok(assignments.to_vec());
        }
        let mut live: Vec<(i32, String)> = self
            .brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| (b.node_id, b.rack.clone().unwrap_or_default()))
            .collect();
        if live.is_empty() {
            live.push((fallback, String::new()));
        }
        assign(topic_id, &live, first, count, rf as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn racked(racks: &[(i32, &str)]) -> Vec<(i32, String)> {
        racks.iter().map(|(b, r)| (*b, r.to_string())).collect()
    }

    /// Kafka's `AdminRackAwareTest` vectors (start index and shift 0: the
    /// nil topic id).
    #[test]
    fn matches_kafka_rack_aware_placement() {
        let brokers = racked(&[
            (0, "rack1"),
            (1, "rack3"),
            (2, "rack3"),
            (3, "rack2"),
            (4, "rack2"),
            (5, "rack1"),
        ]);
        assert_eq!(rack_alternated(&brokers), vec![0, 3, 1, 5, 4, 2]);
        assert_eq!(rack_alternated(&brokers[..5]), vec![0, 3, 1, 4, 2]);
        let placed = assign(&Uuid::nil(), &brokers, 0, 7, 3).expect("placed");
        let want: Vec<Vec<i32>> = vec![
            vec![0, 3, 1],
            vec![3, 1, 5],
            vec![1, 5, 4],
            vec![5, 4, 2],
            vec![4, 2, 0],
            vec![2, 0, 3],
            vec![0, 4, 2],
        ];
        assert_eq!(placed, want);
    }

    /// The table in Kafka's `assignReplicasToBrokers` doc comment: five
    /// brokers without racks, ten partitions, three replicas.
    #[test]
    fn matches_kafka_rack_unaware_placement() {
        let brokers = racked(&[(0, ""), (1, ""), (2, ""), (3, ""), (4, "")]);
        let placed = assign(&Uuid::nil(), &brokers, 0, 10, 3).expect("placed");
        assert_eq!(placed[0], vec![0, 1, 2]);
        assert_eq!(placed[4], vec![4, 0, 1]);
        assert_eq!(placed[5], vec![0, 2, 3]);
        assert_eq!(placed[9], vec![4, 1, 2]);
        assert!(assign(&Uuid::nil(), &brokers, 0, 1, 6).is_err());
    }
}
