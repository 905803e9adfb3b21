//! The transaction state machine of one transactional id, as pure
//! functions of (current metadata, request, time): no I/O, so every
//! transition is unit-tested with explicit time.
//!
//! ```text
//!            AddPartitions/AddOffsets          EndTxn(commit)
//!   Empty ─────────────────────────▶ Ongoing ───────────────▶ PrepareCommit ──markers──▶ CompleteCommit
//!   CompleteCommit/CompleteAbort ──▶    │      EndTxn(abort), timeout,
//!                                       └────── new instance (epoch bump) ─▶ PrepareAbort ──markers──▶ CompleteAbort
//! ```
//!
//! Fencing follows Kafka: every InitProducerId bumps the epoch (a new
//! producer id once the epoch would overflow); requests with another epoch
//! get PRODUCER_FENCED; an open transaction found by InitProducerId or
//! expired by `transaction.timeout.ms` is aborted with the epoch bumped, so
//! the old instance's later requests and batches are fenced too. KIP-360: an
//! InitProducerId naming the current (or just previous) producer id and
//! epoch recovers the same id instead of failing.
//!
//! Not here: persistence (`__transaction_state` records, [`super::records`]),
//! writing markers, timers ([`super::TxnCoordinator`]).

use std::collections::BTreeSet;

/// A transaction's state; the numbers are Kafka's `TransactionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    /// No transaction since the producer id was assigned.
    Empty,
    /// Partitions added, not ended.
    Ongoing,
    /// Commit decided; markers being written.
    PrepareCommit,
    /// Abort decided; markers being written.
    PrepareAbort,
    /// Committed, markers written.
    CompleteCommit,
    /// Aborted, markers written.
    CompleteAbort,
    /// Expired id (never produced here; read for compatibility).
    Dead,
    /// Aborting to fence an old instance (read for compatibility).
    PrepareEpochFence,
}

