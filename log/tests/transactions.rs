//! Transactions in the log: the last stable offset follows open
//! transactions, abort markers create aborted-transaction entries that
//! survive reopening (replayed tail and `.txnindex` files), markers from an
//! older epoch are fenced, and compaction never lets an aborted record
//! replace a committed one.

use std::sync::Mutex;

use memorystreamer_log::records::build::{batch, Rec};
use memorystreamer_log::records::{parse_records, records_section};
use memorystreamer_log::txn::marker_batch;
use memorystreamer_log::{
    compact, AbortedTxn, BatchHeader, CompactionConfig, ControlType, Log, LogConfig, LogError,
};

fn rec(key: &str, value: &str) -> Rec {
    Rec {
        key: Some(key.as_bytes().to_vec()),
        value: Some(value.as_bytes().to_vec()),
        timestamp: 1_000,
    }
}

/// A transactional batch of `pid`/`epoch` starting at sequence `seq`.
fn txn_batch(records: &[Rec], pid: i64, epoch: i16, seq: i32) -> Vec<u8> {
    let mut b = batch(records, 0, pid, seq);
    let attrs = i16::from_be_bytes([b[21], b[22]]) | 0x10;
    b[21..23].copy_from_slice(&attrs.to_be_bytes());
    b[51..53].copy_from_slice(&epoch.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn append(log: &mut Log, mut b: Vec<u8>) -> i64 {
    log.append(&mut b, 0).expect("append").base_offset
}

fn marker(log: &mut Log, pid: i64, epoch: i16, kind: ControlType) -> i64 {
    append(log, marker_batch(pid, epoch, kind, 0, 2_000))
}

/// Every data record (control batches skipped) as (offset, value).
fn values(log: &Log) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while let Some(slice) = log.read(offset).expect("read") {
        let bytes = slice.read_batches(1 << 20, true).expect("read batches");
        let mut next = offset;
        for item in memorystreamer_log::batch::Batches::new(&bytes) {
            let (h, range) = item.expect("batch");
            next = h.last_offset() + 1;
            if h.is_control() {
                continue;
            }
            let whole = &bytes[range];
            BatchHeader::validate(whole).expect("valid");
            let section = records_section(&h, whole, 1 << 24).expect("section");
            for r in parse_records(&h, &section).expect("records") {
                if r.offset(&h) >= offset {
                    out.push((
                        r.offset(&h),
                        String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned(),
                    ));
                }
            }
        }
        offset = next;
    }
    out
}

#[test]
fn last_stable_offset_and_aborted_index_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = LogConfig {
        segment_bytes: 600,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), cfg.clone()).expect("open");
    append(&mut log, batch(&[rec("k", "plain")], 0, -1, -1)); // 0
    assert_eq!(log.last_stable_offset(), 1);
    let a_first = append(
        &mut log,
        txn_batch(&[rec("a", "a1"), rec("a", "a2")], 7, 0, 0),
    ); // 1-2
    let b_first = append(&mut log, txn_batch(&[rec("b", "b1")], 8, 0, 0)); // 3
    append(&mut log, txn_batch(&[rec("a", "a3")], 7, 0, 2)); // 4
    assert_eq!((a_first, b_first), (1, 3));
    // The oldest open transaction holds the LSO back.
    assert_eq!(log.last_stable_offset(), 1);
    assert_eq!(log.open_transactions(), vec![(1, 7), (3, 8)]);

    let abort_at = marker(&mut log, 7, 0, ControlType::Abort); // 5
    assert_eq!(abort_at, 5);
    assert_eq!(log.last_stable_offset(), 3, "producer 8 is still open");
    let commit_at = marker(&mut log, 8, 0, ControlType::Commit); // 6
    assert_eq!(commit_at, 6);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    let expected = AbortedTxn {
        producer_id: 7,
        first_offset: 1,
        last_offset: 5,
        last_stable_offset: 1,
    };
    assert_eq!(log.aborted_transactions(0, 100), vec![expected]);
    // Fetches entirely after the marker, or ending before the first record,
    // need no entry.
    assert!(log.aborted_transactions(6, 100).is_empty());
    assert!(log.aborted_transactions(0, 1).is_empty());
    assert_eq!(log.aborted_transactions(2, 3), vec![expected]);

    // A new open transaction, then reopen without a roll (replayed tail).
    append(&mut log, txn_batch(&[rec("c", "c1")], 9, 0, 0)); // 7
    assert_eq!(log.last_stable_offset(), 7);
    drop(log);
    let mut log = Log::open(dir.path(), cfg.clone()).expect("reopen");
    assert_eq!(log.last_stable_offset(), 7);
    assert_eq!(log.aborted_transactions(0, 100), vec![expected]);

    // Fill segments so the markers end up in sealed segments behind a
    // snapshot; reopen reads the `.txnindex` files.
    for i in 0..20 {
        append(
            &mut log,
            batch(&[rec("f", &format!("filler-{i}"))], 0, -1, -1),
        );
    }
    assert!(log.segment_count() > 2, "segments rolled");
    assert!(
        dir.path().join("00000000000000000000.txnindex").exists(),
        "abort entry on disk"
    );
    assert_eq!(log.last_stable_offset(), 7, "still open across rolls");
    marker(&mut log, 9, 0, ControlType::Abort);
    let end = log.log_end_offset();
    drop(log);
    let log = Log::open(dir.path(), cfg).expect("reopen after rolls");
    assert_eq!(log.last_stable_offset(), end);
    let aborted = log.aborted_transactions(0, end);
    assert_eq!(aborted.len(), 2, "{aborted:?}");
    assert_eq!(aborted[0], expected);
    assert_eq!((aborted[1].producer_id, aborted[1].first_offset), (9, 7));
}

