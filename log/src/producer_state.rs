//! Idempotent-producer state: per producer id, its epoch and the last five
//! appended batches' sequence ranges.
//!
//! Follows Kafka's rules: a batch repeating one of the last five is a
//! duplicate (answered with its original offset); within an epoch, sequences
//! must continue without gaps; a new epoch starts at sequence 0; an older
//! epoch is fenced. A producer the partition has never seen may start at any
//! sequence (its earlier records may have been deleted by retention).
//!
//! The state is snapshotted when a segment rolls ([`ProducerStateManager::encode`],
//! written by the log as `<offset>.snapshot`) so that opening a log replays
//! only the batches after the newest snapshot, not the whole log.
//!
//! Transactions: the first offset of each producer's open transaction is
//! tracked here (the smallest one bounds the last stable offset), and a
//! control batch (commit/abort marker) ends it, adopting the marker's epoch
//! (a coordinator that bumped the epoch to abort fences the old producer).
//!
//! ```text
//! snapshot = magic:u32 ("MSPS") version:u16 (=2) count:u32 entry* crc32c(all before):u32
//! entry    = producer_id:i64 epoch:i16 txn_first_offset:i64 (-1: none)
//!            last_timestamp:i64 coordinator_epoch:i32
//!            n:u8 (first_seq:i32 last_seq:i32 base_offset:i64)*n
//! ```
//!
//! Version 1 snapshots (written before transactions existed) lack the three
//! transaction fields and are still read.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::batch::BatchHeader;
use crate::error::{LogError, Result};

/// How many recent batches per producer are remembered for duplicate
/// detection (Kafka's `max.in.flight.requests.per.connection` limit for
/// idempotence).
pub const RETAINED_BATCHES: usize = 5;

const SNAPSHOT_MAGIC: &[u8; 4] = b"MSPS";

#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
    /// First offset of the open transaction in this partition.
    txn_first_offset: Option<i64>,
    /// Max timestamp of the producer's last batch.
    last_timestamp: i64,
    /// Coordinator epoch of the last marker (-1: none yet).
    coordinator_epoch: i32,
}

impl Default for ProducerEntry {
    fn default() -> Self {
        ProducerEntry {
            epoch: 0,
            batches: VecDeque::new(),
            txn_first_offset: None,
            last_timestamp: -1,
            coordinator_epoch: -1,
        }
    }
}

/// One producer as DescribeProducers shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerInfo {
    /// Producer id.
    pub producer_id: i64,
    /// Current epoch.
    pub epoch: i16,
    /// Last sequence appended (-1 none).
    pub last_sequence: i32,
    /// Max timestamp of its last batch (-1 none).
    pub last_timestamp: i64,
    /// Coordinator epoch of the last marker (-1 none).
    pub coordinator_epoch: i32,
    /// First offset of its open transaction (-1 none).
    pub current_txn_start_offset: i64,
}

/// Sequence and epoch state of every idempotent producer of one partition.
#[derive(Debug, Default, Clone)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions: first offset -> producer id.
    ongoing: BTreeMap<i64, i64>,
    /// KIP-890 verification guards: producer id -> token handed out before
    /// asking the coordinator; a marker removes it, so an append carrying a
    /// stale token cannot reopen an ended transaction. Not persisted.
    verifications: HashMap<i64, (u64, std::time::Instant)>,
    next_token: u64,
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (last == i32::MAX && next == 0)
}

impl ProducerStateManager {
    /// Checks a batch (before offsets are assigned). `Ok(())` means it may be
    /// appended; a duplicate yields [`LogError::DuplicateSequence`].
    pub fn check(&self, h: &BatchHeader) -> Result<()> {
        if h.is_control() {
            // A marker from an older epoch than the producer's is a zombie
            // coordinator's: fenced. Newer epochs are adopted on update.
            return match self.producers.get(&h.producer_id) {
                Some(e) if h.producer_epoch < e.epoch => Err(LogError::ProducerFenced {
                    producer_id: h.producer_id,
                    current: e.epoch,
                    got: h.producer_epoch,
                }),
                _ => Ok(()),
            };
        }
        if !h.has_producer_id() {
            return Ok(());
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Ok(());
        };
        if h.is_transactional()
            && entry.txn_first_offset.is_some()
            && h.producer_epoch > entry.epoch
        {
            // A newer instance cannot write while an older epoch's
            // transaction is still undecided here: its coordinator ends
            // that transaction (with markers) before handing out the epoch.
            return Err(LogError::InvalidTxnState {
                producer_id: h.producer_id,
                reason: "newer epoch while a transaction of an older epoch is open",
            });
        }
        if h.producer_epoch < entry.epoch {
            return Err(LogError::ProducerFenced {
                producer_id: h.producer_id,
                current: entry.epoch,
                got: h.producer_epoch,
            });
        }
        if h.base_sequence < 0 {
            // No sequence (a coordinator's transactional offset commit):
            // only the epoch is checked, as Kafka does for non-client writes.
            return Ok(());
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
        if h.base_sequence >= 0 {
            if entry.batches.len() == RETAINED_BATCHES {
                entry.batches.pop_front();
            }
            entry.batches.push_back(BatchMeta {
                first_seq: h.base_sequence,
                last_seq: h.last_sequence(),
                base_offset: h.base_offset,
            });
        }
        entry.last_timestamp = h.max_timestamp;
        if h.is_transactional() && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(h.base_offset);
            self.ongoing.insert(h.base_offset, h.producer_id);
            self.verifications.remove(&h.producer_id);
        }
    }