impl TxnState {
    /// Every state, in status-byte order.
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// Kafka's status byte.
    pub fn code(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    /// The state for a status byte.
    pub fn from_code(code: i8) -> Option<Self> {
        Some(match code {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name DescribeTransactions / ListTransactions use.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// True while markers are being written.
    pub fn is_prepare(self) -> bool {
        matches!(
            self,
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
        )
    }
}

/// Why a transactional request is refused: defined next to the one
/// mapping to Kafka codes, re-exported here where the transitions return it.
pub use crate::error::TxnError;

/// A transactional id's metadata (what `__transaction_state` stores, plus
/// the previous epoch kept in memory for KIP-360 retries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The transactional id.
    pub transactional_id: String,
    /// Current producer id.
    pub producer_id: i64,
    /// Current epoch.
    pub epoch: i16,
    /// Epoch before the last bump (-1 none); not persisted.
    pub last_epoch: i16,
    /// `transaction.timeout.ms` of the current producer.
    pub timeout_ms: i32,
    /// State.
    pub state: TxnState,
    /// Partitions in the current transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the current transaction started (ms; -1 none).
    pub start_ms: i64,
    /// Last change (ms).
    pub update_ms: i64,
}

/// What InitProducerId must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitDecision {
    /// Persist this metadata and answer with its id and epoch.
    Ready(TxnMetadata),
    /// Allocate a new producer id, then call [`with_new_producer_id`].
    NeedProducerId,
    /// An open transaction is being aborted first (persist this metadata,
    /// write abort markers); answer CONCURRENT_TRANSACTIONS so the client
    /// retries.
    AbortFirst(TxnMetadata),
}

fn bump(meta: &TxnMetadata) -> Option<(i16, i16)> {
    // Kafka keeps one epoch in reserve: i16::MAX - 1 is the last usable one.
    (meta.epoch < i16::MAX - 1).then(|| (meta.epoch.saturating_add(1), meta.epoch))
}

/// InitProducerId with a transactional id. `expected` is the producer id
/// and epoch the client already has (KIP-360; None for a new instance).
pub fn init_producer_id(
    current: Option<&TxnMetadata>,
    timeout_ms: i32,
    max_timeout_ms: i32,
    expected: Option<(i64, i16)>,
    now_ms: i64,
) -> Result<InitDecision, TxnError> {
    if timeout_ms <= 0 || timeout_ms > max_timeout_ms {
        return Err(TxnError::InvalidTransactionTimeout);
    }
    let Some(meta) = current else {
        return Ok(InitDecision::NeedProducerId);
    };
    if meta.state.is_prepare() {
        return Err(TxnError::ConcurrentTransactions);
    }
    if let Some((pid, epoch)) = expected {
        if pid != meta.producer_id {
            return Err(TxnError::ProducerFenced);
        }
        let retry = meta.last_epoch >= 0 && epoch == meta.last_epoch;
        if epoch != meta.epoch && !retry {
            return Err(TxnError::ProducerFenced);
        }
        if retry && meta.state != TxnState::Ongoing {
            // The bump this request asked for already happened.
            return Ok(InitDecision::Ready(meta.clone()));
        }
    }
    if meta.state == TxnState::Ongoing {
        return Ok(InitDecision::AbortFirst(fence_abort(meta, now_ms)));
    }
    let Some((epoch, last)) = bump(meta) else {
        return Ok(InitDecision::NeedProducerId);
    };
    Ok(InitDecision::Ready(TxnMetadata {
        epoch,
        last_epoch: last,
        timeout_ms,
        state: TxnState::Empty,
        partitions: BTreeSet::new(),
        start_ms: -1,
        update_ms: now_ms,
        ..meta.clone()
    }))
}

/// The metadata after a new producer id was allocated for `txn_id`.
pub fn with_new_producer_id(
    txn_id: &str,
    producer_id: i64,
    timeout_ms: i32,
    now_ms: i64,
) -> TxnMetadata {
    TxnMetadata {
        transactional_id: txn_id.to_string(),
        producer_id,
        epoch: 0,
        last_epoch: -1,
        timeout_ms,
        state: TxnState::Empty,
        partitions: BTreeSet::new(),
        start_ms: -1,
        update_ms: now_ms,
    }
}

fn check_producer(meta: &TxnMetadata, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
    if producer_id != meta.producer_id {
        return Err(TxnError::InvalidProducerIdMapping);
    }
    if epoch != meta.epoch {
        return Err(TxnError::ProducerFenced);
    }
    Ok(())
}

/// AddPartitionsToTxn / AddOffsetsToTxn: the metadata with `partitions`
/// added (None when nothing changes).
pub fn add_partitions(
    meta: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    partitions: &[(String, i32)],
    now_ms: i64,
) -> Result<Option<TxnMetadata>, TxnError> {
    check_producer(meta, producer_id, epoch)?;
    if meta.state.is_prepare() {
        return Err(TxnError::ConcurrentTransactions);
    }
    if meta.state == TxnState::Dead {
        return Err(TxnError::InvalidTxnState);
    }
    if meta.state == TxnState::Ongoing && partitions.iter().all(|p| meta.partitions.contains(p)) {
        return Ok(None);
    }
    let mut next = meta.clone();
    if meta.state != TxnState::Ongoing {
        next.partitions.clear();
        next.start_ms = now_ms;
    }
    next.state = TxnState::Ongoing;
    next.partitions.extend(partitions.iter().cloned());
    next.update_ms = now_ms;
    Ok(Some(next))
}

/// KIP-890 verification: is `partition` part of the open transaction of
/// this producer?
pub fn verify_partition(
    meta: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    partition: &(String, i32),
) -> Result<(), TxnError> {
    check_producer(meta, producer_id, epoch)?;
    if meta.state == TxnState::Ongoing && meta.partitions.contains(partition) {
        Ok(())
    } else {
        Err(TxnError::InvalidTxnState)
    }
}

/// What EndTxn must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndDecision {
    /// Persist this (PrepareCommit/PrepareAbort) and write the markers.
    Prepare(TxnMetadata),
    /// A retry of an EndTxn already completed: answer success.
    AlreadyDone,
}

/// EndTxn.
pub fn end_txn(
    meta: &TxnMetadata,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    now_ms: i64,
) -> Result<EndDecision, TxnError> {
    check_producer(meta, producer_id, epoch)?;
    match (meta.state, commit) {
        (TxnState::Ongoing, _) => Ok(EndDecision::Prepare(TxnMetadata {
            state: if commit {
                TxnState::PrepareCommit
            } else {
                TxnState::PrepareAbort
            },
            update_ms: now_ms,
            ..meta.clone()
        })),
        (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
            Ok(EndDecision::AlreadyDone)
        }
        (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
            Err(TxnError::ConcurrentTransactions)
        }
        _ => Err(TxnError::InvalidTxnState),
    }
}

/// Aborts an open transaction with the epoch bumped, fencing the instance
/// that opened it (a new instance's InitProducerId, or a timeout).
pub fn fence_abort(meta: &TxnMetadata, now_ms: i64) -> TxnMetadata {
    let (epoch, last) = bump(meta).unwrap_or((meta.epoch, meta.last_epoch));
    TxnMetadata {
        epoch,
        last_epoch: last,
        state: TxnState::PrepareAbort,
        update_ms: now_ms,
        ..meta.clone()
    }
}

/// The abort of an open transaction past its timeout, if it is due.
pub fn expire(meta: &TxnMetadata, now_ms: i64) -> Option<TxnMetadata> {
    (meta.state == TxnState::Ongoing
        && meta.start_ms >= 0
        && now_ms >= meta.start_ms.saturating_add(i64::from(meta.timeout_ms)))
    .then(|| fence_abort(meta, now_ms))
}

/// After the markers of a Prepare state are written.
pub fn complete(meta: &TxnMetadata, now_ms: i64) -> TxnMetadata {
    TxnMetadata {
        state: match meta.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            _ => TxnState::CompleteAbort,
        },
        partitions: BTreeSet::new(),
        update_ms: now_ms,
        ..meta.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i32 = 900_000;

    fn fresh() -> TxnMetadata {
        with_new_producer_id("t", 7, 60_000, 0)
    }

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    #[test]
    fn a_new_id_needs_a_producer_id_and_starts_empty() {
        assert_eq!(
            init_producer_id(None, 60_000, MAX, None, 0),
            Ok(InitDecision::NeedProducerId)
        );
        let m = fresh();
        assert_eq!((m.producer_id, m.epoch, m.state), (7, 0, TxnState::Empty));
    }

    #[test]
    fn timeouts_outside_the_range_are_refused() {
        for t in [0, -1, MAX + 1] {
            assert_eq!(
                init_producer_id(None, t, MAX, None, 0),
                Err(TxnError::InvalidTransactionTimeout)
            );
        }
    }

    #[test]
    fn commit_then_abort_cycle() {
        let m = fresh();
        let m = add_partitions(&m, 7, 0, &[tp("a", 0), tp("a", 1)], 10)
            .expect("add")
            .expect("changed");
        assert_eq!(
            (m.state, m.start_ms, m.partitions.len()),
            (TxnState::Ongoing, 10, 2)
        );
        // Adding what is there changes nothing.
        assert_eq!(add_partitions(&m, 7, 0, &[tp("a", 0)], 11), Ok(None));
        let m = add_partitions(&m, 7, 0, &[tp("b", 0)], 12)
            .expect("add")
            .expect("changed");
        assert_eq!((m.start_ms, m.partitions.len()), (10, 3), "start kept");
        let EndDecision::Prepare(p) = end_txn(&m, 7, 0, true, 20).expect("end") else {
            panic!("expected prepare");
        };
        assert_eq!(p.state, TxnState::PrepareCommit);
        // While markers are written, everything else waits.
        assert_eq!(
            add_partitions(&p, 7, 0, &[tp("a", 0)], 21),
            Err(TxnError::ConcurrentTransactions)
        );
        assert_eq!(
            end_txn(&p, 7, 0, true, 21),
            Err(TxnError::ConcurrentTransactions)
        );
        assert_eq!(end_txn(&p, 7, 0, false, 21), Err(TxnError::InvalidTxnState));
        assert_eq!(
            init_producer_id(Some(&p), 60_000, MAX, None, 21),
            Err(TxnError::ConcurrentTransactions)
        );
        let c = complete(&p, 22);
        assert_eq!((c.state, c.partitions.len()), (TxnState::CompleteCommit, 0));
        // A retried EndTxn(commit) succeeds; an abort now is invalid.
        assert_eq!(end_txn(&c, 7, 0, true, 23), Ok(EndDecision::AlreadyDone));
        assert_eq!(end_txn(&c, 7, 0, false, 23), Err(TxnError::InvalidTxnState));
        // The next transaction starts over.
        let n = add_partitions(&c, 7, 0, &[tp("z", 0)], 30)
            .expect("add")
            .expect("changed");
        assert_eq!(
            (n.state, n.start_ms, n.partitions.len()),
            (TxnState::Ongoing, 30, 1)
        );
        let EndDecision::Prepare(a) = end_txn(&n, 7, 0, false, 31).expect("end") else {
            panic!("expected prepare");
        };
        assert_eq!(a.state, TxnState::PrepareAbort);
        assert_eq!(complete(&a, 32).state, TxnState::CompleteAbort);
        // Ending with no transaction open is invalid.
        assert_eq!(
            end_txn(&fresh(), 7, 0, true, 0),
            Err(TxnError::InvalidTxnState)
        );
    }

    #[test]
    fn wrong_producer_or_epoch() {
        let m = fresh();
        assert_eq!(
            add_partitions(&m, 8, 0, &[tp("a", 0)], 0),
            Err(TxnError::InvalidProducerIdMapping)
        );
        assert_eq!(
            add_partitions(&m, 7, 1, &[tp("a", 0)], 0),
            Err(TxnError::ProducerFenced)
        );
        assert_eq!(end_txn(&m, 7, 3, true, 0), Err(TxnError::ProducerFenced));
    }

    #[test]
    fn a_new_instance_fences_the_old_one_and_aborts_its_transaction() {
        let m = add_partitions(&fresh(), 7, 0, &[tp("a", 0)], 10)
            .expect("add")
            .expect("changed");
        let InitDecision::AbortFirst(a) =
            init_producer_id(Some(&m), 60_000, MAX, None, 20).expect("init")
        else {
            panic!("expected abort first");
        };
        assert_eq!(
            (a.state, a.epoch, a.last_epoch),
            (TxnState::PrepareAbort, 1, 0)
        );
        assert_eq!(a.partitions, m.partitions, "markers go to every partition");
        // The old instance is fenced from now on.
        assert_eq!(end_txn(&a, 7, 0, true, 21), Err(TxnError::ProducerFenced));
        let done = complete(&a, 22);
        let InitDecision::Ready(r) =
            init_producer_id(Some(&done), 60_000, MAX, None, 23).expect("init")
        else {
            panic!("expected ready");
        };
        assert_eq!((r.producer_id, r.epoch, r.state), (7, 2, TxnState::Empty));
        assert_eq!(
            add_partitions(&r, 7, 1, &[tp("a", 0)], 24),
            Err(TxnError::ProducerFenced)
        );
    }

    #[test]
    fn kip_360_recovery_with_the_current_or_previous_epoch() {
        let m = fresh();
        let InitDecision::Ready(r) =
            init_producer_id(Some(&m), 60_000, MAX, Some((7, 0)), 1).expect("init")
        else {
            panic!("expected ready");
        };
        assert_eq!((r.epoch, r.last_epoch), (1, 0));
        // A retry with the epoch it had before gets the same answer.
        assert_eq!(
            init_producer_id(Some(&r), 60_000, MAX, Some((7, 0)), 2),
            Ok(InitDecision::Ready(r.clone()))
        );
        // Someone else's id or a stale epoch is fenced.
        assert_eq!(
            init_producer_id(Some(&r), 60_000, MAX, Some((9, 1)), 2),
            Err(TxnError::ProducerFenced)
        );
        let InitDecision::Ready(r2) =
            init_producer_id(Some(&r), 60_000, MAX, Some((7, 1)), 3).expect("init")
        else {
            panic!("expected ready");
        };
        assert_eq!(r2.epoch, 2);
        assert_eq!(
            init_producer_id(Some(&r2), 60_000, MAX, Some((7, 0)), 4),
            Err(TxnError::ProducerFenced)
        );
    }

    #[test]
    fn epoch_exhaustion_asks_for_a_new_producer_id() {
        let mut m = fresh();
        m.epoch = i16::MAX - 1;
        assert_eq!(
            init_producer_id(Some(&m), 60_000, MAX, None, 0),
            Ok(InitDecision::NeedProducerId)
        );
    }

    #[test]
    fn timeout_aborts_with_a_bumped_epoch_only_when_due() {
        let m = add_partitions(&fresh(), 7, 0, &[tp("a", 0)], 1_000)
            .expect("add")
            .expect("changed");
        assert_eq!(expire(&m, 60_999), None);
        let a = expire(&m, 61_000).expect("due");
        assert_eq!((a.state, a.epoch), (TxnState::PrepareAbort, 1));
        assert_eq!(expire(&fresh(), i64::MAX), None, "nothing open");
        assert_eq!(expire(&a, i64::MAX), None, "already aborting");
    }

    #[test]
    fn verification_accepts_only_added_partitions_of_the_open_transaction() {
        let m = add_partitions(&fresh(), 7, 0, &[tp("a", 0)], 1)
            .expect("add")
            .expect("changed");
        assert_eq!(verify_partition(&m, 7, 0, &tp("a", 0)), Ok(()));
        assert_eq!(
            verify_partition(&m, 7, 0, &tp("a", 1)),
            Err(TxnError::InvalidTxnState)
        );
        assert_eq!(
            verify_partition(&m, 7, 1, &tp("a", 0)),
            Err(TxnError::ProducerFenced)
        );
        let done = complete(
            &match end_txn(&m, 7, 0, true, 2).expect("end") {
                EndDecision::Prepare(p) => p,
                EndDecision::AlreadyDone => panic!("expected prepare"),
            },
            3,
        );
        assert_eq!(
            verify_partition(&done, 7, 0, &tp("a", 0)),
            Err(TxnError::InvalidTxnState)
        );
    }

    #[test]
    fn status_codes_round_trip() {
        for c in 0..8 {
            let s = TxnState::from_code(c).expect("known");
            assert_eq!(s.code(), c);
        }
        assert_eq!(TxnState::from_code(8), None);
    }
}
