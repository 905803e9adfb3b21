//! Idempotent-producer state: per producer id, its epoch and the last five
//! appended batches' sequence ranges.
//!
//! Follows Kafka's rules: a batch repeating one of the last five is a
//! duplicate (answered with its original offset); within an epoch, sequences
//! must continue without gaps; a new epoch starts at sequence 0; an older
//! epoch is fenced. A producer the partition has never seen may start at any
//! sequence (its earlier records may have been deleted by retention).
//!
//! The state is rebuilt from batch headers when a log opens. It does not know
//! about transactions yet.

use std::collections::{HashMap, VecDeque};

use crate::batch::BatchHeader;
use crate::error::{LogError, Result};

/// How many recent batches per producer are remembered for duplicate
/// detection (Kafka's `max.in.flight.requests.per.connection` limit for
/// idempotence).
pub const RETAINED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Default, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// Sequence and epoch state of every idempotent producer of one partition.
#[derive(Debug, Default, Clone)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (last == i32::MAX && next == 0)
}

impl ProducerStateManager {
    /// Checks a batch (before offsets are assigned). `Ok(())` means it may be
    /// appended; a duplicate yields [`LogError::DuplicateSequence`].
    pub fn check(&self, h: &BatchHeader) -> Result<()> {
        if !h.has_producer_id() || h.is_control() {
            return Ok(());
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Ok(());
        };
        if h.producer_epoch < entry.epoch {
            return Err(LogError::ProducerFenced {
                producer_id: h.producer_id,
                current: entry.epoch,
                got: h.producer_epoch,
            });
        }
        if h.producer_epoch > entry.epoch {
            if h.base_sequence != 0 {
                return Err(LogError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    expected: 0,
                    got: h.base_sequence,
                });
            }
            return Ok(());
        }
        let last_seq = h.last_sequence();
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
        {
            return Err(LogError::DuplicateSequence {
                producer_id: h.producer_id,
                base_offset: dup.base_offset,
            });
        }
        match entry.batches.back() {
            Some(last) if !in_sequence(last.last_seq, h.base_sequence) => {
                Err(LogError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    expected: last.last_seq.wrapping_add(1),
                    got: h.base_sequence,
                })
            }
            _ => Ok(()),
        }
    }

    /// Records an appended batch (its header carries the assigned offset).
    pub fn update(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() || h.is_control() {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == RETAINED_BATCHES {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            base_offset: h.base_offset,
        });
    }

    /// Number of producers tracked.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// True when no producer is tracked.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::make_batch;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, offset: i64) -> BatchHeader {
        let b = make_batch(count, b"r", 1, pid, seq);
        let mut h = BatchHeader::validate(&b).expect("valid");
        h.producer_epoch = epoch;
        h.base_offset = offset;
        h
    }

    #[test]
    fn sequences_duplicates_gaps_and_epochs() {
        let mut s = ProducerStateManager::default();
        let a = header(1, 0, 0, 3, 0);
        s.check(&a).expect("first batch accepted");
        s.update(&a);
        // Exact repeat is a duplicate with the original offset.
        assert!(matches!(
            s.check(&header(1, 0, 0, 3, 99)),
            Err(LogError::DuplicateSequence { base_offset: 0, .. })
        ));
        // Gap.
        assert!(matches!(
            s.check(&header(1, 0, 5, 1, 0)),
            Err(LogError::OutOfOrderSequence {
                expected: 3,
                got: 5,
                ..
            })
        ));
        let b = header(1, 0, 3, 2, 3);
        s.check(&b).expect("next in sequence");
        s.update(&b);
        // New epoch must start at 0.
        assert!(s.check(&header(1, 1, 5, 1, 0)).is_err());
        let c = header(1, 1, 0, 1, 5);
        s.check(&c).expect("new epoch at 0");
        s.update(&c);
        // Old epoch fenced.
        assert!(matches!(
            s.check(&header(1, 0, 5, 1, 0)),
            Err(LogError::ProducerFenced { .. })
        ));
        // Unknown producer may start anywhere.
        s.check(&header(2, 0, 17, 1, 0)).expect("unknown producer");
    }

    #[test]
    fn only_last_five_batches_are_duplicates() {
        let mut s = ProducerStateManager::default();
        for i in 0..7 {
            let h = header(1, 0, i, 1, i64::from(i));
            s.check(&h).expect("in sequence");
            s.update(&h);
        }
        assert!(matches!(
            s.check(&header(1, 0, 6, 1, 0)),
            Err(LogError::DuplicateSequence { base_offset: 6, .. })
        ));
        assert!(matches!(
            s.check(&header(1, 0, 2, 1, 0)),
            Err(LogError::DuplicateSequence { base_offset: 2, .. })
        ));
        // Sequence 1 fell out of the window: it is now out of order.
        assert!(matches!(
            s.check(&header(1, 0, 1, 1, 0)),
            Err(LogError::OutOfOrderSequence { .. })
        ));
    }
}