    /// Records an appended control batch (its header carries the assigned
    /// offset): ends the producer's open transaction, adopting the marker's
    /// epoch. Returns the first offset of the transaction it ended (None
    /// when the producer had no records in it here).
    pub fn complete_txn(&mut self, h: &BatchHeader, coordinator_epoch: i32) -> Option<i64> {
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch > entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = coordinator_epoch;
        entry.last_timestamp = h.max_timestamp;
        let first = entry.txn_first_offset.take();
        if let Some(f) = first {
            self.ongoing.remove(&f);
        }
        self.verifications.remove(&h.producer_id);
        first
    }

    /// Starts a KIP-890 verification for `producer_id`: None when it already
    /// has an open transaction here (no verification needed), else a token
    /// for [`ProducerStateManager::check_verified`].
    pub fn begin_verification(&mut self, producer_id: i64) -> Option<u64> {
        if self.has_open_txn(producer_id) {
            return None;
        }
        // Concurrent produce requests of one producer share the token: the
        // first append opens the transaction, the others then need none.
        if let Some((t, _)) = self.verifications.get(&producer_id) {
            return Some(*t);
        }
        self.next_token = self.next_token.wrapping_add(1);
        self.verifications
            .insert(producer_id, (self.next_token, std::time::Instant::now()));
        Some(self.next_token)
    }

    /// May this transactional data batch be appended? Yes when its producer
    /// has an open transaction here, or when `token` is the verification
    /// still current for it (no marker since it was handed out).
    pub fn check_verified(&self, h: &BatchHeader, token: Option<u64>) -> Result<()> {
        if !h.is_transactional() || h.is_control() || self.has_open_txn(h.producer_id) {
            return Ok(());
        }
        match (token, self.verifications.get(&h.producer_id)) {
            (Some(t), Some((current, _))) if t == *current => Ok(()),
            _ => Err(LogError::InvalidTxnState {
                producer_id: h.producer_id,
                reason: "the transaction ended before this batch was appended",
            }),
        }
    }

    /// Applies an appended COMMIT or ABORT marker ([`Self::complete_txn`])
    /// with its coordinator epoch; for an ABORT that ended records here, the
    /// aborted-transaction entry to index. Control batches of other types
    /// end nothing.
    pub fn apply_marker(
        &mut self,
        h: &BatchHeader,
        marker: Option<(crate::txn::ControlType, i32)>,
    ) -> Option<crate::txn::AbortedTxn> {
        let (kind, coordinator_epoch) = marker?;
        let lso_before = self.first_unstable_offset();
        let first = self.complete_txn(h, coordinator_epoch)?;
        (kind == crate::txn::ControlType::Abort).then(|| crate::txn::AbortedTxn {
            producer_id: h.producer_id,
            first_offset: first,
            last_offset: h.base_offset,
            last_stable_offset: lso_before.unwrap_or(h.base_offset),
        })
    }