#[test]
fn markers_from_an_older_epoch_are_fenced_and_newer_ones_fence_the_producer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
    append(&mut log, txn_batch(&[rec("a", "1")], 5, 3, 0));
    let mut old = marker_batch(5, 2, ControlType::Commit, 0, 1);
    assert!(matches!(
        log.append(&mut old, 0),
        Err(LogError::ProducerFenced { .. })
    ));
    // The coordinator aborts with a bumped epoch (timeout or a new
    // instance): the producer's old epoch is fenced afterwards.
    marker(&mut log, 5, 4, ControlType::Abort);
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    let mut zombie = txn_batch(&[rec("a", "2")], 5, 3, 1);
    assert!(matches!(
        log.append(&mut zombie, 0),
        Err(LogError::ProducerFenced { .. })
    ));
    let p = log.producers();
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].producer_id, p[0].epoch), (5, 4));
    assert_eq!(p[0].current_txn_start_offset, -1);
}

#[test]
fn a_marker_between_verification_and_append_refuses_the_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
    // Verified, appended: the transaction is open, later batches need no token.
    let token = log.begin_verification(4);
    assert!(token.is_some());
    assert_eq!(
        log.begin_verification(4),
        token,
        "concurrent requests share it"
    );
    log.append_verified(&mut txn_batch(&[rec("a", "1")], 4, 0, 0), 0, token)
        .expect("verified append");
    assert_eq!(log.begin_verification(4), None, "open: nothing to verify");
    log.append_verified(&mut txn_batch(&[rec("a", "2")], 4, 0, 1), 0, None)
        .expect("open transaction");
    marker(&mut log, 4, 0, ControlType::Commit);
    // A late batch of the ended transaction: unverified, refused.
    assert!(matches!(
        log.append_verified(&mut txn_batch(&[rec("a", "3")], 4, 0, 2), 0, None),
        Err(LogError::InvalidTxnState { .. })
    ));
    // Verification begun, then a marker lands before the append: refused.
    let stale = log.begin_verification(4);
    marker(&mut log, 4, 0, ControlType::Abort);
    assert!(matches!(
        log.append_verified(&mut txn_batch(&[rec("a", "3")], 4, 0, 2), 0, stale),
        Err(LogError::InvalidTxnState { .. })
    ));
    assert_eq!(
        log.last_stable_offset(),
        log.log_end_offset(),
        "nothing hangs"
    );
    // A retry of an appended batch is still a duplicate, verified or not.
    assert!(matches!(
        log.append_verified(&mut txn_batch(&[rec("a", "2")], 4, 0, 1), 0, None),
        Err(LogError::DuplicateSequence { base_offset: 1, .. })
    ));
}

#[test]
fn a_newer_epoch_cannot_write_over_an_open_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(dir.path(), LogConfig::default()).expect("open");
    append(&mut log, txn_batch(&[rec("a", "1")], 6, 0, 0));
    let mut newer = txn_batch(&[rec("a", "2")], 6, 1, 0);
    assert!(matches!(
        log.append(&mut newer, 0),
        Err(LogError::InvalidTxnState { .. })
    ));
    assert_eq!(log.open_transactions(), vec![(0, 6)]);
}

#[test]
fn compaction_drops_aborted_records_and_keeps_the_committed_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = LogConfig {
        segment_bytes: 200,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), cfg).expect("open");
    append(&mut log, txn_batch(&[rec("k", "committed")], 1, 0, 0));
    marker(&mut log, 1, 0, ControlType::Commit);
    append(&mut log, txn_batch(&[rec("k", "aborted")], 2, 0, 0));
    marker(&mut log, 2, 0, ControlType::Abort);
    // An open transaction further on: it must not be compacted.
    append(&mut log, txn_batch(&[rec("k", "open")], 3, 0, 0));
    for i in 0..12 {
        append(&mut log, batch(&[rec("z", &format!("z{i}"))], 0, -1, -1));
    }
    let open_at = log.open_transactions()[0].0;
    let log = Mutex::new(log);
    let cfg = CompactionConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..CompactionConfig::default()
    };
    let stats = compact(&log, &cfg, 10_000)
        .expect("compact")
        .expect("a pass ran");
    assert!(stats.clean_offset <= open_at, "{stats:?} open at {open_at}");
    let log = log.into_inner().expect("lock");
    let vals: Vec<String> = values(&log).into_iter().map(|(_, v)| v).collect();
    assert!(vals.contains(&"committed".to_string()), "{vals:?}");
    assert!(!vals.contains(&"aborted".to_string()), "{vals:?}");
    assert!(vals.contains(&"open".to_string()), "{vals:?}");
    // The abort entry is still reported (its marker is still in the log).
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 1);
    assert_eq!(log.last_stable_offset(), open_at);
}