    /// First offset of the oldest open transaction: the last stable offset
    /// cannot pass it.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// Forgets producers idle for `expiration_ms` (by the max timestamp of
    /// their last batch, as Kafka's `producer.id.expiration.ms`) that have
    /// no open transaction. Returns how many were removed.
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        // Verifications that never led to an append (the coordinator said
        // no, or the client went away) are dropped after a while; a real
        // one completes within a request timeout.
        self.verifications
            .retain(|_, (_, at)| at.elapsed() < std::time::Duration::from_secs(900));
        let before = self.producers.len();
        let horizon = now_ms.saturating_sub(expiration_ms);
        self.producers
            .retain(|_, e| e.txn_first_offset.is_some() || e.last_timestamp >= horizon);
        before - self.producers.len()
    }

    /// True when `producer_id` has an open transaction here.
    pub fn has_open_txn(&self, producer_id: i64) -> bool {
        self.producers
            .get(&producer_id)
            .is_some_and(|e| e.txn_first_offset.is_some())
    }

    /// Open transactions as (first offset, producer id), oldest first.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.ongoing.iter().map(|(o, p)| (*o, *p)).collect()
    }

    /// Every producer, for DescribeProducers.
    pub fn describe(&self) -> Vec<ProducerInfo> {
        let mut out: Vec<ProducerInfo> = self
            .producers
            .iter()
            .map(|(id, e)| ProducerInfo {
                producer_id: *id,
                epoch: e.epoch,
                last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
                last_timestamp: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: e.txn_first_offset.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// Serialises the state (see the module docs for the layout).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.producers.len() * 32);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&2u16.to_be_bytes());
        out.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        let mut ids: Vec<_> = self.producers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let e = &self.producers[&id];
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&e.epoch.to_be_bytes());
            out.extend_from_slice(&e.txn_first_offset.unwrap_or(-1).to_be_bytes());
            out.extend_from_slice(&e.last_timestamp.to_be_bytes());
            out.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            out.push(e.batches.len() as u8);
            for b in &e.batches {
                out.extend_from_slice(&b.first_seq.to_be_bytes());
                out.extend_from_slice(&b.last_seq.to_be_bytes());
                out.extend_from_slice(&b.base_offset.to_be_bytes());
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Reads a snapshot written by [`ProducerStateManager::encode`]; any
    /// damage (bad magic, CRC, lengths) is an error and the caller falls
    /// back to replaying the log.
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let bad = |reason: &str| LogError::Corrupt {
            path: String::from("producer snapshot"),
            reason: reason.to_string(),
        };
        if buf.len() < 14 || &buf[0..4] != SNAPSHOT_MAGIC {
            return Err(bad("not a producer-state snapshot"));
        }
        let (body, crc) = buf.split_at(buf.len() - 4);
        if crc32c::crc32c(body) != u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(bad("checksum mismatch"));
        }
        let version = u16::from_be_bytes([body[4], body[5]]);
        if !(1..=2).contains(&version) {
            return Err(bad("unknown snapshot version"));
        }
        let count = u32::from_be_bytes([body[6], body[7], body[8], body[9]]) as usize;
        let mut at = 10usize;
        let mut take = |n: usize| -> Result<&[u8]> {
            let s = body.get(at..at + n).ok_or_else(|| bad("truncated"))?;
            at += n;
            Ok(s)
        };
        let mut producers = HashMap::new();
        let mut ongoing = BTreeMap::new();
        for _ in 0..count {
            let id = i64::from_be_bytes(take(8)?.try_into().map_err(|_| bad("truncated"))?);
            let epoch = i16::from_be_bytes(take(2)?.try_into().map_err(|_| bad("truncated"))?);
            let mut entry = ProducerEntry {
                epoch,
                ..ProducerEntry::default()
            };
            if version >= 2 {
                let first = i64::from_be_bytes(take(8)?.try_into().map_err(|_| bad("truncated"))?);
                entry.txn_first_offset = (first >= 0).then_some(first);
                entry.last_timestamp =
                    i64::from_be_bytes(take(8)?.try_into().map_err(|_| bad("truncated"))?);
                entry.coordinator_epoch =
                    i32::from_be_bytes(take(4)?.try_into().map_err(|_| bad("truncated"))?);
            }
            let n = take(1)?[0] as usize;
            if n > RETAINED_BATCHES {
                return Err(bad("too many batches for a producer"));
            }
            let mut batches = VecDeque::with_capacity(n);
            for _ in 0..n {
                let b = take(16)?;
                batches.push_back(BatchMeta {
                    first_seq: i32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                    last_seq: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    base_offset: i64::from_be_bytes([
                        b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15],
                    ]),
                });
            }
            entry.batches = batches;
            if let Some(f) = entry.txn_first_offset {
                ongoing.insert(f, id);
            }
            producers.insert(id, entry);
        }
        Ok(ProducerStateManager {
            producers,
            ongoing,
            ..ProducerStateManager::default()
        })
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
    fn snapshot_round_trip_and_damage() {
        let mut s = ProducerStateManager::default();
        for (pid, n) in [(1i64, 3), (7, 7)] {
            for i in 0..n {
                s.update(&header(pid, 0, i, 1, i64::from(i)));
            }
        }
        let bytes = s.encode();
        let back = ProducerStateManager::decode(&bytes).expect("decode");
        assert!(matches!(
            back.check(&header(7, 0, 6, 1, 0)),
            Err(LogError::DuplicateSequence { base_offset: 6, .. })
        ));
        back.check(&header(1, 0, 3, 1, 0))
            .expect("continues in sequence");
        for cut in 0..bytes.len() {
            assert!(
                ProducerStateManager::decode(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut flipped = bytes.clone();
        flipped[12] ^= 1;
        assert!(ProducerStateManager::decode(&flipped).is_err());
    }

    #[test]
    fn idle_producers_expire_unless_a_transaction_is_open() {
        let mut s = ProducerStateManager::default();
        let mut idle = header(1, 0, 0, 1, 0);
        idle.max_timestamp = 1_000;
        s.update(&idle);
        let mut open = header(2, 0, 0, 1, 1);
        open.max_timestamp = 1_000;
        open.attributes |= 0x10;
        s.update(&open);
        let mut fresh = header(3, 0, 0, 1, 2);
        fresh.max_timestamp = 9_000;
        s.update(&fresh);
        assert_eq!(s.expire(10_000, 5_000), 1);
        assert!(
            s.check(&header(1, 0, 5, 1, 0)).is_ok(),
            "forgotten: any sequence"
        );
        assert!(s.has_open_txn(2), "open transactions are kept");
        assert_eq!(s.len(), 2);
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
